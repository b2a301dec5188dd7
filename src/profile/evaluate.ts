/**
 * evaluate(): the reference semantics. For a resolved profile, an ABI and a syscall (number and
 * arguments), the action and data that runc + libseccomp would give. The compiler's output must
 * agree with it everywhere (`sysfence verify`), and it is itself checked against libseccomp and the
 * real kernel.
 */
import { findArch } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import type { Action, ActionKind } from './actions.js';
import type { Profile } from './model.js';
import { buildPolicy, type Condition, type PolicyOptions } from './policy.js';
import { ProfileError } from './profile-error.js';

export interface SyscallCall {
  nr: number;
  /** Up to six arguments as unsigned 64-bit values; missing ones are 0. */
  args?: readonly bigint[];
}

export interface Verdict extends Action {
  /** Why: the ABI is not in the filter, a rule decided, or nothing matched. */
  source: 'bad-arch' | 'rule' | 'default';
  /** Index of the deciding rule in profile.syscalls, when source is 'rule'. */
  rule?: number;
}

export interface EvaluateOptions extends PolicyOptions {
  /**
   * Action for an ABI the filter does not accept. sysfence's filters kill the process; libseccomp's
   * default is to kill the thread (runc does not change it). Default: KILL_PROCESS.
   */
  badArchAction?: ActionKind;
}

const U64 = (1n << 64n) - 1n;

/** Whether one condition holds for an argument, compared in the ABI's argument width. */
export function conditionHolds(c: Condition, arg: bigint, argBits: 32 | 64): boolean {
  const a = argBits === 32 ? arg & 0xffffffffn : arg & U64;
  switch (c.op) {
    case 'SCMP_CMP_NE':
      return a !== c.value;
    case 'SCMP_CMP_LT':
      return a < c.value;
    case 'SCMP_CMP_LE':
      return a <= c.value;
    case 'SCMP_CMP_EQ':
      return a === c.value;
    case 'SCMP_CMP_GE':
      return a >= c.value;
    case 'SCMP_CMP_GT':
      return a > c.value;
    case 'SCMP_CMP_MASKED_EQ':
      return (a & c.value) === c.valueTwo;
  }
}

export function evaluate(
  profile: Profile,
  arch: ArchId | ArchDef | string,
  call: SyscallCall,
  opts: EvaluateOptions = {},
): Verdict {
  const def = typeof arch === 'string' ? findArch(arch) : arch;
  if (!def) throw new ProfileError('unknown-arch', '$', `unknown architecture "${String(arch)}"`);
  const policy = buildPolicy(profile, opts);
  const ap = policy.byArch.get(def.id);
  if (!ap) return { kind: opts.badArchAction ?? 'KILL_PROCESS', data: 0, source: 'bad-arch' };
  const s = ap.syscalls.get(call.nr);
  if (s?.unconditional) return { ...s.unconditional.action, source: 'rule', rule: s.unconditional.rule };
  for (const r of s?.conditional ?? []) {
    if (r.conditions.every((c) => conditionHolds(c, call.args?.[c.index] ?? 0n, def.argBits)))
      return { ...r.action, source: 'rule', rule: r.rule };
  }
  return { ...ap.defaultAction, source: 'default' };
}
