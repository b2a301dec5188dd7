/** What sysfence knows about each syscall beyond its numbers: a summary, a gating capability, a risk. */
import { readTsv } from './data-files.js';

let summaries: Map<string, string> | undefined;
let risks: Map<string, { capability: string | undefined; risk: string }> | undefined;

export function syscallSummary(name: string): string | undefined {
  if (!summaries) {
    summaries = new Map();
    for (const file of ['syscall-descriptions.tsv', 'syscall-descriptions-extra.tsv'])
      for (const [n, s] of readTsv(file)) if (n && s) summaries.set(n, s);
  }
  return summaries.get(name) ?? summaries.get(name.replace(/(64|32|_time64)$/, ''));
}

function loadRisks(): Map<string, { capability: string | undefined; risk: string }> {
  if (!risks) {
    risks = new Map();
    for (const [n, cap, why] of readTsv('syscall-risks.tsv'))
      if (n && cap && why) risks.set(n, { capability: cap === '-' ? undefined : cap, risk: why });
  }
  return risks;
}

export function syscallRisk(name: string): { capability: string | undefined; risk: string } | undefined {
  return loadRisks().get(name);
}

/** Every syscall data/syscall-risks.tsv calls risky, sorted. */
export function riskyNames(): string[] {
  return [...loadRisks().keys()].sort();
}
