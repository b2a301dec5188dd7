/**
 * evaluate(): the reference semantics. For a resolved profile, an ABI and a syscall (number and
 * arguments), the action and data that runc + libseccomp would give. The compiler's output must
 * agree with it everywhere (`sysfence verify`), and it is itself checked against libseccomp and the
 * real kernel.
 */
import { ARCH_DEFS } from '../arch/defs.js';
import { findArch } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import type { Action, ActionKind } from './actions.js';
import { ENOSYS } from './errno.js';
import type { Profile } from './model.js';
import {
  abiDomains,
  auditGroups,
  buildPolicy,
  type Condition,
  type PolicyOptions,
  type ProfilePolicy,
  stubApplies,
} from './policy.js';
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

export interface EvaluateOptions extends Partial<PolicyOptions> {
  /** runc's ENOSYS stub: numbers above the highest the profile names get ENOSYS (see stubApplies). */
  enosysStub?: boolean;
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
      return (a & c.value) === (c.valueTwo & c.value);
  }
}

const domainCache = new WeakMap<ProfilePolicy, Map<number, ReturnType<typeof abiDomains>>>();

/** The verdict for a raw seccomp_data: AUDIT_ARCH value, syscall number (as u32) and arguments. */
export function evaluateData(
  profile: Profile,
  data: { arch: number; nr: number; args?: readonly bigint[] },
  opts: EvaluateOptions = {},
): Verdict {
  // the host defaults to the one that runs the call's ABI natively (x86_64 for an i386 or x32
  // call): never the machine sysfence runs on
  const policy = buildPolicy(profile, { nativeArch: opts.nativeArch ?? hostOfAudit(data.arch) });
  const nr = data.nr >>> 0;
  let domains = domainCache.get(policy);
  if (!domains) {
    domains = new Map(auditGroups(policy).map((g) => [g[0]!.auditArch, abiDomains(g)]));
    domainCache.set(policy, domains);
  }
  const abi = domains.get(data.arch >>> 0)?.find((d) => nr >= d.start && nr <= d.end)?.abi;
  const ap = abi ? policy.byArch.get(abi.id) : undefined;
  if (!abi || !ap) return { kind: opts.badArchAction ?? 'KILL_PROCESS', data: 0, source: 'bad-arch' };
  const s = ap.syscalls.get(nr);
  if (s?.unconditional) return { ...s.unconditional.action, source: 'rule', rule: s.unconditional.rule };
  for (const r of s?.conditional ?? []) {
    if (r.conditions.every((c) => conditionHolds(c, data.args?.[c.index] ?? 0n, abi.argBits)))
      return { ...r.action, source: 'rule', rule: r.rule };
  }
  if (opts.enosysStub && stubApplies(ap, nr)) return { kind: 'ERRNO', data: ENOSYS, source: 'default' };
  return { ...ap.defaultAction, source: 'default' };
}

/** The 64-bit host that runs an ABI (by its AUDIT_ARCH value) natively: itself, or the ABI it is a companion of. */
function hostOfAudit(audit: number): ArchId {
  const abi = ARCH_DEFS.find((a) => a.auditArch === audit >>> 0);
  // an AUDIT_ARCH no ABI has: the verdict is bad-arch whatever the host
  if (!abi) return 'x86_64';
  return (ARCH_DEFS.find((a) => a.companions.includes(abi.id)) ?? abi).id;
}

/** The verdict for a syscall made from an ABI (x32 numbers carry the x32 bit, as the kernel sees them). */
export function evaluate(
  profile: Profile,
  arch: ArchId | ArchDef | string,
  call: SyscallCall,
  opts: EvaluateOptions = {},
): Verdict {
  const def = typeof arch === 'string' ? findArch(arch) : arch;
  if (!def) throw new ProfileError('unknown-arch', '$', `unknown architecture "${String(arch)}"`);
  const data: { arch: number; nr: number; args?: readonly bigint[] } = { arch: def.auditArch, nr: call.nr };
  if (call.args) data.args = call.args;
  return evaluateData(profile, data, opts);
}
