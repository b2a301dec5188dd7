/**
 * One attribution of a verdict, for every command that names one (run, learn, check, explain):
 * what the call gets where the profile is enforced (the runtime model: Docker 20.10 drops
 * defaultErrnoRet, libseccomp's order and bugs, runc's stub), and which rule of the profile as
 * written decides it, or its default action. A rule that denies exactly like the default is dropped
 * from the compiled policy (as runc does), yet it says the profile means the denial (the probed
 * calls' explicit ENOSYS rule): such a call is attributed to that rule.
 */
import type { ArchDef } from '../arch/types.js';
import { type Action, formatAction } from '../profile/actions.js';
import { ruleNames } from '../profile/model.js';
import { ruleOrigins } from '../profile/resolve.js';
import { type Divergence, type RuntimeFilter, runtimeEvaluate } from './verdict.js';

const ALLOWING = new Set(['ALLOW', 'LOG']);

export interface Attribution {
  /** What the call gets where the profile is enforced. */
  action: Action;
  /** What the profile says. */
  intent: Action;
  /** The rule (index in the profile as written) that decides, when a rule does. */
  rule?: number;
  by: 'rule' | 'default' | 'bad-arch';
  /** The enforced action is a denial the profile means (by an explicit rule), not its default's. */
  expected: boolean;
  divergence?: Divergence;
  /** The runtime's answer could not be computed (why): `action` is the intent, unchecked. */
  uncertain?: string;
}

/**
 * `rf` is built from the profile as the runtime receives it (resolved); `written` maps its rule
 * indices back to the profile as written (resolve() drops rules by includes/excludes).
 */
export function attribute(
  rf: RuntimeFilter,
  abi: ArchDef,
  nr: number,
  args: readonly bigint[] = [],
  name?: string,
): Attribution {
  const rv = runtimeEvaluate(rf, { arch: abi.auditArch, nr, args });
  const origins = ruleOrigins(rf.profile);
  const original = (i: number) => origins?.[i] ?? i;
  let rule: number | undefined;
  let by: Attribution['by'] = rv.intent.source;
  if (rv.intent.source === 'rule' && rv.intent.rule !== undefined) rule = original(rv.intent.rule);
  else if (rv.intent.source === 'default' && name !== undefined) {
    const i = (rf.profile.syscalls ?? []).findIndex(
      (r) =>
        ruleNames(r).includes(name) && !r.args?.length && !ALLOWING.has(r.action.replace(/^SCMP_ACT_/, '')),
    );
    if (i >= 0) {
      rule = original(i);
      by = 'rule';
    }
  }
  // a denial by the runtime where the profile allows, or by the default, is not meant
  const denies = !ALLOWING.has(rv.action.kind);
  const a: Attribution = {
    action: rv.action,
    intent: { kind: rv.intent.kind, data: rv.intent.data },
    by,
    expected: denies && by === 'rule' && !ALLOWING.has(rv.intent.kind),
  };
  if (rule !== undefined) a.rule = rule;
  if (rv.divergence) a.divergence = rv.divergence;
  if (rv.uncertain) a.uncertain = rv.uncertain;
  return a;
}

/** "ERRNO(1) by default", "ERRNO(38) by rule 2", "KILL_THREAD by the bad-arch action". */
export function describeAttribution(a: Attribution): string {
  const who =
    a.by === 'rule' && a.rule !== undefined
      ? `by rule ${a.rule}`
      : a.by === 'bad-arch'
        ? 'by the bad-arch action (ABI not in the filter)'
        : 'by default';
  if (a.divergence && !ALLOWING.has(a.action.kind) && ALLOWING.has(a.intent.kind))
    return `${formatAction(a.action)} by the runtime, where the profile allows it`;
  return `${formatAction(a.action)} ${who}`;
}
