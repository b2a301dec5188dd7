/**
 * The proof that a profile is never weaker than Docker's default: the semantic diff from Docker's
 * default (resolved for each host ABI the profile is for) to the profile has no change that allows more,
 * other than for calls the user named. Every profile sysfence generates, learns or merges is held
 * to it before it is written; a finding there is a bug in sysfence, and nothing is written.
 */
import type { ArchDef } from '../arch/types.js';
import {
  DEFAULT_KERNEL,
  DEFAULT_REFERENCES,
  defaultBaseline,
  hostAbis,
  profileHosts,
} from '../profile/baseline.js';
import type { Profile } from '../profile/model.js';
import type { ReferenceName } from '../profile/reference-profiles.js';
import { targetArches } from '../profile/validate.js';
import { type Change, diffProfiles } from './diff.js';

export interface BeyondDefault {
  /** The hosts Docker's default was resolved for. */
  hosts: ArchDef[];
  /** Calls (per ABI) the profile allows more of than Docker's default on that ABI's host. */
  changes: Change[];
}

/** What `profile` allows beyond Docker's default, except the calls named in `exempt`. */
export function beyondDefault(
  profile: Profile,
  o: {
    exempt?: readonly string[];
    kernelVersion?: string;
    hosts?: readonly ArchDef[];
    /** The defaults held to (Docker's unless said): the profile must be inside each. */
    references?: readonly ReferenceName[];
  } = {},
): BeyondDefault {
  const hosts = [...(o.hosts ?? profileHosts(profile))];
  const kernelVersion = o.kernelVersion ?? DEFAULT_KERNEL;
  const exempt = new Set(o.exempt ?? []);
  const targeted = targetArches(profile);
  const changes: Change[] = [];
  for (const host of hosts) {
    // each ABI the profile accepts, against Docker's default on the host that runs it
    const arches = hostAbis(host).filter((a) => targeted.length === 0 || targeted.some((t) => t.id === a.id));
    for (const reference of o.references ?? DEFAULT_REFERENCES) {
      const base = defaultBaseline({ host, kernelVersion, reference });
      const d = diffProfiles(base, profile, { kernelVersion, arches });
      changes.push(...d.changes.filter((c) => c.allowsMore && !exempt.has(c.name)));
    }
  }
  return { hosts, changes };
}
