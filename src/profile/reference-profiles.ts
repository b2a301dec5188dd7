import { readData } from '../knowledge/data-files.js';
import type { Profile } from './model.js';
import { parseDockerProfile } from './parse-docker.js';

const cache = new Map<string, Profile>();

/** The engines' default profiles shipped in data/profiles (README there: sources, measurements). */
export const REFERENCE_PROFILES = {
  'docker-default': "Docker's default",
  'podman-default': "Podman's default",
  'containerd-default': "containerd's RuntimeDefault",
} as const;
export type ReferenceName = keyof typeof REFERENCE_PROFILES;
export const isReferenceName = (s: string): s is ReferenceName => s in REFERENCE_PROFILES;

/** A default profile as shipped in data/profiles. */
export function referenceProfile(which: ReferenceName): Profile {
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
