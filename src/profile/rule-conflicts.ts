/**
 * Rule interactions: which rules dockerd can keep together, duplicates and contradictions, and the
 * rules libseccomp refuses once socketcall/ipc multiplexing rewrites them.
 */
import type { ArchDef } from '../arch/types.js';
import { filterArchMatches } from './arch-names.js';
import type { IssueList } from './issues.js';
import { type Profile, ruleNames, type SyscallRule } from './model.js';
import { actionKey, argsKey } from './rule-keys.js';

const kernelCmp = (a: string, b: string): number => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
};

/** False when dockerd can never keep both rules for the same container (caps, arches, kernel). */
export function canCoexist(a: SyscallRule, b: SyscallRule): boolean {
  const inter = (x?: string[], y?: string[]) => (x ?? []).some((v) => (y ?? []).includes(v));
  if (inter(a.includes?.caps, b.excludes?.caps) || inter(b.includes?.caps, a.excludes?.caps)) return false;
  const archOf = (s: string) => filterArchMatches(s)?.id ?? s;
  const ai = a.includes?.arches?.map(archOf);
  const bi = b.includes?.arches?.map(archOf);
  if (ai?.length && bi?.length && !ai.some((x) => bi.includes(x))) return false;
  const excludedAll = (inc: string[] | undefined, exc: string[] | undefined) =>
    inc !== undefined && inc.length > 0 && inc.every((x) => (exc ?? []).map(archOf).includes(x));
  if (excludedAll(ai, b.excludes?.arches) || excludedAll(bi, a.excludes?.arches)) return false;
  const lo = (r: SyscallRule) => r.includes?.minKernel;
  const hi = (r: SyscallRule) => r.excludes?.minKernel;
  for (const [inc, exc] of [
    [lo(a), hi(b)],
    [lo(b), hi(a)],
  ] as const) {
    if (inc !== undefined && exc !== undefined && kernelCmp(inc, exc) >= 0) return false;
  }
  return true;
}

/**
 * Duplicates, shadowed and contradictory rules, each rule compared with the earlier rules for the
 * same name and arguments (linear: per name and argument set only the distinct earlier actions and
 * filters are kept, and a rule is reported once per name, against the first rule it meets).
 */
export function checkConflicts(list: IssueList, root: string, p: Profile): void {
  type Seen = { rule: SyscallRule; index: number; action: string; filter: string };
  const byKey = new Map<string, Seen[]>();
  (p.syscalls ?? []).forEach((rule, index) => {
    const args = argsKey(rule.args ?? []);
    const action = actionKey(rule.action, rule.errnoRet);
    const filter = JSON.stringify([rule.includes ?? {}, rule.excludes ?? {}]);
    for (const name of ruleNames(rule)) {
      const key = `${name}\u0000${args}`;
      const prev = byKey.get(key) ?? [];
      const dup = prev.find((x) => x.action === action && x.filter === filter && canCoexist(x.rule, rule));
      if (dup)
        list.info(
          'duplicate-rule',
          `${root}.syscalls[${index}]`,
          `"${name}" already has the same rule at syscalls[${dup.index}]`,
          'remove one of them',
        );
      const s = prev.find((x) => x.action !== action && canCoexist(x.rule, rule));
      if (s) {
        if (args === '') {
          // Runtimes accept this: the first unconditional rule for a syscall wins (libseccomp drops
          // later ones). Worth a note, not an error; `sysfence lint` reports it as unreachable.
          list.info(
            'shadowed-rule',
            `${root}.syscalls[${index}]`,
            `"${name}" gets ${action} here but ${s.action} at syscalls[${s.index}] comes first and wins when both apply`,
          );
        } else {
          list.error(
            'contradictory-rules',
            `${root}.syscalls[${index}]`,
            `"${name}" gets ${action} here but ${s.action} at syscalls[${s.index}] for the same arguments; libseccomp refuses the profile (EEXIST)`,
            'keep one action per syscall and argument set',
          );
        }
      }
      if (!prev.some((x) => x.action === action && x.filter === filter)) {
        prev.push({ rule, index, action, filter });
        byKey.set(key, prev);
      }
    }
  });
}

/**
 * On ABIs with socketcall/ipc, libseccomp adds every rule for a multiplexed call (socket, semop, ...)
 * to the multiplexer with argument 0 replaced by `== sub-call`. Two rules of different actions
 * whose remaining conditions are then identical (an unconditional rule and one that only checked
 * argument 0, say) make libseccomp refuse the filter (EEXIST): runc and crun fail to start.
 */
export function checkMultiplexed(list: IssueList, root: string, p: Profile, targets: ArchDef[]): void {
  const muxArches = targets.filter((a) => a.multiplexers.length > 0);
  if (muxArches.length === 0) return;
  const muxNames = new Set(muxArches.flatMap((a) => a.multiplexers.flatMap((m) => Object.keys(m.calls))));
  const seen = new Map<string, { action: string; index: number; rule: SyscallRule }>();
  (p.syscalls ?? []).forEach((rule, index) => {
    const action = actionKey(rule.action, rule.errnoRet);
    const args = rule.args ?? [];
    const idx = args.map((a) => a.index);
    // runc splits a rule that repeats an index into one rule per condition
    const pieces = new Set(idx).size < idx.length ? args.map((a) => [a]) : [args];
    for (const name of ruleNames(rule)) {
      if (!muxNames.has(name)) continue;
      for (const piece of pieces) {
        const key = `${name}|${argsKey(piece.filter((a) => a.index !== 0))}`;
        const prev = seen.get(key);
        if (prev && prev.action !== action && canCoexist(prev.rule, rule))
          list.warn(
            'multiplexed-conflict',
            `${root}.syscalls[${index}]`,
            `"${name}" is multiplexed through socketcall/ipc on ${muxArches.map((a) => a.id).join(', ')}: with argument 0 replaced by the sub-call, ` +
              `this ${action} rule and the ${prev.action} rule at syscalls[${prev.index}] become the same condition with different actions, and libseccomp refuses the filter (EEXIST)`,
            'give these rules the same action, or drop the multiplexing architectures',
          );
        if (!prev) seen.set(key, { action, index, rule });
      }
    }
  });
}
