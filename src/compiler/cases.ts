/**
 * The case set that proves a filter: for every ABI of the profile, every syscall number from 0
 * to 64 past the table's end (in the ABI's own numbering; sparse high blocks such as ARM's
 * private calls by their numbers, neighbours and 64 past), -1, the x32 range, a few far numbers;
 * for syscalls with argument rules, the boundary values of every condition (value-1, value,
 * value+1, masks, 0, 2^32-1, 2^32, 2^64-1 and the value with the other word flipped) crossed over
 * the argument indices the syscall's rules use (so boundary values of different rules meet); for
 * socketcall and ipc, every sub-call number as argument 0; and AUDIT_ARCH values the filter does
 * not accept.
 */
import { ARCH_DEFS } from '../arch/defs.js';
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import type { ProfilePolicy } from '../profile/policy.js';

export interface Case {
  arch: number;
  nr: number;
  args: bigint[];
}

const U64 = (1n << 64n) - 1n;
const wrap = (v: bigint) => BigInt.asUintN(64, v);

function boundaryValues(values: bigint[]): bigint[] {
  const out = new Set<bigint>([0n, 1n, 0xffffffffn, 0x100000000n, U64, 0x7fffffffn, 0x80000000n]);
  for (const v of values) {
    for (const d of [-1n, 0n, 1n]) out.add(wrap(v + d));
    out.add(wrap(v ^ 0xffffffff00000000n));
    out.add(wrap(v | 0x100000000n));
    out.add(wrap(~v));
  }
  return [...out].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The syscall numbers that tell an ABI's filter apart: every number from the ABI's base up to 64
 * past its last densely numbered syscall; numbers of sparse blocks far above (ARM's private calls
 * at 0xf0000+) each with 2 neighbours and 64 past the block's end; far and negative numbers; the
 * x32 range.
 */
export function abiNumbers(a: ArchDef): ReadonlySet<number> {
  return sortedAbiNumbers(a).set;
}

const NUMBERS = new WeakMap<ArchDef, { set: ReadonlySet<number>; sorted: readonly number[] }>();

/** abiNumbers, ascending; computed once per ABI. */
function sortedAbiNumbers(a: ArchDef): { set: ReadonlySet<number>; sorted: readonly number[] } {
  let hit = NUMBERS.get(a);
  if (!hit) {
    const set = computeAbiNumbers(a);
    hit = { set, sorted: [...set].sort((x, y) => x - y) };
    NUMBERS.set(a, hit);
  }
  return hit;
}

function computeAbiNumbers(a: ArchDef): Set<number> {
  const t = syscallTable(a);
  const lo = a.nrBit?.set ? a.nrBit.bit : 0;
  const numbers = new Set<number>();
  const nrs = t.entries.map(([, n]) => n).sort((x, y) => x - y);
  let denseEnd = lo;
  for (const n of nrs) if (n - denseEnd <= 4096) denseEnd = Math.max(denseEnd, n);
  for (let nr = lo; nr <= denseEnd + 64; nr++) numbers.add(nr >>> 0);
  for (const n of nrs) if (n > denseEnd) for (let d = -2; d <= 2; d++) numbers.add((n + d) >>> 0);
  if (t.maxNr > denseEnd) for (let nr = t.maxNr + 1; nr <= t.maxNr + 64; nr++) numbers.add(nr >>> 0);
  for (const nr of [
    0xffffffff,
    0x7fffffff,
    0x80000000,
    0x3fffffff,
    0x40000000,
    0x40000000 + 1024,
    t.maxNr + 1000,
  ])
    numbers.add(nr >>> 0);
  if (a.nrBit) for (let nr = a.nrBit.bit; nr <= a.nrBit.bit + 600; nr++) numbers.add(nr);
  return numbers;
}

/** Up to this many combinations the full cross product is checked; beyond it, a covering sample. */
const MAX_COMBOS = 256;

/**
 * `only`, when given, limits the cases to the syscall numbers it accepts (the AUDIT_ARCH value and
 * the number as the kernel sees it); the bad-architecture cases are then left out too.
 */
export function* verificationCases(
  policy: ProfilePolicy,
  only?: (arch: number, nr: number) => boolean,
): Generator<Case> {
  const seenArch = new Set<number>();
  for (const a of policy.arches) {
    const ap = policy.byArch.get(a.id)!;
    const t = syscallTable(a);
    const numbers = sortedAbiNumbers(a).sorted;
    // multiplexers (socketcall, ipc): every sub-call number, so that each multiplexed call is probed
    const subCalls = new Map<number, bigint[]>();
    for (const m of a.multiplexers) {
      const mnr = t.number(m.syscall);
      if (mnr !== undefined) subCalls.set(mnr, [...new Set(Object.values(m.calls))].map(BigInt));
    }
    for (const nr of numbers) {
      if (only && !only(a.auditArch, nr)) continue;
      const s = ap.syscalls.get(nr);
      const subs = subCalls.get(nr);
      if (!s || s.conditional.length === 0) {
        yield { arch: a.auditArch, nr, args: [] };
        for (const sub of subs ?? []) yield { arch: a.auditArch, nr, args: [sub, 0n, 0n, 0n, 0n, 0n] };
        continue;
      }
      const byIndex = new Map<number, bigint[]>();
      if (subs) byIndex.set(0, [...subs]);
      for (const r of s.conditional)
        for (const c of r.conditions) {
          const list = byIndex.get(c.index) ?? [];
          list.push(c.value, c.valueTwo, c.value & c.valueTwo, c.value | c.valueTwo);
          byIndex.set(c.index, list);
        }
      const indices = [...byIndex.keys()].sort((x, y) => x - y);
      const lists = indices.map((i) => boundaryValues(byIndex.get(i)!));
      const total = lists.reduce((n, l) => n * l.length, 1);
      const emit = (pickIdx: (j: number) => number) => {
        const args = [0n, 0n, 0n, 0n, 0n, 0n];
        indices.forEach((idx, j) => {
          const l = lists[j]!;
          args[idx] = l[pickIdx(j) % l.length]!;
        });
        return { arch: a.auditArch, nr, args };
      };
      if (total <= MAX_COMBOS) {
        for (let n = 0; n < total; n++) {
          let rest = n;
          const digits = lists.map((l) => {
            const d = rest % l.length;
            rest = Math.floor(rest / l.length);
            return d;
          });
          yield emit((j) => digits[j]!);
        }
      } else {
        // every value of every index, each time with the other indices at rotating values
        const longest = Math.max(...lists.map((l) => l.length));
        for (let j0 = 0; j0 < lists.length; j0++)
          for (let v = 0; v < lists[j0]!.length; v++)
            for (let rot = 0; rot < 3; rot++) yield emit((j) => (j === j0 ? v : v * (j + 2) + rot * 5 + j));
        for (let n = 0; n < longest; n++) yield emit((j) => n * (j + 1) + j);
      }
    }
    seenArch.add(a.auditArch);
  }
  if (only) return;
  // ABIs the filter does not accept, and a value no ABI has
  for (const a of ARCH_DEFS) if (!seenArch.has(a.auditArch)) yield { arch: a.auditArch, nr: 0, args: [] };
  yield { arch: 0x12345678, nr: 0, args: [] };
}
