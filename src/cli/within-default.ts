import { DEFAULT_KERNEL, DEFAULT_REFERENCES } from '../profile/baseline.js';
import type { Profile } from '../profile/model.js';
import { REFERENCE_PROFILES, type ReferenceName } from '../profile/reference-profiles.js';
import { beyondDefault } from '../review/baseline-proof.js';
import { CliError } from './errors.js';

/**
 * Fails closed: a profile sysfence made must allow nothing Docker's default denies, except the
 * calls in `exempt` (named with --allow-beyond-default, or already allowed by the profile a user
 * gave). Proven with the semantic diff before anything is written.
 */
export function requireWithinDefault(
  profile: Profile,
  exempt: readonly string[],
  what: string,
  references: readonly ReferenceName[] = DEFAULT_REFERENCES,
): void {
  const b = beyondDefault(profile, { exempt, kernelVersion: DEFAULT_KERNEL, references });
  if (b.changes.length === 0) return;
  const calls = [...new Set(b.changes.map((c) => `${c.arch} ${c.name}`))];
  throw new CliError(
    'beyond-default',
    `${what} would allow more than ${references.map((r) => REFERENCE_PROFILES[r]).join(' or ')} (resolved for ${b.hosts.map((h) => h.id).join(', ')}): ${calls.slice(0, 10).join(', ')}${calls.length > 10 ? ` and ${calls.length - 10} more` : ''}; nothing was written`,
    undefined,
    'this is a bug in sysfence: please report it with the input; --allow-beyond-default CALL allows a call past the default on purpose',
  );
}
