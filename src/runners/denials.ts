/**
 * What a run under a profile tells: each denied call with the profile's verdict on it (a rule
 * meant it, or only the default action denied it: a finding), what a run under LOG would have had
 * denied, and `learn`, the profile that allows the findings (with their call-family siblings and,
 * for containers, the runtime's own calls).
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';
import { type FamilyAddition, familyAdditions } from '../knowledge/call-families.js';
import type { RuntimeSet } from '../knowledge/runtime-sets.js';
import { formatAction } from '../profile/actions.js';
import { evaluate } from '../profile/evaluate.js';
import { familyRule } from '../profile/generate.js';
import { type Profile, ruleNames } from '../profile/model.js';
import type { Recording, SyscallStats } from '../recording/recording.js';
import type { RuntimeTarget } from '../targets/target.js';
import { runtimeEvaluate, runtimeFilter } from '../targets/verdict.js';

export interface Denial {
  abi: ArchId;
  name: string;
  count: number;
  pids: number[];
  executables: string[];
  /** True when an explicit rule of the profile denies the call (the profile meant it). */
  expected: boolean;
  /** The verdict, as `explain` would word it (ERRNO(38) by default, ERRNO(1) by rule 3, ...). */
  verdict: string;
  /**
   * Set when the profile allows the call but the runtime enforcing it (Docker: runc + libseccomp)
   * denies it: why (libseccomp's order or miscompilation, runc's stub, a name libseccomp lacks).
   * Allowing the call again in the profile would not change that, so --learn does not.
   */
  runtime?: { label: string; reason: string };
}

/** A denial of `name` on `abi` from what the recording saw of it. */
function denial(
  abi: ArchId,
  name: string,
  s: SyscallStats,
  expected: boolean,
  verdict: string,
  runtime?: Denial['runtime'],
): Denial {
  const d: Denial = {
    abi,
    name,
    count: s.count,
    pids: s.pids,
    executables: s.executables,
    expected,
    verdict,
  };
  if (runtime) d.runtime = runtime;
  return d;
}

/**
 * Each denied call with the profile's verdict on it: an explicit rule's (expected) or the default's.
 * With a runtime target (Docker), a call the profile allows but the runtime's filter denies is a
 * denial too, with the runtime's reason.
 */
export function explainDenials(profile: Profile, denied: Recording, target?: RuntimeTarget): Denial[] {
  const denials: Denial[] = [];
  const rf = target ? runtimeFilter(profile, target) : undefined;
  for (const [abi, calls] of Object.entries(denied.syscalls) as [ArchId, Recording['syscalls'][ArchId]][]) {
    const t = syscallTable(abi);
    for (const [name, s] of Object.entries(calls ?? {})) {
      const nr = t.number(name);
      const v = nr === undefined ? undefined : evaluate(profile, abi, { nr });
      if (v?.kind === 'LOG' && v.source === 'default') {
        // a default LOG lets the call run and logs it (run --default-action log): what to learn
        denials.push(denial(abi, name, s, false, 'LOG by default (it ran; the kernel logged it)'));
        continue;
      }
      if (v && (v.kind === 'ALLOW' || v.kind === 'LOG')) {
        // allowed by the profile yet stopped: the runtime's filter (with the cause), or another one
        const rv = rf && nr !== undefined ? runtimeEvaluate(rf, { arch: t.arch.auditArch, nr }) : undefined;
        if (rv?.divergence && rv.action.kind !== 'ALLOW' && rv.action.kind !== 'LOG')
          denials.push(
            denial(
              abi,
              name,
              s,
              false,
              `${formatAction(rv.action)} by the runtime, where the profile allows it`,
              {
                label: rv.divergence.label,
                reason: rv.divergence.reason,
              },
            ),
          );
        continue;
      }
      // a rule that denies exactly like the default is dropped from the policy (as runc does), yet
      // it says the profile means the denial (the probed calls' ENOSYS rule, for one)
      const rule =
        v?.source === 'rule'
          ? v.rule
          : (profile.syscalls ?? []).findIndex(
              (r) =>
                ruleNames(r).includes(name) &&
                !r.args?.length &&
                r.action !== 'SCMP_ACT_ALLOW' &&
                r.action !== 'SCMP_ACT_LOG',
            );
      const verdict = v
        ? `${formatAction(v)} ${rule !== undefined && rule >= 0 ? `by rule ${rule}` : 'by default'}`
        : 'unknown number';
      denials.push(denial(abi, name, s, rule !== undefined && rule >= 0, verdict));
    }
  }
  return denials;
}

/**
 * The calls a run recorded that `profile` would deny by its default action: what a run with the
 * default set to LOG (nothing denied, everything recorded) teaches, in one pass. Read from the
 * recording, not the kernel log (whose SECCOMP records the kernel drops under load).
 */
export function wouldDeny(profile: Profile, recording: Recording): Denial[] {
  const out: Denial[] = [];
  for (const [abi, calls] of Object.entries(recording.syscalls) as [
    ArchId,
    Recording['syscalls'][ArchId],
  ][]) {
    const t = syscallTable(abi);
    for (const [name, s] of Object.entries(calls ?? {})) {
      const nr = t.number(name);
      if (nr === undefined) continue;
      const v = evaluate(profile, abi, { nr });
      if (v.source !== 'default' || v.kind === 'ALLOW' || v.kind === 'LOG') continue;
      out.push(
        denial(abi, name, s, false, `ran under LOG; the profile's default would give ${formatAction(v)}`),
      );
    }
  }
  return out;
}

/**
 * The profile with the unexpected denials allowed: one added rule, nothing else changed. Unless
 * `exact`, the call-family siblings of what is added and of what ran (knowledge/call-families)
 * come with it, the ones the profile does not allow (or deny by a rule) yet: the next input, or
 * the same one with other timing, would need them. With `runtime`, the container runtime's own
 * calls after it installs the filter (never in a recording of the workload) that the profile
 * lacks are added too: a learned container profile must start.
 */
export function learn(
  profile: Profile,
  denials: readonly Denial[],
  /** `resolved`: the profile resolved for this machine, to see what it allows already. */
  opts: {
    exact?: boolean;
    resolved?: Profile;
    ran?: Recording;
    /** The container runtime's set, and the ABI it runs on (the host's). */
    runtime?: { set: RuntimeSet; abi: ArchId };
  } = {},
): { profile: Profile; added: string[]; families: FamilyAddition[]; runtime: string[] } {
  const judge = opts.resolved ?? profile;
  /** Allowed, or denied on purpose by a rule, on `abi`; false for a name the ABI lacks. */
  const settled = (abi: ArchId, name: string) => {
    const nr = syscallTable(abi).number(name);
    if (nr === undefined) return false;
    const v = evaluate(judge, abi, { nr });
    return v.kind === 'ALLOW' || v.kind === 'LOG' || v.source === 'rule';
  };
  const learned = [...new Set(denials.filter((d) => !d.expected && !d.runtime).map((d) => d.name))].sort();
  let families: FamilyAddition[] = [];
  if (!opts.exact && learned.length > 0) {
    // the triggers: every call that ran (`ran`, the run's recording) and every call learned; a
    // call already allowed can still bring a sibling this run did not happen to make (sort's
    // rt_sigaction -> the gettid and tgkill of re-raising SIGPIPE, which depends on timing)
    const byAbi = new Map<string, Set<string>>();
    for (const d of denials)
      if (!d.expected && !d.runtime) byAbi.set(d.abi, (byAbi.get(d.abi) ?? new Set()).add(d.name));
    for (const [abi, calls] of Object.entries(opts.ran?.syscalls ?? {}))
      for (const name of Object.keys(calls ?? {})) byAbi.set(abi, (byAbi.get(abi) ?? new Set()).add(name));
    families = familyAdditions(
      byAbi,
      (abi, n) => syscallTable(abi as ArchId).number(n) !== undefined && !settled(abi as ArchId, n),
      new Set(learned),
      false,
    );
  }
  const unconditional = new Set([...learned, ...families.filter((f) => !f.unless).map((f) => f.name)]);
  const rt = opts.runtime;
  const runtime = rt
    ? rt.set.syscalls
        .map((c) => c.name)
        .filter(
          (n) => !unconditional.has(n) && syscallTable(rt.abi).number(n) !== undefined && !settled(rt.abi, n),
        )
        .sort()
    : [];
  for (const n of runtime) unconditional.add(n);
  const added = [...unconditional].sort();
  const restricted = families.flatMap((f) => (f.unless ? [familyRule(f, f.unless)] : []));
  if (added.length === 0 && restricted.length === 0) return { profile, added, families, runtime };
  return {
    profile: {
      ...profile,
      syscalls: [
        ...(profile.syscalls ?? []),
        ...(added.length > 0 ? [{ names: added, action: 'SCMP_ACT_ALLOW' as const }] : []),
        ...restricted,
      ],
    },
    added,
    families,
    runtime,
  };
}
