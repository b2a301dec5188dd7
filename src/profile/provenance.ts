/**
 * Why a generated profile allows each call, kept in the profile itself (the rules' `comment`, a
 * field Docker, runc and the SPO keep and ignore), so that `explain`, `report`, `lint` and `diff`
 * can say it of any profile sysfence wrote, without the recording:
 *
 *   recorded      the trace saw the program make it (the default of a rule with provenance)
 *   implied       follows from recorded calls (exit_group, rt_sigreturn after a signal handler, ...)
 *   family        a sibling of a recorded call (call families), "of" the recorded one
 *   runtime       the container runtime makes it after installing the filter
 *   predicted     the programs' code can make it (static reach), with the import chain
 *
 * The comment grammar: "sysfence: KIND: NAME (WHY), NAME (WHY); KIND: ...". A rule whose comment
 * starts with "sysfence:" lists every name that is not `recorded`; names it does not list are.
 */
import type { Profile } from './model.js';

export type ProvenanceKind = 'recorded' | 'implied' | 'family' | 'runtime' | 'predicted';

export interface Provenance {
  kind: ProvenanceKind;
  /** Why, in words: "of ppoll", "/usr/bin/tar imports ftruncate64 from libc.so.6". */
  why?: string;
}

const PREFIX = 'sysfence:';
const KINDS: readonly ProvenanceKind[] = ['implied', 'family', 'runtime', 'predicted', 'recorded'];

/** The comment of a rule: what each listed name is there for (names not listed are recorded). */
export function provenanceComment(entries: ReadonlyMap<string, Provenance>): string | undefined {
  const groups = new Map<ProvenanceKind, string[]>();
  for (const [name, p] of [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (p.kind === 'recorded') continue;
    const why = p.why ? ` (${p.why.replace(/[();]/g, ' ').replace(/\s+/g, ' ').trim()})` : '';
    groups.set(p.kind, [...(groups.get(p.kind) ?? []), `${name}${why}`]);
  }
  if (groups.size === 0) return undefined;
  return `${PREFIX} ${KINDS.filter((k) => groups.has(k))
    .map((k) => `${k}: ${(groups.get(k) as string[]).join(', ')}`)
    .join('; ')}`;
}

/** Reads a rule comment written by provenanceComment (undefined: not one). */
export function parseProvenanceComment(comment: string | undefined): Map<string, Provenance> | undefined {
  if (!comment?.startsWith(PREFIX)) return undefined;
  const out = new Map<string, Provenance>();
  for (const part of comment.slice(PREFIX.length).split(';')) {
    const m = /^\s*(implied|family|runtime|predicted|recorded):\s*(.*)$/.exec(part);
    if (!m) continue;
    const kind = m[1] as ProvenanceKind;
    for (const item of (m[2] as string).matchAll(/([a-z0-9_]+)(?:\s*\(([^)]*)\))?\s*(?:,|$)/g)) {
      const name = item[1] as string;
      out.set(name, item[2] ? { kind, why: item[2] } : { kind });
    }
  }
  return out;
}

/**
 * What a profile says of why it allows each call (rules with a provenance comment; every name of
 * such a rule that the comment does not list is recorded). Empty for profiles sysfence did not write.
 */
export function profileProvenance(p: Profile): Map<string, Provenance> {
  const out = new Map<string, Provenance>();
  for (const r of p.syscalls ?? []) {
    const listed = parseProvenanceComment(r.comment);
    if (!listed) continue;
    for (const n of r.names ?? []) if (!out.has(n)) out.set(n, listed.get(n) ?? { kind: 'recorded' });
  }
  return out;
}
