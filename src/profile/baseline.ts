/**
 * Never weaker than Docker's default: a profile sysfence writes allows no call, and no argument
 * value of a call, that Docker's default profile denies (resolved for the profile's host ABI,
 * Docker's default capabilities and the default kernel), unless the user names the call
 * (`allowBeyond`). `boundToBaseline` rewrites the allowing rules of a profile to stay inside:
 *
 * - a call Docker's default allows unconditionally keeps its rule;
 * - a call it denies whatever the arguments (mount, bpf, clone3 ...) is left to the profile's
 *   default and said;
 * - a call it allows only for some argument values (clone without CLONE_NEW* flags, socket for
 *   families other than AF_ALG and AF_VSOCK, personality for five values) gets Docker's argument
 *   rules, intersected with the profile's own (a recorded value inside them is kept as it is; one
 *   outside them is dropped and said).
 *
 * Which calls a name covers is decided per name: Docker's default, resolved for one host, gives a
 * name the same rules on every ABI of its filter (includes.arches selects by host, not by ABI).
 * The proof that the result is inside is `review/baseline-proof.ts` (the semantic diff).
 */
import { ARCH_DEFS } from '../arch/defs.js';
import { findArch, syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { DOCKER_DEFAULT_CAPABILITIES } from './capabilities.js';
import { conditionHolds } from './evaluate.js';
import { type ArgCondition, type Profile, ruleNames, type SyscallRule } from './model.js';
import { REFERENCE_PROFILES, type ReferenceName, referenceProfile } from './reference-profiles.js';
import { DEFAULT_KERNEL, resolve } from './resolve.js';

export { DEFAULT_KERNEL } from './resolve.js';

/** The default every profile is held to, unless more are given (BaselineOptions.references). */
export const DEFAULT_REFERENCES: readonly ReferenceName[] = ['docker-default'];

export interface BaselineOptions {
  /**
   * The host ABIs the profile is for (profileHosts): Docker's default is resolved for each, and a
   * call is judged by the hosts whose ABIs have it.
   */
  hosts: readonly ArchDef[];
  kernelVersion?: string;
  /** The container's capabilities (Docker's default set unless said). */
  capabilities?: readonly string[];
  /** Calls the user allows beyond Docker's default, by name: their rules are kept as they are. */
  allowBeyond?: readonly string[];
  /**
   * The defaults held to (Docker's unless said): with several, a call is allowed only as far as every
   * one allows it (a containerd pod's profile: Docker's default and containerd's RuntimeDefault).
   */
  references?: readonly ReferenceName[];
}

/** How Docker's default answers one name: always allowed, never, or for these argument rules. */
export type BaselineVerdict =
  | { kind: 'all' }
  | { kind: 'none'; action: string }
  | { kind: 'some'; rules: ArgCondition[][] };

export interface BaselineChange {
  name: string;
  /** 'denied': left to the default; 'narrowed': allowed only under Docker's argument rules. */
  kind: 'denied' | 'narrowed';
  /** What Docker's default does with the call, in words. */
  why: string;
  /** Recorded argument values (rules) dropped because Docker's default denies them. */
  dropped?: string[];
}

export interface BaselineResult {
  profile: Profile;
  changes: BaselineChange[];
  /** Allowed beyond Docker's default because the user named them. */
  beyond: string[];
}

const ALLOWING = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']);

/**
 * The host ABIs a profile is for: its archMap hosts, or the architectures it lists that are not
 * a companion of another listed one (x86 rides on x86_64); x86_64 when it names none.
 */
export function profileHosts(p: Profile): ArchDef[] {
  const listed = new Set<string>([
    ...(p.archMap ?? []).map((m) => m.architecture),
    ...(p.architectures ?? []),
  ]);
  const defs = ARCH_DEFS.filter((a) => listed.has(a.scmp));
  const hosts = p.archMap?.length
    ? defs
    : defs.filter((a) => !defs.some((b) => b.id !== a.id && b.companions.includes(a.id)));
  return hosts.length > 0 ? hosts : [findArch('x86_64')!];
}

/** The ABIs a host runs (itself and its companions). */
export const hostAbis = (host: ArchDef): ArchDef[] => [host, ...host.companions.map((c) => findArch(c)!)];

/** A default profile (Docker's, containerd's) as the engine resolves it for this host, capabilities and kernel. */
export function defaultBaseline(o: {
  host: ArchDef;
  kernelVersion?: string;
  capabilities?: readonly string[];
  reference: ReferenceName;
}): Profile {
  return resolve(referenceProfile(o.reference), {
    arch: o.host,
    capabilities: o.capabilities ?? DOCKER_DEFAULT_CAPABILITIES,
    kernelVersion: o.kernelVersion ?? DEFAULT_KERNEL,
  });
}

/** Per name, Docker's default's verdict (names it does not list: denied by its default). */
export function baselineVerdicts(base: Profile): (name: string) => BaselineVerdict {
  const byName = new Map<string, SyscallRule[]>();
  for (const r of base.syscalls ?? [])
    for (const n of ruleNames(r)) byName.set(n, [...(byName.get(n) ?? []), r]);
  return (name) => {
    const rules = byName.get(name) ?? [];
    const unconditional = rules.find((r) => !r.args?.length);
    if (unconditional)
      return ALLOWING.has(unconditional.action)
        ? { kind: 'all' }
        : { kind: 'none', action: describeDenial(unconditional) };
    const allowing = rules.filter((r) => ALLOWING.has(r.action)).map((r) => r.args ?? []);
    if (allowing.length > 0) return { kind: 'some', rules: allowing };
    return {
      kind: 'none',
      action: describeDenial({ action: base.defaultAction, errnoRet: base.defaultErrnoRet }),
    };
  };
}

function describeDenial(r: { action: string; errnoRet?: number | undefined }): string {
  const a = r.action.replace(/^SCMP_ACT_/, '');
  return a === 'ERRNO' && r.errnoRet !== undefined ? `ERRNO(${r.errnoRet})` : a;
}

/**
 * Per name, Docker's default's verdict over several hosts: the verdict of the hosts whose ABIs have
 * the name (arch_prctl is x86_64's, whatever else the profile is for); where they differ, the
 * strictest that one profile rule can carry (else denied: the rules would need to differ by host).
 */
export function hostsVerdict(o: Omit<BaselineOptions, 'allowBeyond'>): (name: string) => BaselineVerdict {
  const per = o.hosts.flatMap((host) =>
    (o.references ?? DEFAULT_REFERENCES).map((reference) => ({
      abis: hostAbis(host),
      verdict: baselineVerdicts(
        defaultBaseline({
          host,
          reference,
          ...(o.kernelVersion !== undefined ? { kernelVersion: o.kernelVersion } : {}),
          ...(o.capabilities !== undefined ? { capabilities: o.capabilities } : {}),
        }),
      ),
    })),
  );
  const key = (v: BaselineVerdict) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}` : x));
  return (name) => {
    const relevant = per.filter((h) => h.abis.some((a) => syscallTable(a).number(name) !== undefined));
    const verdicts = (relevant.length > 0 ? relevant : per).map((h) => h.verdict(name));
    const none = verdicts.find((v) => v.kind === 'none');
    if (none) return none;
    const some = verdicts.filter((v) => v.kind === 'some');
    if (some.length === 0) return { kind: 'all' };
    if (new Set(some.map(key)).size === 1) return some[0]!;
    return { kind: 'none', action: 'a different argument rule on each host the profile is for' };
  };
}

/** `index op value` as a reader says it. */
export function describeCondition(c: ArgCondition): string {
  const hex = (v: bigint) => (v > 9n ? `0x${v.toString(16)}` : v.toString());
  const op = c.op.replace(/^SCMP_CMP_/, '');
  if (c.op === 'SCMP_CMP_MASKED_EQ') return `(arg${c.index} & ${hex(c.value)}) == ${hex(c.valueTwo ?? 0n)}`;
  const sym = { NE: '!=', LT: '<', LE: '<=', EQ: '==', GE: '>=', GT: '>' }[op] ?? op;
  return `arg${c.index} ${sym} ${hex(c.value)}`;
}

const describeRules = (rules: ArgCondition[][]) =>
  rules.map((r) => (r.length === 0 ? 'any arguments' : r.map(describeCondition).join(' and '))).join(', or ');

const sameCondition = (a: ArgCondition, b: ArgCondition) =>
  a.index === b.index && a.op === b.op && a.value === b.value && (a.valueTwo ?? 0n) === (b.valueTwo ?? 0n);

/**
 * The conjunction of two rules' conditions as one rule's conditions (runtimes split a rule that
 * repeats an argument index into rules that are ORed, so each index may appear once): undefined
 * when no argument values satisfy both, 'inexpressible' when one rule cannot say it (never for
 * the rules sysfence generates: theirs are EQ on recorded values, or Docker's own).
 */
export function conjoin(
  a: readonly ArgCondition[],
  b: readonly ArgCondition[],
): ArgCondition[] | undefined | 'inexpressible' {
  const byIndex = new Map<number, ArgCondition[]>();
  for (const c of [...a, ...b]) {
    const list = byIndex.get(c.index) ?? [];
    if (!list.some((x) => sameCondition(x, c))) list.push(c);
    byIndex.set(c.index, list);
  }
  const out: ArgCondition[] = [];
  for (const index of [...byIndex.keys()].sort((x, y) => x - y)) {
    const list = byIndex.get(index)!;
    if (list.length === 1) {
      out.push(list[0]!);
      continue;
    }
    // one equality decides it: the value satisfies the others (in 64 and in 32 bits alike), or nothing does
    const eq = list.find((c) => c.op === 'SCMP_CMP_EQ');
    if (!eq) return 'inexpressible';
    const holds = (bits: 32 | 64) =>
      list.every((c) => conditionHolds({ ...c, valueTwo: c.valueTwo ?? 0n }, eq.value, bits));
    if (holds(64) !== holds(32)) return 'inexpressible';
    if (!holds(64)) return undefined;
    out.push(eq);
  }
  return out;
}

/**
 * The profile with every allowing rule kept inside Docker's default (see the file comment). Rules
 * that deny, and names in `allowBeyond`, are left as they are.
 */
export function boundToBaseline(profile: Profile, o: BaselineOptions): BaselineResult {
  const verdict = hostsVerdict(o);
  const held = (o.references ?? DEFAULT_REFERENCES).map((r) => REFERENCE_PROFILES[r]).join(' or ');
  const beyondAsked = new Set(o.allowBeyond ?? []);
  const beyond = new Set<string>();
  const changes = new Map<string, BaselineChange>();
  const out: SyscallRule[] = [];
  const seen = new Set<string>();
  const push = (r: SyscallRule) => {
    const key = JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v));
    if (seen.has(key)) return;
    seen.add(key);
    out.push(r);
  };
  for (const rule of profile.syscalls ?? []) {
    if (!ALLOWING.has(rule.action)) {
      push(rule);
      continue;
    }
    const keep: string[] = [];
    const narrowed: SyscallRule[] = [];
    for (const name of ruleNames(rule)) {
      const v = verdict(name);
      if (v.kind === 'all') {
        keep.push(name);
        continue;
      }
      if (beyondAsked.has(name)) {
        beyond.add(name);
        keep.push(name);
        continue;
      }
      if (v.kind === 'none') {
        changes.set(name, {
          name,
          kind: 'denied',
          why: `${held} denies it (${v.action}) whatever the arguments`,
        });
        continue;
      }
      const mine = rule.args ?? [];
      const results: ArgCondition[][] = [];
      for (const theirs of v.rules) {
        const both = conjoin(mine, theirs);
        if (both !== undefined && both !== 'inexpressible') results.push(both);
      }
      // the rule's own values lie inside Docker's rules: it stays as it is, nothing to say
      const same = (c: ArgCondition[]) =>
        c.length === mine.length && c.every((x, i) => sameCondition(x, mine[i]!));
      const { name: _n, names: _ns, args: _a, comment: _c, ...rest } = rule;
      if (mine.length > 0 && results.length > 0 && results.every(same)) {
        narrowed.push({
          ...rest,
          names: [name],
          args: mine,
          ...(rule.comment ? { comment: rule.comment } : {}),
        });
        continue;
      }
      for (const both of results)
        narrowed.push({
          ...rest,
          names: [name],
          ...(both.length > 0 ? { args: both } : {}),
          comment: `Docker's default allows ${name} only for ${describeRules(v.rules)}`,
        });
      const prev = changes.get(name);
      const dropped =
        mine.length > 0 && results.length === 0 ? [mine.map(describeCondition).join(' and ')] : [];
      changes.set(name, {
        name,
        kind: results.length > 0 || prev?.kind === 'narrowed' ? 'narrowed' : 'denied',
        why: `${held} allows it only for ${describeRules(v.rules)}`,
        ...(prev?.dropped || dropped.length > 0 ? { dropped: [...(prev?.dropped ?? []), ...dropped] } : {}),
      });
    }
    if (keep.length > 0) {
      if (rule.names) push({ ...rule, names: keep });
      else push(rule);
    }
    for (const r of narrowed) push(r);
  }
  const result: Profile = { ...profile, syscalls: out };
  if (profile.syscalls === undefined) delete result.syscalls;
  else if (profile.syscalls === null) result.syscalls = null;
  return {
    profile: result,
    changes: [...changes.values()].sort((a, b) => (a.name < b.name ? -1 : 1)),
    beyond: [...beyond].sort(),
  };
}
