/** Reads profile text of any supported format into Profiles with their issues. */
import type { Issue } from './issues.js';
import { sortIssues } from './issues.js';
import type { Profile } from './model.js';
import { parseDockerProfile } from './parse-docker.js';
import { parseSpo } from './spo.js';
import { validateProfile } from './validate.js';

export type ProfileFormat = 'docker' | 'spo';

export interface LoadedProfile {
  /** The object's name for SPO documents; undefined for Docker/OCI JSON. */
  name?: string;
  profile: Profile;
}

export interface LoadResult {
  format: ProfileFormat;
  profiles: LoadedProfile[];
  /** Parse and validation issues, located in the text. */
  issues: Issue[];
}

/** Guesses the format: JSON starts with '{'; anything else is read as SPO YAML. */
export function detectFormat(text: string): ProfileFormat {
  return /^\s*\{/.test(text.replace(/^\uFEFF/, '')) ? 'docker' : 'spo';
}

/** Parses and validates profile text. */
export function loadProfileText(text: string, format: ProfileFormat = detectFormat(text)): LoadResult {
  if (text.replace(/^\uFEFF/, '').trim() === '')
    return {
      format,
      profiles: [],
      issues: [
        {
          code: 'empty-input',
          severity: 'error',
          message: 'the input is empty: there is no profile to read',
          path: '$',
          position: { line: 1, column: 1 },
        },
      ],
    };
  if (format === 'docker') {
    const r = parseDockerProfile(text);
    const issues = [...r.issues];
    if (r.profile)
      for (const i of validateProfile(r.profile, { root: r.root, offsets: r.offsets, text })) issues.push(i);
    return { format, profiles: r.profile ? [{ profile: r.profile }] : [], issues: sortIssues(issues) };
  }
  const r = parseSpo(text);
  const issues = [...r.issues];
  // comments and document markers only: no object at all, which is no profile (never "valid")
  if (r.objects.length === 0 && issues.length === 0)
    issues.push({
      code: 'no-profile',
      severity: 'error',
      message: 'the input holds no SeccompProfile object (only comments, or empty documents)',
      path: '$',
      position: { line: 1, column: 1 },
    });
  r.objects.forEach((o, i) => {
    for (const v of validateProfile(o.profile, { offsets: r.offsets[i] ?? new Map(), text }))
      issues.push({ ...v, path: v.path.replace(/^\$/, `$[${i}].spec`) });
  });
  return {
    format,
    profiles: r.objects.map((o) => ({ name: o.name, profile: o.profile })),
    issues: sortIssues(issues),
  };
}
