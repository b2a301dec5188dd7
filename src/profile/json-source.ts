/**
 * A small JSON parser that keeps what profiles need and JSON.parse loses: the source position of
 * every value (for line:column in issues), exact integers beyond 2^53 (as bigint), and duplicate
 * keys (reported, since Go's encoding/json silently keeps the last one).
 */

export type JsonNode =
  | { kind: 'object'; entries: JsonEntry[]; offset: number }
  | { kind: 'array'; items: JsonNode[]; offset: number }
  | { kind: 'string'; value: string; offset: number }
  | { kind: 'number'; text: string; offset: number }
  | { kind: 'boolean'; value: boolean; offset: number }
  | { kind: 'null'; offset: number };

export interface JsonEntry {
  key: string;
  keyOffset: number;
  value: JsonNode;
}

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface Position {
  line: number;
  column: number;
}

/** The offsets of the newlines of a text, computed once per text (positions of many issues). */
const newlines = new Map<string, Int32Array>();

function newlinesOf(text: string): Int32Array {
  let nl = newlines.get(text);
  if (!nl) {
    const list: number[] = [];
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) list.push(i);
    nl = Int32Array.from(list);
    // keep the last few texts only: a command reads one or two profiles
    if (newlines.size > 4) newlines.clear();
    newlines.set(text, nl);
  }
  return nl;
}

/** Converts a character offset into a 1-based line and column (binary search over the newlines). */
export function positionAt(text: string, offset: number): Position {
  const nl = newlinesOf(text);
  const at = Math.min(offset, text.length);
  // the number of newlines before `at`
  let lo = 0;
  let hi = nl.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (nl[mid]! < at) lo = mid + 1;
    else hi = mid;
  }
  const last = lo === 0 ? -1 : nl[lo - 1]!;
  return { line: lo + 1, column: offset - last };
}

export function parseJson(text: string): JsonNode {
  let i = 0;
  const n = text.length;
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const fail = (msg: string, at = i): never => {
    throw new JsonSyntaxError(msg, at);
  };
  const describe = (): string => (i >= n ? 'end of input' : JSON.stringify(text[i]));

  const str = (): string => {
    const start = i;
    i++; // opening quote
    let out = '';
    let run = i;
    while (true) {
      if (i >= n) fail('unterminated string', start);
      const c = text.charCodeAt(i);
      if (c === 34) {
        out += text.slice(run, i);
        i++;
        return out;
      }
      if (c === 10 || c === 13) fail('unterminated string (a line break before the closing quote)', start);
      if (c < 32) fail('control character in string (escape it)');
      if (c === 92) {
        out += text.slice(run, i);
        const e = text[i + 1];
        const simple: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e !== undefined && simple[e] !== undefined) {
          out += simple[e];
          i += 2;
        } else if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(Number.parseInt(hex, 16));
          i += 6;
        } else {
          fail(`bad escape \\${e ?? ''}`);
        }
        run = i;
      } else {
        i++;
      }
    }
  };

  const value = (depth: number): JsonNode => {
    if (depth > 64) fail('nesting deeper than 64 levels');
    ws();
    const offset = i;
    const c = text[i];
    if (c === '{') {
      i++;
      const entries: JsonEntry[] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', entries, offset };
      }
      while (true) {
        ws();
        if (text[i] !== '"') fail(`expected a quoted key, found ${describe()}`);
        const keyOffset = i;
        const key = str();
        ws();
        if (text[i] !== ':') fail(`expected ':' after key "${key}", found ${describe()}`);
        i++;
        entries.push({ key, keyOffset, value: value(depth + 1) });
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return { kind: 'object', entries, offset };
        }
        fail(`expected ',' or '}' in object, found ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      const items: JsonNode[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', items, offset };
      }
      while (true) {
        items.push(value(depth + 1));
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return { kind: 'array', items, offset };
        }
        fail(`expected ',' or ']' in array, found ${describe()}`);
      }
    }
    if (c === '"') return { kind: 'string', value: str(), offset };
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m) fail('malformed number');
      i += m![0].length;
      return { kind: 'number', text: m![0], offset };
    }
    for (const [word, node] of [
      ['true', { kind: 'boolean', value: true, offset }],
      ['false', { kind: 'boolean', value: false, offset }],
      ['null', { kind: 'null', offset }],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return node;
      }
    }
    return fail(`unexpected ${describe()}`);
  };

  if (text.charCodeAt(0) === 0xfeff) i = 1;
  const root = value(0);
  ws();
  if (i < n) fail(`unexpected ${describe()} after the end of the JSON value`);
  return root;
}
