/**
 * Argument blocks: the code for one syscall whose verdict depends on its arguments. Rules are tried
 * in profile order; the first whose conditions all hold decides, else the fallback.
 *
 * A run of consecutive rules with the same action and one condition each on the same argument
 * (Docker's `socket` family rules, `personality` values) is one value-set test: the union of
 * their intervals, checked with one load per word instead of one per rule.
 */

import type { ArchDef } from '../arch/types.js';
import type { ProgramBuilder } from '../bpf/builder.js';
import * as op from '../bpf/opcodes.js';
import type { Condition, ConditionalRule } from '../profile/policy.js';
import { argWordOffsets, emitCondition } from './args.js';

type Interval = [bigint, bigint];
const U64 = (1n << 64n) - 1n;
const U32 = 0xffffffffn;

function intervalsOf(c: Condition, max: bigint): Interval[] | undefined {
  const v = c.value;
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      return [[v, v]];
    case 'SCMP_CMP_NE':
      return [...(v > 0n ? [[0n, v - 1n] as Interval] : []), ...(v < max ? [[v + 1n, max] as Interval] : [])];
    case 'SCMP_CMP_LT':
      return v > 0n ? [[0n, v - 1n]] : [];
    case 'SCMP_CMP_LE':
      return [[0n, v]];
    case 'SCMP_CMP_GT':
      return v < max ? [[v + 1n, max]] : [];
    case 'SCMP_CMP_GE':
      return [[v, max]];
    default:
      return undefined;
  }
}

function union(list: Interval[]): Interval[] {
  const sorted = [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Interval[] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (!last || a > last[1] + 1n) out.push([a, b]);
    else if (b > last[1]) last[1] = b;
  }
  return out;
}

/**
 * For a 64-bit argument, the value set as (what to do when the high word is not 0, the set of low
 * words when it is 0), or undefined when the set does not split that simply.
 */
function splitByHighWord(
  u: Interval[],
  wide: boolean,
): { highNonZero: boolean; low: Interval[] } | undefined {
  if (!wide) return { highNonZero: false, low: u };
  const low: Interval[] = [];
  let highNonZero: boolean | undefined;
  for (const [a, b] of u) {
    if (a <= U32) low.push([a, b > U32 ? U32 : b]);
    if (b > U32) {
      // the part above 2^32-1 must be all of [2^32, 2^64-1]
      if (b !== U64 || a > U32 + 1n) return undefined;
      highNonZero = true;
    }
  }
  return { highNonZero: highNonZero ?? false, low };
}

/** Emits a value-set test of the low word, jumping to t or f. */
function emitLowSet(
  b: ProgramBuilder,
  arch: ArchDef,
  index: number,
  low: Interval[],
  t: string,
  f: string,
): void {
  const { lo } = argWordOffsets(arch, index);
  b.ldAbs(lo);
  if (low.length === 0) {
    b.ja(f);
    return;
  }
  low.forEach(([a, z], i) => {
    const last = i === low.length - 1;
    const next = last ? f : null;
    if (a === z) b.jump(op.BPF_JEQ, Number(a), t, next);
    else if (z === U32)
      b.jump(op.BPF_JGE, Number(a), t, f); // the rest is below a: not in the set
    else if (a === 0n) b.jump(op.BPF_JGT, Number(z), next, t);
    else {
      // above z: on to the next interval; else in the set exactly when x >= a
      const after = last ? f : b.newLabel('W');
      b.jump(op.BPF_JGT, Number(z), after, null).jump(op.BPF_JGE, Number(a), t, f);
      if (!last) b.label(after);
    }
  });
}

/** The value-set plan for rules[from..], or undefined when it does not apply. Returns the run length. */
function valueSetRun(
  rules: ConditionalRule[],
  from: number,
  arch: ArchDef,
): { length: number; index: number; highNonZero: boolean; low: Interval[] } | undefined {
  const first = rules[from]!;
  if (first.conditions.length !== 1) return undefined;
  const index = first.conditions[0]!.index;
  const max = arch.argBits === 64 ? U64 : U32;
  let end = from;
  const all: Interval[] = [];
  while (end < rules.length) {
    const r = rules[end]!;
    if (
      r.conditions.length !== 1 ||
      r.conditions[0]!.index !== index ||
      r.action.kind !== first.action.kind ||
      r.action.data !== first.action.data
    )
      break;
    const iv = intervalsOf(r.conditions[0]!, max);
    if (!iv) break;
    all.push(...iv);
    end++;
  }
  if (end - from < 2) return undefined;
  const split = splitByHighWord(union(all), arch.argBits === 64);
  return split ? { length: end - from, index, ...split } : undefined;
}

/** Emits the block; `retLabel` gives the label of a shared return for a SECCOMP_RET value. */
export function emitBlock(
  b: ProgramBuilder,
  arch: ArchDef,
  rules: ConditionalRule[],
  fallbackLabel: string,
  passLabel: (r: ConditionalRule) => string,
): void {
  let i = 0;
  while (i < rules.length) {
    const run = valueSetRun(rules, i, arch);
    const consumed = run ? run.length : 1;
    const fail = i + consumed >= rules.length ? fallbackLabel : b.newLabel('N');
    const pass = passLabel(rules[i]!);
    if (run) {
      if (arch.argBits === 64) {
        const { hi } = argWordOffsets(arch, run.index);
        const low = b.newLabel('L');
        b.ldAbs(hi)
          .jump(op.BPF_JEQ, 0, low, run.highNonZero ? pass : fail)
          .label(low);
      }
      emitLowSet(b, arch, run.index, run.low, pass, fail);
    } else {
      const r = rules[i]!;
      r.conditions.forEach((c, ci) => {
        const next = ci === r.conditions.length - 1 ? pass : b.newLabel('C');
        emitCondition(b, arch, c, next, fail);
        if (next !== pass) b.label(next);
      });
    }
    if (fail !== fallbackLabel) b.label(fail);
    i += consumed;
  }
}
