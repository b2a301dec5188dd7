/**
 * Drift: the calls a program (a new version, a new image) can make, by static reach, that a
 * profile does not allow, each with the chain that leads to it: what would fail before it fails.
 */
import { findArch } from '../arch/tables.js';
import type { Profile } from '../profile/model.js';
import type { ProgramReach } from '../reach/program.js';
import { allows, describeVerdict, verdictTable } from './verdicts.js';

export interface Drift {
  program: string;
  abi: string;
  name: string;
  verdict: string;
  chain: string[];
}

/** Calls the programs can make that the profile never allows (for some arguments counts as allowed). */
export function driftOf(profile: Profile, results: readonly ProgramReach[]): Drift[] {
  const out: Drift[] = [];
  const seen = new Set<string>();
  for (const r of results) {
    const abi = findArch(r.machine);
    if (!abi) continue;
    const table = verdictTable(profile, abi);
    const verdicts = new Map(table.calls.map((c) => [c.name, c.verdict]));
    for (const c of r.calls) {
      const v = verdicts.get(c.name);
      if (!v) continue;
      const allowed =
        v.kind === 'fixed' ? allows(v.action) : v.rules.some((x) => allows(x.action)) || allows(v.otherwise);
      const key = `${abi.id}\0${c.name}`;
      if (allowed || seen.has(key)) continue;
      seen.add(key);
      out.push({
        program: r.program,
        abi: abi.id,
        name: c.name,
        verdict: describeVerdict(v),
        chain: c.chain,
      });
    }
  }
  return out;
}
