/**
 * A profile's meaning per ABI and syscall, as the reviewing commands (diff, merge, check, lint,
 * report) need it: the profile is resolved (capabilities, kernel version, archMap) and built into
 * the same policy evaluate() and the compiler use, so two profiles that differ only in how their
 * rules are written, ordered or grouped have equal verdict tables.
 */
import { findArch, syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { type Action, formatAction, sameAction } from '../profile/actions.js';
import { hostArchFor } from '../profile/arch-names.js';
import { DOCKER_DEFAULT_CAPABILITIES } from '../profile/capabilities.js';
import { conditionHolds } from '../profile/evaluate.js';
import type { Profile } from '../profile/model.js';
import { type ArchPolicy, buildPolicy, type ConditionalRule } from '../profile/policy.js';
import { DEFAULT_KERNEL, resolve } from '../profile/resolve.js';
import { targetArches } from '../profile/validate.js';
import type { RuntimeTarget } from '../targets/target.js';

export interface ReviewOptions {
  /** Capabilities the container runs with (Docker's default set unless said). */
  capabilities?: readonly string[];
  /** Kernel version for minKernel rules (default 6.1). */
  kernelVersion?: string;
  /** Who enforces the profile (default: Docker 20.10 + runc + libseccomp 2.5 on the profile's first ABI). */
  target?: RuntimeTarget;
}

/** One syscall's verdict: unconditional, or argument rules over a default. */
export type SyscallVerdict =
  | { kind: 'fixed'; action: Action; by: 'rule' | 'default' | 'bad-arch' }
  | { kind: 'args'; rules: ConditionalRule[]; otherwise: Action };

export interface VerdictTable {
  abi: ArchDef;
  /** The ABI is accepted by the filter (else every call gets the bad-arch action). */
  accepted: boolean;
  defaultAction: Action;
  /** Every name of the ABI's table (one per number), in number order. */
  calls: { name: string; nr: number; verdict: SyscallVerdict }[];
}

const ALLOWING = new Set(['ALLOW', 'LOG']);
export const allows = (a: Action): boolean => ALLOWING.has(a.kind);
const KILL: Action = { kind: 'KILL_PROCESS', data: 0 };

/** The ABIs a set of profiles is about: the union of what they target, x86_64 when none says. */
export function reviewArches(profiles: readonly Profile[]): ArchDef[] {
  const seen = new Map<ArchId, ArchDef>();
  for (const p of profiles) for (const a of targetArches(p)) seen.set(a.id, a);
  if (seen.size === 0) seen.set('x86_64', findArch('x86_64')!);
  return [...seen.values()];
}

export function archPolicy(p: Profile, abi: ArchDef, o: ReviewOptions = {}): ArchPolicy | undefined {
  const host = hostArchFor(p, abi);
  const rp = resolve(p, {
    arch: host,
    capabilities: o.capabilities ?? DOCKER_DEFAULT_CAPABILITIES,
    kernelVersion: o.kernelVersion ?? DEFAULT_KERNEL,
  });
  const policy = buildPolicy(rp, { nativeArch: host.id });
  return policy.arches.some((a) => a.id === abi.id) ? policy.byArch.get(abi.id) : undefined;
}

export function verdictTable(p: Profile, abi: ArchDef, o: ReviewOptions = {}): VerdictTable {
  const ap = archPolicy(p, abi, o);
  const t = syscallTable(abi);
  const calls: VerdictTable['calls'] = [];
  for (const [name, nr] of t.entries) {
    if (t.name(nr) !== name) continue;
    if (!ap) {
      calls.push({ name, nr, verdict: { kind: 'fixed', action: KILL, by: 'bad-arch' } });
      continue;
    }
    const s = ap.syscalls.get(nr);
    let verdict: SyscallVerdict;
    if (!s) verdict = { kind: 'fixed', action: ap.defaultAction, by: 'default' };
    else if (s.unconditional) verdict = { kind: 'fixed', action: s.unconditional.action, by: 'rule' };
    else if (s.conditional.every((r) => sameAction(r.action, ap.defaultAction)))
      verdict = { kind: 'fixed', action: ap.defaultAction, by: 'default' };
    else verdict = { kind: 'args', rules: s.conditional, otherwise: ap.defaultAction };
    calls.push({ name, nr, verdict });
  }
  return { abi, accepted: ap !== undefined, defaultAction: ap?.defaultAction ?? KILL, calls };
}

/** The verdict for given argument values (first matching rule, else the default). */
export function verdictFor(v: SyscallVerdict, args: readonly bigint[], argBits: 32 | 64): Action {
  if (v.kind === 'fixed') return v.action;
  for (const r of v.rules)
    if (r.conditions.every((c) => conditionHolds(c, args[c.index] ?? 0n, argBits))) return r.action;
  return v.otherwise;
}

const U64 = (1n << 64n) - 1n;

/**
 * Argument vectors that tell apart any two rule sets built from these conditions: per index the
 * boundary values of every compared constant (v-1, v, v+1, masked forms, 0, extremes), crossed
 * over the indexes used (a covering sample past 4,096 combinations).
 */
export function argumentCases(verdicts: readonly SyscallVerdict[]): bigint[][] {
  const byIndex = new Map<number, Set<bigint>>();
  for (const v of verdicts) {
    if (v.kind !== 'args') continue;
    for (const r of v.rules)
      for (const c of r.conditions) {
        const set = byIndex.get(c.index) ?? new Set<bigint>([0n, 1n, 0xffffffffn, U64]);
        for (const x of [c.value, c.valueTwo, c.value & c.valueTwo])
          for (const d of [-1n, 0n, 1n]) set.add(BigInt.asUintN(64, x + d));
        if (c.op === 'SCMP_CMP_MASKED_EQ') {
          set.add(c.valueTwo | ~c.value);
          set.add(BigInt.asUintN(64, c.valueTwo ^ c.value));
        }
        byIndex.set(c.index, set);
      }
  }
  const indexes = [...byIndex.keys()].sort((a, b) => a - b);
  let cases: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
  for (const i of indexes) {
    const values = [...byIndex.get(i)!].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const next: bigint[][] = [];
    for (const c of cases)
      for (const v of values) {
        const n = [...c];
        n[i] = v;
        next.push(n);
      }
    if (next.length <= 4096) {
      cases = next;
      continue;
    }
    // a covering sample: every 'stride'-th combination, plus one for each value of this index the
    // stride skipped (so every boundary value of every index is still tried)
    const stride = Math.ceil(next.length / 4096);
    const sample = next.filter((_, k) => k % stride === 0);
    const have = new Set(sample.map((c) => c[i]));
    for (const v of values) if (!have.has(v)) sample.push(next.find((c) => c[i] === v)!);
    cases = sample;
  }
  return cases;
}

const OPS: Record<Exclude<ConditionalRule['conditions'][number]['op'], 'SCMP_CMP_MASKED_EQ'>, string> = {
  SCMP_CMP_EQ: '==',
  SCMP_CMP_NE: '!=',
  SCMP_CMP_LT: '<',
  SCMP_CMP_LE: '<=',
  SCMP_CMP_GT: '>',
  SCMP_CMP_GE: '>=',
};

/** A rule's conditions in words: "arg0 & 0x7e020000 == 0x0 && arg1 == 0x2". */
export function describeConditions(r: ConditionalRule): string {
  const hex = (x: bigint) => `0x${x.toString(16)}`;
  return r.conditions
    .map((c) =>
      c.op === 'SCMP_CMP_MASKED_EQ'
        ? `arg${c.index} & ${hex(c.value)} == ${hex(c.valueTwo)}`
        : `arg${c.index} ${OPS[c.op]} ${hex(c.value)}`,
    )
    .join(' && ');
}

/** A rule set in words: "arg0 == 0x1 -> ALLOW; arg1 & 0x7e020000 == 0 -> ALLOW; else ERRNO(1)". */
export function describeVerdict(v: SyscallVerdict): string {
  if (v.kind === 'fixed') return formatAction(v.action);
  return `${v.rules.map((r) => `${describeConditions(r)} -> ${formatAction(r.action)}`).join('; ')}; else ${formatAction(v.otherwise)}`;
}
