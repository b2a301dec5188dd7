/**
 * Reading a positioned JSON tree into typed values while collecting issues: every value's JSON
 * path and offset is remembered so that issues (now or later, from validation) get line:column.
 */

import { type Issue, IssueList } from './issues.js';
import { type JsonEntry, type JsonNode, positionAt } from './json-source.js';
import { closest } from './suggest.js';

const kindName = (n: JsonNode): string => (n.kind === 'null' ? 'null' : n.kind);

/**
 * Where the value at a JSON path starts in the text: found by walking the positioned tree from the
 * nearest registered root, on demand (a map of every path of a 100,000-rule profile costs hundreds
 * of megabytes; issues are few). Paths the tree cannot give (a key's own position: `#key`, `#dup`)
 * are stored.
 */
/** Anything that finds a JSON path's offset (Offsets, or a plain map). */
export interface OffsetLookup {
  get(path: string): number | undefined;
}

export class Offsets implements OffsetLookup {
  private readonly roots = new Map<string, JsonNode>();
  private readonly stored = new Map<string, number>();

  root(path: string, node: JsonNode): void {
    if (this.roots.size < 64) this.roots.set(path, node);
  }

  set(path: string, offset: number): void {
    if (path.includes('#')) this.stored.set(path, offset);
  }

  get(path: string): number | undefined {
    const stored = this.stored.get(path);
    if (stored !== undefined) return stored;
    let best: [string, JsonNode] | undefined;
    for (const [r, n] of this.roots)
      if (
        (path === r || path.startsWith(`${r}.`) || path.startsWith(`${r}[`)) &&
        (!best || r.length > best[0].length)
      )
        best = [r, n];
    if (!best) return undefined;
    let node: JsonNode | undefined = best[1];
    const rest = path.slice(best[0].length);
    const seg = /\.([^.[\]#]+)|\[(\d+)\]/gy;
    let m: RegExpExecArray | null;
    let at = 0;
    while (node && at < rest.length) {
      seg.lastIndex = at;
      m = seg.exec(rest);
      if (!m) return undefined;
      at = seg.lastIndex;
      if (m[1] !== undefined) {
        const key = m[1];
        node = node.kind === 'object' ? node.entries.find((e) => e.key === key)?.value : undefined;
      } else {
        const i = Number(m[2]);
        node = node.kind === 'array' ? node.items[i] : undefined;
      }
    }
    return node?.offset;
  }
}

export class Reader {
  readonly issues = new IssueList();
  readonly offsets = new Offsets();

  at(path: string, node: JsonNode): void {
    // the tree is walked on demand from the outermost node registered
    if (!path.includes('[') || /^\$\[\d+\]$/.test(path)) this.offsets.root(path, node);
  }

  fields(
    path: string,
    node: JsonNode & { kind: 'object' },
    known: readonly string[],
    what: string,
  ): Map<string, JsonEntry> {
    const out = new Map<string, JsonEntry>();
    for (const e of node.entries) {
      const p = `${path}.${e.key}`;
      this.offsets.set(p, e.value.offset);
      if (out.has(e.key)) {
        this.offsets.set(`${p}#dup`, e.keyOffset);
        this.issues.error(
          'duplicate-key',
          `${p}#dup`,
          `"${e.key}" appears twice in ${what}; Docker keeps only the last one`,
          'remove one of them',
        );
      }
      if (!known.includes(e.key)) {
        this.offsets.set(`${p}#key`, e.keyOffset);
        const guess = closest(e.key, known);
        this.issues.error(
          'unknown-field',
          `${p}#key`,
          `unknown field "${e.key}" in ${what}; runtimes ignore it silently`,
          guess ? `did you mean "${guess}"?` : `known fields: ${known.join(', ')}`,
        );
        continue;
      }
      out.set(e.key, e);
    }
    return out;
  }

  typeError(path: string, node: JsonNode, expected: string): void {
    this.issues.error('wrong-type', path, `expected ${expected}, found ${kindName(node)}`);
  }

  string(path: string, node: JsonNode | undefined): string | undefined {
    if (!node) return undefined;
    if (node.kind !== 'string') {
      this.typeError(path, node, 'a string');
      return undefined;
    }
    return node.value;
  }

  strings(path: string, node: JsonNode | undefined, allowNull = false): string[] | null | undefined {
    if (!node) return undefined;
    if (node.kind === 'null' && allowNull) return null;
    if (node.kind !== 'array') {
      this.typeError(path, node, 'an array of strings');
      return undefined;
    }
    const out: string[] = [];
    node.items.forEach((item, i) => {
      const p = `${path}[${i}]`;
      this.at(p, item);
      const s = this.string(p, item);
      if (s !== undefined) out.push(s);
    });
    return out;
  }

  /** An exact unsigned integer (bigint); reports wrong types and range. */
  uint(
    path: string,
    node: JsonNode | undefined,
    max: bigint,
    what: string,
    code: string,
  ): bigint | undefined {
    if (!node) return undefined;
    if (node.kind !== 'number') {
      this.typeError(path, node, `an integer (${what})`);
      return undefined;
    }
    if (!/^-?\d+$/.test(node.text)) {
      this.issues.error('wrong-type', path, `${what} must be an integer, found ${node.text}`);
      return undefined;
    }
    const v = BigInt(node.text);
    if (v < 0n || v > max) {
      this.issues.error(code, path, `${what} ${node.text} is outside 0..${max}`);
      return undefined;
    }
    return v;
  }
}

/** Adds line:column to an issue from the offset of its path (or the nearest enclosing path). */
export function locate(issue: Issue, offsets: OffsetLookup, text: string | undefined): Issue {
  if (text === undefined || issue.position) return issue;
  let p = issue.path;
  while (p.length > 0) {
    const off = offsets.get(p);
    if (off !== undefined)
      return { ...issue, position: positionAt(text, off), path: issue.path.replace(/#(key|dup)$/, '') };
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['), p.lastIndexOf('#'));
    if (cut <= 0) break;
    p = p.slice(0, cut);
  }
  return { ...issue, path: issue.path.replace(/#(key|dup)$/, '') };
}
