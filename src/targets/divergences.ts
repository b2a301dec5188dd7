/**
 * Where a runtime enforces something else than a profile says, found by checking the verification
 * cases (every syscall number of every ABI, the boundary values of every argument condition crossed
 * over the arguments the rules use, every socketcall/ipc sub-call) against the runtime verdict.
 * Each difference is kept once per (ABI, syscall, cause) with the first call that shows it (the
 * witness); runc's ENOSYS stub for numbers the profile does not name and a section that never loads
 * the syscall number are kept once per ABI. Overlapping rules with different actions (a question of
 * order even where the runtime happens to agree) are listed too.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { type Case, verificationCases } from '../compiler/cases.js';
import type { Refusal } from '../libseccomp/filter.js';
import { type Action, formatAction, sameAction } from '../profile/actions.js';
import type { Profile } from '../profile/model.js';
import { exactDifference } from './exact-diff.js';
import type { RuntimeTarget } from './target.js';
import {
  abiOfCall,
  type DivergenceLabel,
  matchingRules,
  type RuntimeFilter,
  runtimeEvaluate,
  runtimeFilter,
} from './verdict.js';

export interface SyscallDivergence {
  abi: ArchDef;
  nr: number;
  /** The syscall's name on the ABI (or `#nr`). */
  name: string;
  label: DivergenceLabel;
  reason: string;
  rules: number[];
  witness: Case;
  intent: Action;
  runtime: Action;
  /** Verification cases of this syscall that diverge this way. */
  cases: number;
  /** Found by the exact decision (exact-diff.ts), where no verification case showed it. */
  exact?: true;
}

export interface Overlap {
  abi: ArchDef;
  nr: number;
  name: string;
  /** The rules that match the witness, in profile order, with their actions. */
  rules: { rule: number; action: Action }[];
  witness: Case;
  /** What the runtime answers for the witness. */
  runtime: Action;
}

export interface DivergenceReport {
  target: RuntimeTarget;
  refused?: Refusal;
  /** The model was not run (the profile is too big for it): nothing below is checked. */
  unmodelled?: string;
  /** Per (ABI, syscall, cause); ordered by ABI order, number, cause. */
  syscalls: SyscallDivergence[];
  /** runc's ENOSYS stub answering numbers the profile does not name: per ABI, how many cases. */
  stubbed: { abi: ArchDef; cases: number }[];
  /** Overlapping rules with different actions, per (ABI, syscall), first witness. */
  overlaps: Overlap[];
  cases: number;
  /** Syscalls whose argument rules the exact decision could not settle (said, never passed as equal). */
  unproven: { abi: ArchDef; nr: number; name: string; why: string }[];
}

const reports = new WeakMap<RuntimeFilter, DivergenceReport>();

/** The divergence report of a resolved profile under a target (cached per runtime filter). */
export function divergences(p: Profile, t: RuntimeTarget): DivergenceReport {
  const rf = runtimeFilter(p, t);
  const hit = reports.get(rf);
  if (hit) return hit;
  const report: DivergenceReport = {
    target: t,
    syscalls: [],
    stubbed: [],
    overlaps: [],
    cases: 0,
    unproven: [],
  };
  if (rf.refused) report.refused = rf.refused;
  if (rf.unmodelled) {
    report.unmodelled = rf.unmodelled;
    reports.set(rf, report);
    return report;
  }
  const byKey = new Map<string, SyscallDivergence>();
  const stubbed = new Map<ArchDef, number>();
  const overlaps = new Map<string, Overlap>();
  for (const c of verificationCases(rf.policy)) {
    report.cases++;
    const abi = abiOfCall(rf.policy, c.arch, c.nr);
    if (!abi) continue;
    const name = syscallTable(abi).name(c.nr >>> 0) ?? `#${c.nr >>> 0}`;
    const matched = matchingRules(rf, abi, c.nr, c.args);
    const v = rf.refused ? undefined : runtimeEvaluate(rf, c);
    if (matched.length > 1 && new Set(matched.map((m) => formatAction(m.action))).size > 1) {
      const key = `${abi.id}:${c.nr >>> 0}`;
      if (!overlaps.has(key))
        overlaps.set(key, {
          abi,
          nr: c.nr >>> 0,
          name,
          rules: matched,
          witness: c,
          runtime: v?.action ?? matched[0]!.action,
        });
    }
    const d = v?.divergence;
    if (!v || !d) continue;
    const named = rf.policy.byArch.get(abi.id)?.syscalls.has(c.nr >>> 0) ?? false;
    if (d.label === 'stub' && !named) {
      stubbed.set(abi, (stubbed.get(abi) ?? 0) + 1);
      continue;
    }
    const key = `${abi.id}:${c.nr >>> 0}:${d.label}`;
    const seen = byKey.get(key);
    if (seen) {
      seen.cases++;
      continue;
    }
    byKey.set(key, {
      abi,
      nr: c.nr >>> 0,
      name,
      label: d.label,
      reason: d.reason,
      rules: d.rules,
      witness: c,
      intent: { kind: v.intent.kind, data: v.intent.data },
      runtime: v.action,
      cases: 1,
    });
  }
  // the exact decision for every syscall with argument rules the cases did not catch: a sampled
  // argument space can miss a difference; the constraint search cannot
  if (rf.filter && !rf.refused)
    for (const a of rf.policy.arches) {
      const ap = rf.policy.byArch.get(a.id);
      for (const nr of ap?.order ?? []) {
        const s = ap!.syscalls.get(nr)!;
        if (s.unconditional || s.conditional.length === 0) continue;
        if ([...byKey.keys()].some((k) => k.startsWith(`${a.id}:${nr}:`))) continue;
        const x = exactDifference(rf, a, nr);
        const name = syscallTable(a).name(nr) ?? `#${nr}`;
        if ('unsupported' in x) {
          report.unproven.push({ abi: a, nr, name, why: x.unsupported });
          continue;
        }
        if (!x.differs) continue;
        const c: Case = { arch: a.auditArch, nr, args: x.args };
        const v = runtimeEvaluate(rf, c);
        if (!v.divergence) continue;
        byKey.set(`${a.id}:${nr}:${v.divergence.label}`, {
          abi: a,
          nr,
          name,
          label: v.divergence.label,
          reason: v.divergence.reason,
          rules: v.divergence.rules,
          witness: c,
          intent: { kind: v.intent.kind, data: v.intent.data },
          runtime: v.action,
          cases: 1,
          exact: true,
        });
      }
    }
  const abiOrder = (a: ArchDef) => rf.policy.arches.findIndex((x) => x.id === a.id);
  report.syscalls = [...byKey.values()].sort(
    (x, y) =>
      abiOrder(x.abi) - abiOrder(y.abi) ||
      x.nr - y.nr ||
      (x.label < y.label ? -1 : x.label > y.label ? 1 : 0),
  );
  report.stubbed = [...stubbed].map(([abi, cases]) => ({ abi, cases }));
  report.overlaps = [...overlaps.values()];
  reports.set(rf, report);
  return report;
}

/** A call written as `name(a0, a1, ...)` with the arguments that matter, in hex where large. */
export function formatCall(name: string, args: readonly bigint[]): string {
  let last = -1;
  args.forEach((a, i) => {
    if (a !== 0n) last = i;
  });
  const shown = args.slice(0, last + 1).map((a) => (a < 4096n ? a.toString() : `0x${a.toString(16)}`));
  return `${name}(${shown.join(', ')})`;
}

export const sameVerdict = (a: Action, b: Action): boolean => sameAction(a, b);
