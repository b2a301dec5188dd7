import { readData } from '../knowledge/data-files.js';
import type { Profile } from './model.js';
import { parseDockerProfile } from './parse-docker.js';

const cache = new Map<string, Profile>();

/** Docker's or Podman's default profile as shipped in data/profiles. */
export function referenceProfile(which: 'docker-default' | 'podman-default'): Profile {
  let p = cache.get(which);
  if (!p) {
    const r = parseDockerProfile(readData(`profiles/${which}.json`));
    if (!r.profile || r.issues.some((i) => i.severity === 'error'))
      throw new Error(
        `data/profiles/${which}.json does not parse: ${r.issues.map((i) => i.message).join('; ')}`,
      );
    p = r.profile;
    cache.set(which, p);
  }
  return p;
}
