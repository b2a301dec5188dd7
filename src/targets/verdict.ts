/**
 * The runtime verdict: what a call really gets when a profile is enforced by a given target, next
 * to what the profile intends, and, where they differ, why. Every command that reports a verdict
 * goes through here, so a difference is never printed as fact without its cause.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { actionOfRet } from '../compiler/ret.js';
import { pseudoHead } from '../libseccomp/codegen.js';
import { buildLibseccompFilter, type LibseccompFilter, type Refusal } from '../libseccomp/filter.js';
import { LIBSECCOMP_RELEASE, nameTable } from '../libseccomp/names.js';
import { runModel } from '../libseccomp/run.js';
import { type Action, formatAction, sameAction } from '../profile/actions.js';
import { conditionHolds, evaluateData, type Verdict } from '../profile/evaluate.js';
import type { Profile } from '../profile/model.js';
import { ruleNames } from '../profile/model.js';
import { abiDomains, auditGroups, buildPolicy, type ProfilePolicy } from '../profile/policy.js';
import { type EnosysStub, runcStub, stubAnswer } from './runc-stub.js';
import { describeTarget, RUNTIMES, type RuntimeTarget } from './target.js';

/** Why the runtime's answer differs from the profile's intent. */
export type DivergenceLabel =
  | 'refused'
  | 'stub'
  | 'unknown-name'
  | 'default-errno-dropped'
  | 'no-number-load'
  | 'precedence'
  | 'libseccomp-bug';

export const DIVERGENCE_LABELS: readonly DivergenceLabel[] = [
  'refused',
  'stub',
  'unknown-name',
  'default-errno-dropped',
  'no-number-load',
  'precedence',
  'libseccomp-bug',
];

export interface RuntimeFilter {
  target: RuntimeTarget;
  /** The profile as written (its intent). */
  profile: Profile;
  /** The profile as the runtime receives it (Docker 20.10 drops defaultErrnoRet). */
  received: Profile;
  /** libseccomp's filter, modelled (undefined for sysfence's own filter). */
  filter?: LibseccompFilter;
  stub?: EnosysStub;
  /** The runtime refuses the profile: the workload never starts. */
  refused?: Refusal;
  /**
   * Set when the profile is too big for the model (libseccomp's own rule adding is quadratic in the
   * rules of one syscall): runtime verdicts are then the intent, flagged as not checked.
   */
  unmodelled?: string;
  policy: ProfilePolicy;
}

/** Argument rules on one syscall past which the model is not run (see RuntimeFilter.unmodelled). */
export const MODEL_RULES_PER_SYSCALL = 4000;

export interface Divergence {
  label: DivergenceLabel;
  /** A sentence for people: what happens and because of which rules. */
  reason: string;
  /** Profile rule indices involved. */
  rules: number[];
}

export interface RuntimeVerdict {
  /** What the call gets under the target (for a refused profile: nothing runs; the intent is kept). */
  action: Action;
  intent: Verdict;
  divergence?: Divergence;
  /** The runtime's answer could not be computed (why): `action` is the intent, unchecked. */
  uncertain?: string;
}

const cache = new WeakMap<Profile, Map<string, RuntimeFilter>>();

/** The runtime's view of a resolved profile (cached per profile object and target). */
export function runtimeFilter(p: Profile, t: RuntimeTarget): RuntimeFilter {
  const key = `${t.runtime}/${t.libseccomp}/${t.native}`;
  let per = cache.get(p);
  const hit = per?.get(key);
  if (hit) return hit;
  const facts = RUNTIMES[t.runtime];
  const received: Profile = { ...p };
  if (facts.dropsDefaultErrnoRet) delete received.defaultErrnoRet;
  const rf: RuntimeFilter = {
    target: t,
    profile: p,
    received,
    policy: buildPolicy(p, { nativeArch: t.native }),
  };
  const busiest = Math.max(
    0,
    ...[...rf.policy.byArch.values()].flatMap((ap) =>
      [...ap.syscalls.values()].map((x) => x.conditional.length),
    ),
  );
  if (facts.engine !== 'sysfence' && busiest > MODEL_RULES_PER_SYSCALL)
    rf.unmodelled = `a syscall has ${busiest} argument rules (more than ${MODEL_RULES_PER_SYSCALL}): libseccomp needs time quadratic in them, and so would sysfence's model of it; its verdicts are not checked here`;
  else if (facts.engine !== 'sysfence') {
    let forLib = received;
    if (facts.engine === 'crun') {
      // crun reads at most six conditions of a rule
      forLib = {
        ...received,
        syscalls: (received.syscalls ?? []).map((r) =>
          r.args && r.args.length > 6 ? { ...r, args: r.args.slice(0, 6) } : r,
        ),
      };
    }
    const filter = buildLibseccompFilter(forLib, { version: t.libseccomp, native: t.native });
    rf.filter = filter;
    if (filter.refused) rf.refused = filter.refused;
    if (facts.engine === 'runc') {
      const stub = runcStub(received, t.libseccomp);
      if (stub) rf.stub = stub;
    }
  }
  if (!per) {
    per = new Map();
    cache.set(p, per);
  }
  per.set(key, rf);
  return rf;
}

/** The ABI a raw call belongs to in the profile's filter (x86_64/x32 by the number's x32 bit). */
export function abiOfCall(policy: ProfilePolicy, arch: number, nr: number): ArchDef | undefined {
  const g = auditGroups(policy).find((x) => x[0]!.auditArch === arch >>> 0);
  return g ? abiDomains(g).find((d) => nr >>> 0 >= d.start && nr >>> 0 <= d.end)?.abi : undefined;
}

/** The intent's rules for this call that match it, in profile order. */
export function matchingRules(
  rf: RuntimeFilter,
  abi: ArchDef,
  nr: number,
  args: readonly bigint[],
): { rule: number; action: Action }[] {
  const s = rf.policy.byArch.get(abi.id)?.syscalls.get(nr >>> 0);
  if (!s) return [];
  if (s.unconditional) return [{ rule: s.unconditional.rule, action: s.unconditional.action }];
  return s.conditional
    .filter((r) => r.conditions.every((c) => conditionHolds(c, args[c.index] ?? 0n, abi.argBits)))
    .map((r) => ({ rule: r.rule, action: r.action }));
}

/** The verdict a call gets under the target, with the intent and the cause of any difference. */
export function runtimeEvaluate(
  rf: RuntimeFilter,
  call: { arch: number; nr: number; args?: readonly bigint[] },
): RuntimeVerdict {
  const t = rf.target;
  const facts = RUNTIMES[t.runtime];
  const badArchAction = facts.engine === 'sysfence' ? 'KILL_PROCESS' : 'KILL_THREAD';
  const intent = evaluateData(rf.profile, call, { nativeArch: t.native, badArchAction });
  if (facts.engine === 'sysfence') return { action: { kind: intent.kind, data: intent.data }, intent };
  if (rf.unmodelled)
    return { action: { kind: intent.kind, data: intent.data }, intent, uncertain: rf.unmodelled };
  const who = describeTarget(t);
  if (rf.refused) {
    return {
      action: { kind: intent.kind, data: intent.data },
      intent,
      divergence: {
        label: 'refused',
        reason: `${who} refuses this profile (${rf.refused.message}): the container does not start`,
        rules: rf.refused.rule !== undefined ? [rf.refused.rule] : [],
      },
    };
  }
  const stubbed = rf.stub ? stubAnswer(rf.stub, call) : undefined;
  const ret = stubbed ?? runModel(rf.filter!, call).ret;
  const action = actionOfRet(ret);
  const v: RuntimeVerdict = { action, intent };
  if (sameAction(action, intent)) return v;
  const args = call.args ?? [];
  const abi = abiOfCall(rf.policy, call.arch, call.nr);
  const name = abi ? syscallTable(abi).name(call.nr >>> 0) : undefined;
  const callName = name ?? `syscall ${call.nr >>> 0}`;
  const says = `intends ${formatAction(intent)}; ${who} gives ${formatAction(action)}`;
  const matched = abi ? matchingRules(rf, abi, call.nr, args) : [];
  const release = LIBSECCOMP_RELEASE[t.libseccomp];
  if (stubbed !== undefined) {
    const unknown = name !== undefined && rf.filter!.unknownNames.includes(name);
    v.divergence = {
      label: 'stub',
      reason: unknown
        ? `${says}: libseccomp ${release} does not know "${name}", so runc drops its rule, and runc's stub answers ENOSYS for numbers above the highest one libseccomp knows in the profile`
        : `${says}: runc answers ENOSYS for numbers above the highest one libseccomp ${release} knows in the profile`,
      rules: matched.map((m) => m.rule),
    };
    return v;
  }
  if (name && rf.filter!.unknownNames.includes(name)) {
    v.divergence = {
      label: 'unknown-name',
      reason: `${says}: libseccomp ${release} does not know "${name}", so the runtime drops its rule`,
      rules: matched.map((m) => m.rule),
    };
    return v;
  }
  if (name && abi && libseccompNumber(t.libseccomp, abi, name) !== call.nr >>> 0 && matched.length > 0) {
    v.divergence = {
      label: 'unknown-name',
      reason: `${says}: libseccomp ${release} has no number for "${name}" on ${abi.id}, so the rule does not reach that ABI`,
      rules: matched.map((m) => m.rule),
    };
    return v;
  }
  const model = runModel(rf.filter!, call);
  if (model.noNumberLoad) {
    const head = pseudoHead(rf.filter!, call.arch);
    const lacking = head?.name ?? 'a name the ABI lacks';
    v.divergence = {
      label: 'no-number-load',
      reason: `${says}: libseccomp's code for ${abi?.id ?? 'this ABI'} never loads the syscall number (it puts ${lacking}, which ${abi?.id ?? 'the ABI'} lacks, first and leaves it out), so every ${abi?.id ?? ''} call gets the default`,
      rules: head
        ? (rf.profile.syscalls ?? []).flatMap((r, i) => (ruleNames(r).includes(head.name) ? [i] : []))
        : [],
    };
    return v;
  }
  if (
    facts.dropsDefaultErrnoRet &&
    intent.source === 'default' &&
    rf.profile.defaultErrnoRet !== undefined &&
    action.kind === 'ERRNO'
  ) {
    v.divergence = {
      label: 'default-errno-dropped',
      reason: `${says}: Docker 20.10 does not pass defaultErrnoRet (${rf.profile.defaultErrnoRet}) on to runc, so the default errno is EPERM`,
      rules: [],
    };
    return v;
  }
  const distinct = new Set(matched.map((m) => formatAction(m.action)));
  if (matched.length > 1 && distinct.size > 1 && matched.some((m) => sameAction(m.action, action))) {
    const winner = matched.find((m) => sameAction(m.action, action))!;
    v.divergence = {
      label: 'precedence',
      reason: `${says}: rules ${matched.map((m) => m.rule).join(' and ')} both match ${callName}; the profile's first, rule ${matched[0]!.rule}, should decide, but libseccomp's order picks rule ${winner.rule}`,
      rules: matched.map((m) => m.rule),
    };
    return v;
  }
  const onCall = abi ? rulesOn(rf, abi, call.nr) : [];
  const which = `${onCall.length === 1 ? 'rule' : 'rules'} ${onCall.join(', ')}`;
  v.divergence = {
    label: 'libseccomp-bug',
    reason: model.staleWord
      ? `${says}: libseccomp compiles ${which} for ${callName} into code that compares the wrong argument word`
      : `${says}: libseccomp merges ${which} for ${callName} into a decision tree that answers otherwise`,
    rules: onCall,
  };
  return v;
}

/** The number libseccomp gives a name on an ABI (for socketcall/ipc calls: the direct syscall). */
function libseccompNumber(v: RuntimeTarget['libseccomp'], abi: ArchDef, name: string): number | undefined {
  const t = nameTable(v, abi);
  if (!t) return undefined;
  if (abi.multiplexers.some((m) => m.calls[name] !== undefined)) return t.direct(name);
  const r = t.resolve(name);
  return r.kind === 'number' ? r.nr : undefined;
}

/** Indices of the profile rules that apply to a syscall number on an ABI. */
function rulesOn(rf: RuntimeFilter, abi: ArchDef, nr: number): number[] {
  const s = rf.policy.byArch.get(abi.id)?.syscalls.get(nr >>> 0);
  if (!s) return [];
  const set = new Set<number>([
    ...(s.unconditional ? [s.unconditional.rule] : []),
    ...s.conditional.map((r) => r.rule),
  ]);
  return [...set].sort((a, b) => a - b);
}
