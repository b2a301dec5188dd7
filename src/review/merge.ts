/**
 * merge: the least profile that allows everything any input allows. Computed on the inputs'
 * verdict tables (resolved for the given capabilities and kernel, so includes/excludes are
 * settled), per ABI and syscall:
 *   - allowed unconditionally by any input: allowed;
 *   - else allowed for some argument values by any input: the allowing argument rules of every
 *     input (ORed), the rest denied;
 *   - else denied by all: the least strict of their denials (ERRNO before TRAP before KILL; among
 *     errnos ENOSYS first, as libraries fall back on it), which the output's default covers when
 *     it equals it.
 * Every conflict (different denials, different defaults, ABIs of one host that disagree, argument
 * rules that cannot be ORed exactly) is resolved by those rules and reported, never silently.
 */
import { ARCH_DEFS } from '../arch/defs.js';
import { archById } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { ACTION_PRECEDENCE, type Action, formatAction, sameAction } from '../profile/actions.js';
import { ENOSYS } from '../profile/errno.js';
import type { ActionName, ArchMapEntry, ArgCondition, Profile, SyscallRule } from '../profile/model.js';
import type { ConditionalRule } from '../profile/policy.js';
import { targetArches } from '../profile/validate.js';
import {
  allows,
  argumentCases,
  type ReviewOptions,
  reviewArches,
  type SyscallVerdict,
  verdictFor,
  verdictTable,
} from './verdicts.js';

export interface MergeResult {
  profile: Profile;
  conflicts: string[];
}

const NAME: Record<Action['kind'], ActionName> = {
  KILL_PROCESS: 'SCMP_ACT_KILL_PROCESS',
  KILL_THREAD: 'SCMP_ACT_KILL_THREAD',
  TRAP: 'SCMP_ACT_TRAP',
  ERRNO: 'SCMP_ACT_ERRNO',
  TRACE: 'SCMP_ACT_TRACE',
  LOG: 'SCMP_ACT_LOG',
  ALLOW: 'SCMP_ACT_ALLOW',
  NOTIFY: 'SCMP_ACT_NOTIFY',
};

/** The least strict of some denials (the kernel's precedence reversed; ENOSYS first among errnos). */
function leastStrict(actions: readonly Action[]): Action {
  return [...actions].sort(
    (a, b) =>
      ACTION_PRECEDENCE.indexOf(b.kind) - ACTION_PRECEDENCE.indexOf(a.kind) ||
      Number(b.data === ENOSYS) - Number(a.data === ENOSYS) ||
      a.data - b.data,
  )[0]!;
}

type Merged = { kind: 'fixed'; action: Action } | { kind: 'args'; rules: ConditionalRule[] };

const key = (m: Merged) =>
  m.kind === 'fixed'
    ? `f:${m.action.kind}:${m.action.data}`
    : `a:${JSON.stringify(
        m.rules.map((r) => [r.conditions, r.action]),
        (_k, v) => (typeof v === 'bigint' ? v.toString() : v),
      )}`;

export function mergeProfiles(
  inputs: readonly { name: string; profile: Profile }[],
  o: ReviewOptions = {},
): MergeResult {
  const conflicts: string[] = [];
  const abis = reviewArches(inputs.map((i) => i.profile));
  const tables = abis.map((abi) => ({ abi, of: inputs.map((i) => verdictTable(i.profile, abi, o)) }));
  // the default: an allowing one if any input has one (a deny-list), else the least strict
  const defaults = inputs.map((_, k) => tables[0]!.of[k]!.defaultAction);
  const allowingDefault = defaults.find(allows);
  const def = allowingDefault ?? leastStrict(defaults);
  if (new Set(defaults.map(formatAction)).size > 1)
    conflicts.push(
      `default actions differ (${inputs.map((i, k) => `${i.name}: ${formatAction(defaults[k]!)}`).join(', ')}): took ${formatAction(def)}, ${allowingDefault ? 'the allowing one' : 'the least strict'}`,
    );

  // denials that differ, grouped by how they differ (a default's errno moves hundreds at once)
  const denialConflicts = new Map<string, { names: Set<string>; abis: Set<string> }>();
  // per name, across the ABIs that have it: one merged verdict
  const byName = new Map<string, { merged: Merged; abi: ArchDef }[]>();
  for (const { abi, of } of tables) {
    const accepted = of.filter((t) => t.accepted);
    if (accepted.length === 0) continue;
    for (let n = 0; n < accepted[0]!.calls.length; n++) {
      const name = accepted[0]!.calls[n]!.name;
      const vs: { v: SyscallVerdict; from: string }[] = accepted.map((t) => ({
        v: t.calls[n]!.verdict,
        from: inputs[of.indexOf(t)]!.name,
      }));
      let merged: Merged;
      const allowing = vs.find((x) => x.v.kind === 'fixed' && allows(x.v.action));
      if (allowing && allowing.v.kind === 'fixed') {
        const kinds = vs
          .filter((x) => x.v.kind === 'fixed' && allows(x.v.action))
          .map((x) => (x.v as { action: Action }).action);
        merged = { kind: 'fixed', action: kinds.find((a) => a.kind === 'ALLOW') ?? kinds[0]! };
      } else if (vs.some((x) => x.v.kind === 'args')) {
        const seen = new Set<string>();
        const rules = vs
          .flatMap((x) => (x.v.kind === 'args' ? x.v.rules.filter((r) => allows(r.action)) : []))
          .filter((r) => {
            const k = key({ kind: 'args', rules: [{ ...r, rule: 0 }] });
            if (seen.has(k)) return false;
            seen.add(k);
            return true;
          });
        merged = { kind: 'args', rules };
        // exact when the ORed allow rules allow precisely what some input allows
        const argVerdicts = vs.map((x) => x.v);
        const mv: SyscallVerdict = { kind: 'args', rules, otherwise: def };
        const loose = argumentCases(argVerdicts).find(
          (a) =>
            allows(verdictFor(mv, a, abi.argBits)) &&
            !argVerdicts.some((v) => allows(verdictFor(v, a, abi.argBits))),
        );
        if (loose)
          conflicts.push(
            `${abi.id} ${name}: an input denies some argument values before allowing others; the merge allows (${loose.map((v) => `0x${v.toString(16)}`).join(', ')}) too`,
          );
      } else {
        const denials = vs.map((x) => (x.v as { action: Action }).action);
        const d = leastStrict(denials);
        // calls denied by every input's default differ only as the defaults do (reported above)
        const byDefault = vs.every((x) => x.v.kind === 'fixed' && x.v.by === 'default');
        if (!byDefault && new Set(denials.map(formatAction)).size > 1) {
          const why = `${vs.map((x, k) => `${x.from}: ${formatAction(denials[k]!)}`).join(', ')}: took ${formatAction(d)}, the least strict`;
          const g = denialConflicts.get(why) ?? { names: new Set<string>(), abis: new Set<string>() };
          g.names.add(name);
          g.abis.add(abi.id);
          denialConflicts.set(why, g);
        }
        merged = { kind: 'fixed', action: d };
      }
      byName.set(name, [...(byName.get(name) ?? []), { merged, abi }]);
    }
  }

  for (const [why, g] of denialConflicts)
    conflicts.push(`${[...g.names].sort().join(', ')} (${[...g.abis].join(', ')}): ${why}`);
  const fixed = new Map<string, { action: Action; names: string[] }>();
  const conditional: SyscallRule[] = [];
  const perHost: SyscallRule[] = [];
  for (const [name, list] of [...byName.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let m = list[0]!.merged;
    if (new Set(list.map((x) => key(x.merged))).size > 1) {
      // hosts that differ (clone's flags are argument 1 on s390x, 0 elsewhere): one rule per host
      // group, chosen by includes/excludes.arches (Go's names) as Docker's own profile does; the
      // group with the hosts Go has no name for (an archMap's mips64n32) is the excluding one. Only
      // the ABIs of one host cannot be told apart.
      const byHost = new Map<string, { merged: Merged; goArch: string | null }[]>();
      for (const x of list) {
        const host = hostOf(x.abi);
        byHost.set(host.id, [...(byHost.get(host.id) ?? []), { merged: x.merged, goArch: host.goArch }]);
      }
      const uniform = [...byHost.values()].every((g) => new Set(g.map((y) => key(y.merged))).size === 1);
      const groups = new Map<string, { merged: Merged; goArches: (string | null)[] }>();
      for (const g of byHost.values()) {
        const k = key(g[0]!.merged);
        const e = groups.get(k) ?? { merged: g[0]!.merged, goArches: [] };
        e.goArches.push(g[0]!.goArch);
        groups.set(k, e);
      }
      const list2 = [...groups.values()];
      const unnamed = list2.filter((g) => g.goArches.includes(null));
      if (uniform && list2.length > 1 && unnamed.length <= 1) {
        const wide = unnamed[0] ?? [...list2].sort((x, y) => y.goArches.length - x.goArches.length)[0]!;
        const others = list2.filter((g) => g !== wide).flatMap((g) => g.goArches as string[]);
        for (const g of list2) {
          const filter: Pick<SyscallRule, 'includes' | 'excludes'> =
            g === wide
              ? { excludes: { arches: [...new Set(others)].sort() } }
              : { includes: { arches: [...new Set(g.goArches as string[])].sort() } };
          if (g.merged.kind === 'fixed') {
            if (sameAction(g.merged.action, def)) continue;
            const r: SyscallRule = { names: [name], action: NAME[g.merged.action.kind], ...filter };
            if (g.merged.action.kind === 'ERRNO' || g.merged.action.kind === 'TRACE')
              r.errnoRet = g.merged.action.data;
            perHost.push(r);
          } else for (const r of g.merged.rules) perHost.push({ ...argRule(name, r), ...filter });
        }
        continue;
      }
      // Docker's format cannot tell the ABIs of one host apart: the most permissive wins
      const fixedAllow = list.find((x) => x.merged.kind === 'fixed' && allows(x.merged.action));
      const args = list.find((x) => x.merged.kind === 'args');
      m =
        fixedAllow?.merged ??
        args?.merged ??
        ({
          kind: 'fixed',
          action: leastStrict(list.map((x) => (x.merged as { action: Action }).action)),
        } as Merged);
      conflicts.push(
        `${name}: the ABIs differ (${list.map((x) => x.abi.id).join(', ')}); a profile cannot tell them apart, took the most permissive`,
      );
    }
    if (m.kind === 'fixed') {
      if (sameAction(m.action, def)) continue;
      const k = formatAction(m.action);
      const g = fixed.get(k) ?? { action: m.action, names: [] };
      g.names.push(name);
      fixed.set(k, g);
    } else for (const r of m.rules) conditional.push(argRule(name, r));
  }

  const profile: Profile = { defaultAction: NAME[def.kind] };
  if (def.kind === 'ERRNO' || def.kind === 'TRACE') profile.defaultErrnoRet = def.data;
  // archMap when any input has one (hosts united), else the architectures united
  if (inputs.some((i) => i.profile.archMap)) {
    const hosts = new Map<string, Set<string>>();
    for (const i of inputs) {
      const map: ArchMapEntry[] =
        i.profile.archMap ??
        targetArches(i.profile).map((a) => ({ architecture: a.scmp, subArchitectures: null }));
      for (const e of map) {
        const s = hosts.get(e.architecture) ?? new Set<string>();
        for (const sub of e.subArchitectures ?? []) s.add(sub);
        hosts.set(e.architecture, s);
      }
    }
    profile.archMap = [...hosts.entries()].map(([architecture, subs]) => ({
      architecture,
      subArchitectures: subs.size > 0 ? [...subs].sort() : null,
    }));
  } else profile.architectures = abis.map((a) => archById(a.id).scmp);
  const order = (a: Action) => (allows(a) ? 0 : 1);
  profile.syscalls = [
    ...[...fixed.values()]
      .sort(
        (a, b) =>
          order(a.action) - order(b.action) || (formatAction(a.action) < formatAction(b.action) ? -1 : 1),
      )
      .map((g): SyscallRule => {
        const r: SyscallRule = { names: g.names, action: NAME[g.action.kind] };
        if (g.action.kind === 'ERRNO' || g.action.kind === 'TRACE') r.errnoRet = g.action.data;
        return r;
      }),
    ...conditional,
    ...perHost,
  ];
  return { profile, conflicts };
}

/** The host ABI whose containers run `abi` too (x86 and x32 on x86_64, arm on aarch64, ...). */
function hostOf(abi: ArchDef): ArchDef {
  return ARCH_DEFS.find((h) => h.companions.includes(abi.id)) ?? abi;
}

function argRule(name: string, r: ConditionalRule): SyscallRule {
  const out: SyscallRule = {
    names: [name],
    action: NAME[r.action.kind],
    args: r.conditions.map(
      (c): ArgCondition => ({
        index: c.index,
        value: c.value,
        ...(c.op === 'SCMP_CMP_MASKED_EQ' ? { valueTwo: c.valueTwo } : {}),
        op: c.op,
      }),
    ),
  };
  if (r.action.kind === 'ERRNO' || r.action.kind === 'TRACE') out.errnoRet = r.action.data;
  return out;
}
