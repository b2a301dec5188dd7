/**
 * The verdict of every syscall number of one AUDIT_ARCH group, as sorted, merged ranges over the
 * whole 32-bit number space. A range's verdict is a return value, or a conditional block (a
 * syscall whose arguments decide). Built from the same policy and the same rules (abiDomains,
 * stubApplies) that evaluate() reads.
 */
import type { ArchDef } from '../arch/types.js';
import type { Action } from '../profile/actions.js';
import { ENOSYS } from '../profile/errno.js';
import {
  type ArchPolicy,
  abiDomains,
  type ConditionalRule,
  type ProfilePolicy,
  stubApplies,
} from '../profile/policy.js';
import { retValue } from './ret.js';

export type Verdict =
  | { kind: 'ret'; ret: number }
  | { kind: 'block'; key: string; arch: ArchDef; rules: ConditionalRule[]; fallback: number; nrs: number[] };

export interface Segment {
  start: number;
  end: number;
  verdict: Verdict;
}

export interface SegmentOptions {
  badArch: Action;
  enosysStub: boolean;
}

const verdictKey = (v: Verdict): string => (v.kind === 'ret' ? `r${v.ret}` : v.key);

export function groupSegments(
  policy: ProfilePolicy,
  group: readonly ArchDef[],
  opts: SegmentOptions,
): Segment[] {
  const raw: Segment[] = [];
  const bad = retValue(opts.badArch);
  const blocks = new Map<string, Verdict & { kind: 'block' }>();
  for (const d of abiDomains(group)) {
    const ap = d.abi ? policy.byArch.get(d.abi.id) : undefined;
    if (!d.abi || !ap) {
      raw.push({ start: d.start, end: d.end, verdict: { kind: 'ret', ret: bad } });
      continue;
    }
    const def = retValue(ap.defaultAction);
    const fill = (start: number, end: number) => {
      if (start > end) return;
      // the ENOSYS stub covers numbers above the highest named one, except -1
      if (opts.enosysStub) {
        const from = Math.max(start, ap.maxNamedNr + 1);
        if (from <= end) {
          if (start < from) raw.push({ start, end: from - 1, verdict: { kind: 'ret', ret: def } });
          const stubEnd = end === 0xffffffff ? 0xfffffffe : end;
          if (from <= stubEnd)
            raw.push({
              start: from,
              end: stubEnd,
              verdict: { kind: 'ret', ret: retValue({ kind: 'ERRNO', data: ENOSYS }) },
            });
          if (end === 0xffffffff && from <= end)
            raw.push({ start: 0xffffffff, end: 0xffffffff, verdict: { kind: 'ret', ret: def } });
          return;
        }
      }
      raw.push({ start, end, verdict: { kind: 'ret', ret: def } });
    };
    let cursor = d.start;
    for (const nr of ap.order) {
      const s = ap.syscalls.get(nr)!;
      if (nr < d.start || nr > d.end) continue;
      fill(cursor, nr - 1);
      let v: Verdict;
      if (s.unconditional) v = { kind: 'ret', ret: retValue(s.unconditional.action) };
      else {
        const fallback =
          opts.enosysStub && stubApplies(ap, nr) ? retValue({ kind: 'ERRNO', data: ENOSYS }) : def;
        const key = `b:${d.abi.id}:${fallback}:${JSON.stringify(s.conditional, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)).replace(/"rule":\d+/g, '')}`;
        let blk = blocks.get(key);
        if (!blk) {
          blk = { kind: 'block', key, arch: d.abi, rules: s.conditional, fallback, nrs: [] };
          blocks.set(key, blk);
        }
        blk.nrs.push(nr);
        v = blk;
      }
      raw.push({ start: nr, end: nr, verdict: v });
      cursor = nr + 1;
    }
    fill(cursor, d.end);
  }
  // merge neighbours with the same verdict
  const merged: Segment[] = [];
  for (const s of raw) {
    const last = merged[merged.length - 1];
    if (last && last.end + 1 === s.start && verdictKey(last.verdict) === verdictKey(s.verdict))
      last.end = s.end;
    else merged.push({ ...s });
  }
  return merged;
}

export type { ArchPolicy };
