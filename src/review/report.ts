/**
 * report: one self-contained HTML page a reviewer reads (and prints): what the profile allows
 * against a baseline (Docker's default unless said), the attack surface it removes, the risky calls
 * it keeps, syscalls by category and by call count, every allowed call with who needed it, the
 * lint findings, and the semantic diff against the baseline. No script, no network, no timestamp:
 * the same inputs give the same bytes. `buildReport` is the data (also `report --json`);
 * `renderReport` (report-html.ts) only lays it out, so the page shows exactly the JSON's numbers.
 */

import type { ArchId } from '../arch/types.js';
import { type Category, categoryOf, namesByCategory } from '../knowledge/categories.js';
import { syscallRisk, syscallSummary } from '../knowledge/syscall-info.js';
import { formatAction } from '../profile/actions.js';
import { type GenerateResult, runCoverage } from '../profile/generate.js';
import type { Profile } from '../profile/model.js';
import { profileProvenance } from '../profile/provenance.js';
import type { Recording } from '../recording/recording.js';
import { type RuntimeNotes, runtimeNotes } from '../targets/notes.js';
import { type DiffResult, diffProfiles } from './diff.js';
import { type Finding, lintProfile } from './lint/index.js';
import { allows, describeConditions, type ReviewOptions, reviewArches, verdictTable } from './verdicts.js';

export interface ReportCall {
  name: string;
  category: Category;
  summary: string;
  /** "always", or the argument rules when only some values are allowed. */
  allowed: string;
  count: number | null;
  executables: string[];
  pids: number[];
  stack: string[];
  risk: string | null;
  /** Why the profile allows it, from the rule comment sysfence wrote (null: the profile does not say). */
  why: string | null;
}

export interface ReportData {
  sysfenceReport: 1;
  title: string;
  baseline: string;
  arches: {
    arch: ArchId;
    allowed: number;
    conditional: number;
    baselineAllowed: number;
    /** Calls the baseline allows that this profile does not, in percent of the baseline's. */
    removedPercent: number;
    /** Calls on the risk list (data/syscall-risks.tsv) still allowed, always or for some arguments. */
    riskyAllowed: string[];
    /** Of those, the ones allowed only for some argument values (clone without namespace flags). */
    riskyConditional: string[];
    /** Risk-list calls the baseline allows and this profile does not. */
    riskyRemoved: number;
  }[];
  /** The first architecture's calls, per category: allowed here and by the baseline. */
  categories: { category: Category; allowed: number; baseline: number; total: number }[];
  /** Every call the profile allows on the first architecture (unconditionally or by argument). */
  calls: ReportCall[];
  /** The most frequent recorded calls (empty without recordings). */
  topCalls: { name: string; count: number }[];
  recorded: { calls: number; syscalls: number; sources: string[] };
  /**
   * How many runs the recordings hold and the calls only some made (the fragile ones: an input
   * that differs again may need a call no run made). `runs` 0: no recording was given.
   */
  coverage: GenerateResult['coverage'];
  findings: Finding[];
  diff: { allowsMore: boolean; changes: DiffResult['changes'] };
  /** Where the runtime enforcing the profile answers otherwise (absent for sysfence's own filter). */
  runtime?: RuntimeNotes;
}

export function buildReport(
  o: {
    title: string;
    profile: Profile;
    recordings: readonly Recording[];
    baselineName: string;
    baseline: Profile;
  } & ReviewOptions,
): ReportData {
  const ro: ReviewOptions = {
    ...(o.capabilities ? { capabilities: o.capabilities } : {}),
    ...(o.kernelVersion ? { kernelVersion: o.kernelVersion } : {}),
  };
  const abis = reviewArches([o.profile]);
  const arches: ReportData['arches'] = [];
  const provenance = profileProvenance(o.profile);
  let first: { calls: ReportCall[]; categories: ReportData['categories'] } | undefined;
  for (const abi of abis) {
    const mine = verdictTable(o.profile, abi, ro);
    const base = verdictTable(o.baseline, abi, ro);
    const allowedSet = new Set(
      mine.calls.filter((c) => c.verdict.kind === 'fixed' && allows(c.verdict.action)).map((c) => c.name),
    );
    const conditional = mine.calls.filter(
      (c) =>
        c.verdict.kind === 'args' &&
        (c.verdict.rules.some((r) => allows(r.action)) || allows(c.verdict.otherwise)),
    );
    const baseSet = new Set(
      base.calls.filter((c) => c.verdict.kind === 'fixed' && allows(c.verdict.action)).map((c) => c.name),
    );
    const removed = [...baseSet].filter((n) => !allowedSet.has(n));
    arches.push({
      arch: abi.id,
      allowed: allowedSet.size,
      conditional: conditional.length,
      baselineAllowed: baseSet.size,
      removedPercent: baseSet.size === 0 ? 0 : Math.round((1000 * removed.length) / baseSet.size) / 10,
      // one definition of "risky" for the headline and the table: the risk list
      riskyAllowed: [...allowedSet, ...conditional.map((c) => c.name)].filter((n) => syscallRisk(n)).sort(),
      riskyConditional: conditional
        .map((c) => c.name)
        .filter((n) => syscallRisk(n))
        .sort(),
      riskyRemoved: removed.filter((n) => syscallRisk(n)).length,
    });
    if (first) continue;
    const calls: ReportCall[] = mine.calls
      .filter((c) => allowedSet.has(c.name) || conditional.includes(c))
      .map((c) => {
        // what the recordings say of the call: counts added, processes united, the first stack
        let count: number | null = null;
        let stack: string[] = [];
        const exes = new Set<string>();
        const pids = new Set<number>();
        for (const r of o.recordings) {
          const x = r.syscalls[abi.id]?.[c.name];
          if (!x) continue;
          count = (count ?? 0) + x.count;
          if (stack.length === 0 && x.stack) stack = x.stack;
          for (const e of x.executables) exes.add(e);
          for (const p of x.pids) pids.add(p);
        }
        const prov = provenance.get(c.name);
        return {
          why: prov ? `${prov.kind}${prov.why ? `: ${prov.why}` : ''}` : null,
          name: c.name,
          category: categoryOf(c.name),
          summary: syscallSummary(c.name) ?? '',
          allowed:
            c.verdict.kind === 'fixed'
              ? 'always'
              : c.verdict.rules
                  .filter((r) => allows(r.action))
                  .map(describeConditions)
                  .join(' or ') || `otherwise ${formatAction(c.verdict.otherwise)}`,
          count,
          executables: [...exes].sort(),
          pids: [...pids].sort((a, b) => a - b).slice(0, 8),
          stack,
          risk: syscallRisk(c.name)?.risk ?? null,
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    const categories = [...namesByCategory(abi)]
      .filter(([, names]) => names.length > 0)
      .map(([category, names]) => ({
        category,
        allowed: names.filter((n) => allowedSet.has(n)).length,
        baseline: names.filter((n) => baseSet.has(n)).length,
        total: names.length,
      }));
    first = { calls, categories };
  }
  const counts = new Map<string, number>();
  let total = 0;
  for (const r of o.recordings)
    for (const [abi, calls] of Object.entries(r.syscalls))
      for (const [name, s] of Object.entries(calls ?? {})) {
        const key = abi === abis[0]?.id ? name : `${name} (${abi})`;
        counts.set(key, (counts.get(key) ?? 0) + s.count);
        total += s.count;
      }
  // on the profile's own ABIs: the others are not in its filter at all (bad-arch action)
  const d = diffProfiles(o.baseline, o.profile, { ...ro, arches: abis });
  const runtime = o.target ? runtimeNotes(o.profile, o.target, ro) : undefined;
  return {
    sysfenceReport: 1,
    title: o.title,
    baseline: o.baselineName,
    arches,
    categories: first?.categories ?? [],
    calls: first?.calls ?? [],
    topCalls: [...counts.entries()]
      .map(([name, count]) => ({ name, count }))
      .sort((a, b) => b.count - a.count || (a.name < b.name ? -1 : 1))
      .slice(0, 20),
    recorded: {
      calls: total,
      syscalls: counts.size,
      sources: o.recordings.flatMap((r) => r.sources.map((s) => `${s.format}: ${s.file}`)),
    },
    coverage: o.recordings.length > 0 ? runCoverage(o.recordings) : { runs: 0, partial: [] },
    findings: lintProfile(o.profile, { ...ro, ...(o.target ? { target: o.target } : {}) }),
    diff: { allowsMore: d.allowsMore, changes: d.changes },
    ...(runtime ? { runtime } : {}),
  };
}
