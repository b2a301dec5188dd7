/**
 * lint: what a reviewer should know about a profile, each finding with a stable code, a severity,
 * the JSON path it is about, and a fix. It reads the profile's meaning through the verdict tables
 * (resolved for the given capabilities and kernel), and what the runtime makes of it through the
 * libseccomp model. validate's findings (unknown names, shadowed or contradictory rules, ...) are
 * not repeated here; `sysfence lint` prints both. One check per module, listed in LINT_CHECKS.
 */
import type { Profile } from '../../profile/model.js';
import type { ReviewOptions } from '../verdicts.js';
import { companions } from './checks/companions.js';
import { dangerous } from './checks/dangerous.js';
import { defaultAllow } from './checks/default-allow.js';
import { libseccomp, overlapping } from './checks/libseccomp.js';
import { multiplexer } from './checks/multiplexer.js';
import { ociArtifact } from './checks/oci-artifact.js';
import { predicted } from './checks/predicted.js';
import { probes } from './checks/probes.js';
import { rules } from './checks/rules.js';
import { lintContext } from './context.js';
import { type Finding, type LintCheck, type LintCode, SEVERITY_RANK } from './types.js';

export type { Finding, LintCheck, LintCode, LintSeverity } from './types.js';
export { SEVERITY_RANK } from './types.js';

/** Every check, in the order their findings are listed in help and docs. */
export const LINT_CHECKS: readonly LintCheck[] = [
  defaultAllow,
  dangerous,
  companions,
  probes,
  rules,
  multiplexer,
  libseccomp,
  overlapping,
  ociArtifact,
  predicted,
];

/** Every code lint can report, with its one-line summary (help and docs are checked against it). */
export const LINT_CODES: readonly LintCode[] = LINT_CHECKS.flatMap((c) => c.codes);

/** `rewrites: false` skips the search for rewrites (the findings are the same, without `rewrite`). */
export function lintProfile(p: Profile, o: ReviewOptions & { rewrites?: boolean } = {}): Finding[] {
  const ctx = lintContext(p, o);
  const findings = LINT_CHECKS.flatMap((c) => c.run(ctx));
  const order = (f: Finding) => `${SEVERITY_RANK[f.severity]}\u0000${f.code}\u0000${f.path}`;
  return findings.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}
