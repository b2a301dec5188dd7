/**
 * What a run under a profile tells: each denied call with the profile's verdict on it (a rule
 * meant it, or only the default action denied it: a finding), what a run under LOG would have had
 * denied, and `learn`, the profile that allows the findings (with their call-family siblings and,
 * for containers, the runtime's own calls).
 */
import { archById, syscallTable } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';
import { type FamilyAddition, familyAdditions } from '../knowledge/call-families.js';
import type { RuntimeSet } from '../knowledge/runtime-sets.js';
import { formatAction } from '../profile/actions.js';
import { type BaselineChange, boundToBaseline, profileHosts } from '../profile/baseline.js';
import { evaluate } from '../profile/evaluate.js';
import { familyRule } from '../profile/generate.js';
import { type Profile, ruleNames, type SyscallRule } from '../profile/model.js';
import { callNumber } from '../recording/numbers.js';
import type { Recording, SyscallStats } from '../recording/recording.js';
import { attribute, describeAttribution } from '../targets/attribution.js';
import { type RuntimeTarget, runtimeTarget } from '../targets/target.js';
import { runtimeFilter } from '../targets/verdict.js';

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
 * Each denied call with its verdict where the profile is enforced (`target`: Docker, Podman; none:
 * sysfence's own filter under bubblewrap), attributed as every command attributes it
 * (targets/attribution.ts): an explicit rule's denial is expected, the default's is a finding. A
 * call the profile allows but the runtime's filter denies is a denial too, with the runtime's reason.
 * `profile` is the profile as the runtime receives it (resolved).
 */
export function explainDenials(profile: Profile, denied: Recording, target?: RuntimeTarget): Denial[] {
  const denials: Denial[] = [];
  for (const [abi, calls] of Object.entries(denied.syscalls) as [ArchId, Recording['syscalls'][ArchId]][]) {
    const t = syscallTable(abi);
    const rf = runtimeFilter(profile, target ?? runtimeTarget('sysfence', { native: abi }));
    for (const [name, s] of Object.entries(calls ?? {})) {
      const nr = callNumber(t.arch, name);
      if (nr === undefined) {
        denials.push(denial(abi, name, s, false, 'a number this ABI has no name for'));
        continue;
      }
      const a = attribute(rf, t.arch, nr, [], name);
      if (a.intent.kind === 'LOG' && a.by === 'default') {
        // a default LOG lets the call run and logs it (run --default-action log): what to learn
        denials.push(denial(abi, name, s, false, 'LOG by default (it ran; the kernel logged it)'));
        continue;
      }
      const allowedHere = a.action.kind === 'ALLOW' || a.action.kind === 'LOG';
      if (allowedHere) continue; // stopped by another filter than this profile's: not ours to explain
      const runtime =
        a.divergence && (a.intent.kind === 'ALLOW' || a.intent.kind === 'LOG')
          ? { label: a.divergence.label, reason: a.divergence.reason }
          : undefined;
      denials.push(denial(abi, name, s, a.expected, describeAttribution(a), runtime));
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
    /** Calls learned as they ran even where Docker's default denies or restricts them (by name). */
    allowBeyondDefault?: readonly string[];
  } = {},
): {
  profile: Profile;
  added: string[];
  families: FamilyAddition[];
  runtime: string[];
  /** What Docker's default kept out of, or narrowed in, what would have been added. */
  baseline: { changes: BaselineChange[]; beyond: string[] };
} {
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
  const restricted = families.flatMap((f) => (f.unless ? [familyRule(f, f.unless)] : []));
  // what is added stays inside Docker's default, as generate's profiles do (the profile's own
  // rules are the user's and are kept as written)
  const proposed: SyscallRule[] = [
    ...(unconditional.size > 0
      ? [{ names: [...unconditional].sort(), action: 'SCMP_ACT_ALLOW' as const }]
      : []),
    ...restricted,
  ];
  const bounded = boundToBaseline(
    { defaultAction: profile.defaultAction, syscalls: proposed },
    {
      hosts: opts.runtime ? [archById(opts.runtime.abi)] : profileHosts(profile),
      allowBeyond: opts.allowBeyondDefault ?? [],
    },
  );
  const rules = bounded.profile.syscalls ?? [];
  const added = [
    ...new Set(rules.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length).flatMap(ruleNames)),
  ].sort();
  const baseline = { changes: bounded.changes, beyond: bounded.beyond };
  if (rules.length === 0) return { profile, added, families, runtime, baseline };
  return {
    profile: { ...profile, syscalls: [...(profile.syscalls ?? []), ...rules] },
    added,
    families,
    runtime,
    baseline,
  };
}
