/**
 * Semantic diff: per ABI and syscall, what the verdict was and is, computed from both profiles'
 * verdict tables (resolve -> policy, as the filter will behave), never from their text. Argument
 * rules are compared on the boundary values of every constant either side compares with, so
 * reordering, regrouping or rewriting rules shows no change, and a change in which argument
 * values are allowed shows with the values that witness it.
 */
import type { ArchDef, ArchId } from '../arch/types.js';
import { formatAction, sameAction } from '../profile/actions.js';
import type { Profile } from '../profile/model.js';
import { profileProvenance } from '../profile/provenance.js';
import { formatRuntimeNotes, type RuntimeNotes, runtimeNotes } from '../targets/notes.js';
import {
  allows,
  argumentCases,
  describeVerdict,
  type ReviewOptions,
  reviewArches,
  verdictFor,
  verdictTable,
} from './verdicts.js';

export interface Change {
  arch: ArchId;
  name: string;
  nr: number;
  old: string;
  new: string;
  /** NEW allows some call (or argument values) that OLD denied. */
  allowsMore: boolean;
  /** NEW denies some call (or argument values) that OLD allowed. */
  allowsLess: boolean;
  /** For argument rules: argument values whose verdict differs (at most 3). */
  witnesses?: { args: string[]; old: string; new: string }[];
  /**
   * Why the profile that allows the call allows it, where its rule comment says (written by
   * sysfence: recorded, implied, family, runtime, predicted with the import chain).
   */
  why?: string;
}

export interface DiffResult {
  arches: { arch: ArchId; oldAllowed: number; newAllowed: number }[];
  changes: Change[];
  allowsMore: boolean;
  /** Under the runtime target: where each profile's enforced verdicts differ from what it says. */
  runtime?: { old?: RuntimeNotes; new?: RuntimeNotes };
}

export function diffProfiles(
  oldP: Profile,
  newP: Profile,
  o: ReviewOptions & { arches?: readonly ArchDef[] } = {},
): DiffResult {
  const changes: Change[] = [];
  const arches: DiffResult['arches'] = [];
  const provOld = profileProvenance(oldP);
  const provNew = profileProvenance(newP);
  const whyOf = (name: string, more: boolean, less: boolean): { why?: string } => {
    const p = more ? provNew.get(name) : less ? provOld.get(name) : undefined;
    return p ? { why: `${p.kind}${p.why ? ` (${p.why})` : ''}` } : {};
  };
  for (const abi of o.arches ?? reviewArches([oldP, newP])) {
    const a = verdictTable(oldP, abi, o);
    const b = verdictTable(newP, abi, o);
    const count = (t: typeof a) =>
      t.calls.filter((c) => c.verdict.kind === 'fixed' && allows(c.verdict.action)).length;
    arches.push({ arch: abi.id, oldAllowed: count(a), newAllowed: count(b) });
    for (let i = 0; i < a.calls.length; i++) {
      const x = a.calls[i]!;
      const y = b.calls[i]!;
      const base = {
        arch: abi.id,
        name: x.name,
        nr: x.nr,
        old: describeVerdict(x.verdict),
        new: describeVerdict(y.verdict),
      };
      if (x.verdict.kind === 'fixed' && y.verdict.kind === 'fixed') {
        if (sameAction(x.verdict.action, y.verdict.action)) continue;
        const more = allows(y.verdict.action) && !allows(x.verdict.action);
        const less = allows(x.verdict.action) && !allows(y.verdict.action);
        changes.push({ ...base, allowsMore: more, allowsLess: less, ...whyOf(x.name, more, less) });
        continue;
      }
      let more = false;
      let less = false;
      const witnesses: NonNullable<Change['witnesses']> = [];
      for (const args of argumentCases([x.verdict, y.verdict])) {
        const va = verdictFor(x.verdict, args, abi.argBits);
        const vb = verdictFor(y.verdict, args, abi.argBits);
        if (sameAction(va, vb)) continue;
        more ||= allows(vb) && !allows(va);
        less ||= allows(va) && !allows(vb);
        if (witnesses.length < 3)
          witnesses.push({
            args: args.map((v) => `0x${v.toString(16)}`),
            old: formatAction(va),
            new: formatAction(vb),
          });
      }
      if (witnesses.length > 0)
        changes.push({
          ...base,
          allowsMore: more,
          allowsLess: less,
          witnesses,
          ...whyOf(x.name, more, less),
        });
    }
  }
  const result: DiffResult = { arches, changes, allowsMore: changes.some((c) => c.allowsMore) };
  if (o.target) {
    const no = {
      ...(o.capabilities ? { capabilities: o.capabilities } : {}),
      ...(o.kernelVersion ? { kernelVersion: o.kernelVersion } : {}),
    };
    const old = runtimeNotes(oldP, o.target, no);
    const nw = runtimeNotes(newP, o.target, no);
    if (old || nw) result.runtime = { ...(old ? { old } : {}), ...(nw ? { new: nw } : {}) };
  }
  return result;
}

/** Changes with the same old and new verdict, together (a default's change moves hundreds). */
function groups(changes: readonly Change[]): { key: string; items: Change[] }[] {
  const m = new Map<string, Change[]>();
  for (const c of changes) {
    const key = c.witnesses ? `${c.arch}\u0000${c.name}` : `${c.arch}\u0000${c.old}\u0000${c.new}`;
    m.set(key, [...(m.get(key) ?? []), c]);
  }
  const rank = (c: Change) => (c.allowsMore ? 0 : c.allowsLess ? 2 : 1);
  return [...m.entries()]
    .map(([key, items]) => ({ key, items }))
    .sort((p, q) => rank(p.items[0]!) - rank(q.items[0]!) || (p.key < q.key ? -1 : p.key > q.key ? 1 : 0));
}

const mark = (c: Change) => (c.allowsMore ? '+' : c.allowsLess ? '-' : '~');

export function formatDiffText(d: DiffResult): string {
  const out: string[] = [];
  for (const a of d.arches) {
    const mine = d.changes.filter((c) => c.arch === a.arch);
    out.push(
      `${a.arch}: ${a.oldAllowed} -> ${a.newAllowed} allowed unconditionally; ${mine.length === 0 ? 'no change' : `${mine.length} syscall${mine.length === 1 ? '' : 's'} changed`}`,
    );
    for (const g of groups(mine)) {
      const c = g.items[0]!;
      if (c.witnesses) {
        out.push(`  ${mark(c)} ${c.name}: ${c.old}`);
        out.push(`      now: ${c.new}`);
        for (const w of c.witnesses) out.push(`      e.g. args (${w.args.join(', ')}): ${w.old} -> ${w.new}`);
      } else out.push(`  ${mark(c)} ${c.old} -> ${c.new}: ${g.items.map((i) => i.name).join(', ')}`);
      for (const i of g.items) if (i.why) out.push(`      ${i.name}: ${i.why}`);
    }
  }
  out.push(
    d.allowsMore ? 'NEW allows calls that OLD denied (+ above)' : 'NEW allows nothing that OLD denied',
  );
  if (d.runtime?.old && (d.runtime.old.refused || d.runtime.old.notes.length > 0)) {
    out.push('OLD, as enforced:');
    out.push(...formatRuntimeNotes(d.runtime.old));
  }
  if (d.runtime?.new && (d.runtime.new.refused || d.runtime.new.notes.length > 0)) {
    out.push('NEW, as enforced:');
    out.push(...formatRuntimeNotes(d.runtime.new));
  }
  return `${out.join('\n')}\n`;
}

export function formatDiffMarkdown(d: DiffResult): string {
  const out: string[] = ['| ABI | syscalls | before | after | |', '| --- | --- | --- | --- | --- |'];
  const esc = (s: string) => s.replaceAll('|', '\\|');
  for (const g of groups(d.changes)) {
    const c = g.items[0]!;
    const after = c.witnesses
      ? `${esc(c.new)}<br>${c.witnesses.map((w) => `e.g. (${w.args.join(', ')}): ${esc(w.old)} → ${esc(w.new)}`).join('<br>')}`
      : esc(c.new);
    out.push(
      `| ${c.arch} | ${g.items.map((i) => `\`${i.name}\``).join(', ')} | ${esc(c.old)} | ${after} | ${c.allowsMore ? '**allows more**' : c.allowsLess ? 'allows less' : 'changed'} |`,
    );
  }
  const head = d.arches.map((a) => `**${a.arch}**: ${a.oldAllowed} → ${a.newAllowed} allowed`).join(', ');
  return `${head}${d.allowsMore ? ' — **the new profile allows more**' : ''}\n\n${d.changes.length === 0 ? 'No semantic change.\n' : `${out.join('\n')}\n`}`;
}
