/**
 * The per-architecture policy a runtime builds from an (already resolved) OCI profile: what runc
 * hands to libseccomp, after libseccomp's own rule handling. Both evaluate() and the compiler read
 * this, so they cannot disagree on the semantics:
 *
 * - every name is looked up on the ABI; names the ABI lacks are skipped (as runtimes do);
 * - a rule whose action equals the default action is dropped (runc);
 * - a rule that repeats an argument index is split into one rule per condition, ORed (runc);
 * - conditions within a rule are ANDed; rules for the same syscall are ORed;
 * - the first unconditional rule for a syscall wins, and it beats every conditional one
 *   (libseccomp's db_rule_add drops later rules once a syscall is unconditional);
 * - on ABIs with socketcall/ipc, a rule for a multiplexed call (socket, semop, ...) is added to the
 *   direct syscall (when the ABI has one) and to the multiplexer with argument 0 replaced by
 *   `== sub-call` (libseccomp's abi_rule_add): conditions on argument 0 are lost there;
 * - on 32-bit ABIs and x32 only the low 32 bits of arguments and values are compared;
 * - SCMP_CMP_MASKED_EQ compares (arg & mask) == (valueTwo & mask) (libseccomp masks the datum), and
 *   a mask of 0 drops the condition (a rule left without conditions is unconditional).
 */
import { findArch, syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { type Action, sameAction, toAction } from './actions.js';
import { archFromScmp } from './arch-names.js';
import { errnoNumber } from './errno.js';
import type { Operator, Profile, SyscallRule } from './model.js';
import { ProfileError } from './profile-error.js';

export interface Condition {
  index: number;
  op: Operator;
  /** Compared value (for MASKED_EQ: the mask), already cut to the ABI's argument width. */
  value: bigint;
  /** For MASKED_EQ: the value the masked argument must equal, cut to the argument width. */
  valueTwo: bigint;
}

export interface ConditionalRule {
  conditions: Condition[];
  action: Action;
  /** Index of the profile rule this came from. */
  rule: number;
}

export interface SyscallPolicy {
  nr: number;
  /** The unconditional verdict, when a rule without conditions applies. */
  unconditional?: { action: Action; rule: number };
  /** Conditional rules in profile order; the first that matches decides. Empty when unconditional. */
  conditional: ConditionalRule[];
}

export interface ArchPolicy {
  arch: ArchDef;
  defaultAction: Action;
  /** Highest syscall number the profile names on this ABI (for the ENOSYS stub), or -1. */
  maxNamedNr: number;
  /** Per syscall number. Numbers absent here get the default action. */
  syscalls: Map<number, SyscallPolicy>;
  /** The numbers of `syscalls`, ascending. */
  order: number[];
}

export interface ProfilePolicy {
  /** The ABIs the filter accepts (the profile's architectures, or the native one). */
  arches: ArchDef[];
  byArch: Map<ArchId, ArchPolicy>;
}

export interface PolicyOptions {
  /**
   * The native ABI of the machine the filter is built on. runc's filter always contains it (libseccomp's
   * seccomp_init adds it, runc never removes it), whatever the profile lists. Required: the library
   * never asks the machine it runs on (the CLI passes its host, cli/host.ts), so the same call gives
   * the same bytes everywhere.
   */
  nativeArch: ArchId;
}

export function profileDefaultAction(p: Profile): Action {
  const errno = p.defaultErrnoRet ?? (p.defaultErrno !== undefined ? errnoNumber(p.defaultErrno) : undefined);
  return toAction(p.defaultAction, errno);
}

const mask32 = 0xffffffffn;
/** The shared empty rule list of unconditional syscalls (never pushed to). */
const NO_RULES: ConditionalRule[] = [];

function conditionsOf(rule: SyscallRule, bits: 32 | 64): Condition[][] {
  const list = rule.args ?? [];
  const cut = (v: bigint) => (bits === 32 ? v & mask32 : v);
  // libseccomp compares (arg & mask) == (valueTwo & mask): the datum is masked too.
  const conds = list.map((a) => ({
    index: a.index,
    op: a.op,
    value: cut(a.value),
    valueTwo: a.op === 'SCMP_CMP_MASKED_EQ' ? cut(a.valueTwo ?? 0n) & cut(a.value) : cut(a.valueTwo ?? 0n),
  }));
  // libseccomp skips a MASKED_EQ whose mask (in the compared width) is 0: it always holds, and a
  // rule left without conditions becomes unconditional.
  const live = (cs: Condition[]) => cs.filter((c) => !(c.op === 'SCMP_CMP_MASKED_EQ' && c.value === 0n));
  const counts = new Map<number, number>();
  for (const c of conds) counts.set(c.index, (counts.get(c.index) ?? 0) + 1);
  // runc: if any index repeats, every condition becomes a rule of its own.
  if ([...counts.values()].some((n) => n > 1)) return conds.map((c) => live([c]));
  return [live(conds)];
}

function archesOf(p: Profile, native: ArchId): ArchDef[] {
  if (p.archMap)
    throw new ProfileError(
      'unresolved-profile',
      '$.archMap',
      'resolve() the profile first: it still has an archMap',
    );
  const list = (p.architectures ?? []).map((a) => {
    const def = archFromScmp(a);
    if (!def) throw new ProfileError('unknown-arch', '$.architectures', `unknown architecture "${a}"`);
    return def;
  });
  // runc's filter always holds the native ABI: libseccomp's seccomp_init adds it and runc only
  // adds the profile's architectures to it.
  const n = findArch(native);
  if (!n) throw new ProfileError('unknown-arch', '$', `unknown native architecture "${native}"`);
  return [...new Map([...list, n].map((a) => [a.id, a])).values()];
}

function buildArch(p: Profile, arch: ArchDef): ArchPolicy {
  const table = syscallTable(arch);
  const def = profileDefaultAction(p);
  const syscalls = new Map<number, SyscallPolicy>();
  let maxNamedNr = -1;
  const add = (nr: number, conditions: Condition[], action: Action, rule: number) => {
    let s = syscalls.get(nr);
    if (!s) {
      s = { nr, conditional: NO_RULES };
      syscalls.set(nr, s);
    }
    if (s.unconditional) return;
    if (conditions.length === 0) {
      s.unconditional = { action, rule };
      s.conditional = NO_RULES;
    } else {
      if (s.conditional === NO_RULES) s.conditional = [];
      s.conditional.push({ conditions, action, rule });
    }
  };
  (p.syscalls ?? []).forEach((rule, ri) => {
    if (rule.includes || rule.excludes)
      throw new ProfileError(
        'unresolved-profile',
        `$.syscalls[${ri}]`,
        'resolve() the profile first: it has includes/excludes',
      );
    const errno = rule.errnoRet ?? (rule.errno !== undefined ? errnoNumber(rule.errno) : undefined);
    const action = toAction(rule.action, errno);
    const names = rule.name !== undefined ? [rule.name, ...(rule.names ?? [])] : (rule.names ?? []);
    for (const n of names) maxNamedNr = Math.max(maxNamedNr, table.number(n) ?? -1);
    if (sameAction(action, def)) return;
    const split = conditionsOf(rule, arch.argBits);
    for (const name of names) {
      const direct = table.number(name);
      for (const conds of split) {
        for (const mux of arch.multiplexers) {
          const call = mux.calls[name];
          const muxNr = table.number(mux.syscall);
          if (call === undefined || muxNr === undefined) continue;
          const rest = conds.filter((c) => c.index !== 0);
          add(
            muxNr,
            [{ index: 0, op: 'SCMP_CMP_EQ', value: BigInt(call), valueTwo: 0n }, ...rest],
            action,
            ri,
          );
        }
        if (direct !== undefined) add(direct, conds, action, ri);
      }
    }
  });
  // every number here comes from the table, whose entries are sorted by number: walk them
  // instead of sorting (which costs more than building the whole policy)
  const order: number[] = [];
  for (const [, nr] of table.entries) if (syscalls.has(nr) && order[order.length - 1] !== nr) order.push(nr);
  return { arch, defaultAction: def, maxNamedNr, syscalls, order };
}

/** The policy of a resolved profile, computed afresh (the compiler's path: no cache to fill). */
export function computePolicy(p: Profile, opts: PolicyOptions): ProfilePolicy {
  const arches = archesOf(p, opts.nativeArch);
  const byArch = new Map<ArchId, ArchPolicy>();
  for (const a of arches) byArch.set(a.id, buildArch(p, a));
  return { arches, byArch };
}

const cache = new WeakMap<Profile, Map<string, ProfilePolicy>>();

/** The policy of a resolved profile (no archMap, includes or excludes). Cached per profile object. */
export function buildPolicy(p: Profile, opts: PolicyOptions): ProfilePolicy {
  const key = opts.nativeArch;
  let perProfile = cache.get(p);
  const hit = perProfile?.get(key);
  if (hit) return hit;
  const policy = computePolicy(p, opts);
  if (!perProfile) {
    perProfile = new Map();
    cache.set(p, perProfile);
  }
  perProfile.set(key, policy);
  return policy;
}

/**
 * Which ABI of a group sharing one AUDIT_ARCH value (x86_64 and x32) a syscall number belongs to,
 * as ranges over the whole 32-bit number space; `undefined` marks numbers the filter treats as a
 * bad architecture. This is libseccomp's layout: with x86_64 alone, numbers at or above the x32
 * bit are a bad architecture except -1 (which tracers use to skip a call); with x32 alone, numbers
 * below it are; with both, the bit decides.
 */
export function abiDomains(
  group: readonly ArchDef[],
): Array<{ start: number; end: number; abi: ArchDef | undefined }> {
  const split = group.find((a) => a.nrBit)?.nrBit?.bit;
  if (group.length === 1 && !group[0]!.nrBit) return [{ start: 0, end: 0xffffffff, abi: group[0] }];
  if (split === undefined)
    throw new ProfileError(
      'arch-group',
      '$',
      `ABIs ${group.map((a) => a.id).join(', ')} share an AUDIT_ARCH value without a numbering bit`,
    );
  const lower = group.find((a) => a.nrBit && !a.nrBit.set);
  const upper = group.find((a) => a.nrBit?.set);
  const out: Array<{ start: number; end: number; abi: ArchDef | undefined }> = [
    { start: 0, end: split - 1, abi: lower },
  ];
  if (upper) out.push({ start: split, end: 0xffffffff, abi: upper });
  else
    out.push(
      { start: split, end: 0xfffffffe, abi: undefined },
      { start: 0xffffffff, end: 0xffffffff, abi: lower },
    );
  return out;
}

/** The ABIs of a policy grouped by AUDIT_ARCH value, in the policy's order. */
export function auditGroups(policy: ProfilePolicy): ArchDef[][] {
  const groups = new Map<number, ArchDef[]>();
  for (const a of policy.arches) {
    const g = groups.get(a.auditArch) ?? [];
    g.push(a);
    groups.set(a.auditArch, g);
  }
  return [...groups.values()];
}

/** The ENOSYS stub (runc's): a number above every number the profile names gets ENOSYS, not the default. */
export function stubApplies(ap: ArchPolicy, nr: number): boolean {
  return nr >>> 0 !== 0xffffffff && nr >>> 0 > ap.maxNamedNr && !ap.syscalls.has(nr >>> 0);
}
