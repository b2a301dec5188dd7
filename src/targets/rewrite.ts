/**
 * Rewrites the argument rules of one syscall into an equivalent set (the same verdict for every
 * call on every ABI of the profile) that the runtime's libseccomp compiles exactly as written.
 * libseccomp's output depends on the rules' shapes, values and order in ways no simple normal form
 * avoids, so this is a search judged by the model of libseccomp (src/libseccomp/): candidates are
 * the rules reordered where order does not change the meaning, with other spellings of the same
 * comparisons (a <= v as a < v+1, ...), made disjoint (each rule minus the earlier rules with
 * another action), and with small ranges spelt out value by value. The first candidate that keeps
 * the meaning and has no difference under the runtime wins. Tests hold every proposal to the real
 * library.
 */
import { syscallTable } from '../arch/tables.js';
import { verificationCases } from '../compiler/cases.js';
import { sameAction, toAction } from '../profile/actions.js';
import { evaluateData } from '../profile/evaluate.js';
import type { ArgCondition, Operator, Profile, SyscallRule } from '../profile/model.js';
import { ruleNames } from '../profile/model.js';
import { buildPolicy } from '../profile/policy.js';
import { resolve } from '../profile/resolve.js';
import { exactDifference } from './exact-diff.js';
import type { RuntimeTarget } from './target.js';
import { runtimeFilter } from './verdict.js';

const MAX = (1n << 64n) - 1n;
/** Candidates tried per syscall before giving up. */
const BUDGET = 200;
/**
 * Constraint steps (targets/exact-diff.ts) all candidates of one syscall may use together: the
 * exact check of a candidate is exponential in its rules, and an adversarial rule set would
 * otherwise make one search take minutes. Past it no rewrite is proposed (never a wrong one).
 */
const STEPS = 400_000;
/** Ranges of up to this many values may be spelt out one value per rule. */
const ENUMERATE = 16;
/** An interval may be written as up to this many aligned blocks (one MASKED_EQ rule each). */
const BLOCKS = 24;

export interface Rewrite {
  /** The rules for the syscall that replace every rule naming it. */
  rules: SyscallRule[];
  /** The rules as Docker JSON, for messages. */
  text: string;
  /** The ABIs the rewrite was checked on. */
  abis: string[];
}

interface ReviewLike {
  profile: Profile;
  target: RuntimeTarget;
  capabilities: readonly string[];
  kernelVersion: string;
}

/** A rewrite of `name`'s rules for the lint context's profile and runtime, when one is found. */
export function proposeRewrite(ctx: ReviewLike, name: string): Rewrite | undefined {
  const resolved = resolve(ctx.profile, {
    arch: ctx.target.native,
    capabilities: ctx.capabilities,
    kernelVersion: ctx.kernelVersion,
  });
  return rewriteSyscall(resolved, ctx.target, name);
}

/**
 * The rules of `name` only (each rule of the profile that names it, restricted to that name), in
 * the form runc gives libseccomp: a rule that repeats an argument index is one rule per condition.
 */
function rulesOf(p: Profile, name: string): SyscallRule[] {
  return (p.syscalls ?? [])
    .filter((r) => ruleNames(r).includes(name))
    .flatMap((r) => {
      const out: SyscallRule = { names: [name], action: r.action };
      if (r.errnoRet !== undefined) out.errnoRet = r.errnoRet;
      const args = r.args ?? [];
      if (args.length === 0) return [out];
      const repeats = new Set(args.map((a) => a.index)).size < args.length;
      return repeats
        ? args.map((a) => ({ ...out, args: [{ ...a }] }))
        : [{ ...out, args: args.map((a) => ({ ...a })) }];
    });
}

/** The profile with `name`'s rules replaced by `rules`, placed where its first rule was. */
export function replaceRules(p: Profile, name: string, rules: readonly SyscallRule[]): Profile {
  const out: SyscallRule[] = [];
  let placed = false;
  for (const r of p.syscalls ?? []) {
    const names = ruleNames(r);
    if (!names.includes(name)) {
      out.push(r);
      continue;
    }
    if (!placed) {
      out.push(...rules);
      placed = true;
    }
    const rest = names.filter((n) => n !== name);
    if (rest.length > 0) {
      const { name: _single, ...copy } = r;
      void _single;
      out.push({ ...copy, names: rest });
    }
  }
  return { ...p, syscalls: out };
}

/** The syscall numbers (per AUDIT_ARCH value) that `name` reaches: its own, and its multiplexer's. */
function numbersOf(p: Profile, target: RuntimeTarget, name: string): (arch: number, nr: number) => boolean {
  const policy = buildPolicy(p, { nativeArch: target.native });
  const nrs = new Map<number, Set<number>>();
  for (const a of policy.arches) {
    const t = syscallTable(a);
    const set = nrs.get(a.auditArch) ?? new Set<number>();
    const nr = t.number(name);
    if (nr !== undefined) set.add(nr);
    for (const m of a.multiplexers) if (m.calls[name] !== undefined) set.add(t.number(m.syscall) ?? -1);
    nrs.set(a.auditArch, set);
  }
  return (arch, nr) => nrs.get(arch >>> 0)?.has(nr >>> 0) ?? false;
}

/** The calls that matter for `name`: its numbers on every ABI (and the multiplexer's sub-calls). */
function casesFor(p: Profile, target: RuntimeTarget, name: string) {
  return verificationCases(buildPolicy(p, { nativeArch: target.native }), numbersOf(p, target, name));
}

/**
 * A reference profile's verdicts on `name`'s calls, computed once: candidates are compared with it
 * on the reference's cases and on each candidate's own (their boundary values differ).
 */
class Reference {
  private readonly own: { arch: number; nr: number; args: bigint[] }[];
  private readonly verdicts: ReturnType<typeof evaluateData>[];
  private readonly o: { nativeArch: RuntimeTarget['native']; badArchAction: 'KILL_THREAD' };
  constructor(
    private readonly profile: Profile,
    private readonly target: RuntimeTarget,
    private readonly name: string,
  ) {
    this.o = { nativeArch: target.native, badArchAction: 'KILL_THREAD' };
    this.own = [...casesFor(profile, target, name)];
    this.verdicts = this.own.map((c) => evaluateData(profile, c, this.o));
  }
  /** `b` answers every call of `name` as the reference does. */
  sameMeaning(b: Profile): boolean {
    for (const [i, c] of this.own.entries())
      if (!sameAction(this.verdicts[i]!, evaluateData(b, c, this.o))) return false;
    for (const c of casesFor(b, this.target, this.name))
      if (!sameAction(evaluateData(this.profile, c, this.o), evaluateData(b, c, this.o))) return false;
    return true;
  }
}

/**
 * libseccomp (under `target`) answers every call of `name` as the profile says: decided exactly on
 * each of its numbers (targets/exact-diff.ts: every path of the filter, every argument value).
 */
function compilesRight(
  p: Profile,
  target: RuntimeTarget,
  name: string,
  allowance: { steps: number },
): boolean {
  const rf = runtimeFilter(p, target);
  if (rf.refused) return false;
  const only = numbersOf(p, target, name);
  for (const a of rf.policy.arches) {
    const t = syscallTable(a);
    const numbers = [
      t.number(name),
      ...a.multiplexers.filter((m) => m.calls[name] !== undefined).map((m) => t.number(m.syscall)),
    ];
    for (const nr of numbers) {
      if (nr === undefined || !only(a.auditArch, nr)) continue;
      const x = exactDifference(rf, a, nr, allowance);
      if ('unsupported' in x || x.differs) return false;
    }
  }
  return true;
}

/**
 * Rewrites `name`'s rules in a resolved profile so that libseccomp compiles them exactly under
 * `target` (and every target of `also`); undefined when no candidate works.
 */
export function rewriteSyscall(
  resolved: Profile,
  target: RuntimeTarget,
  name: string,
  also: readonly RuntimeTarget[] = [],
): Rewrite | undefined {
  const targets = [target, ...also];
  const original = rulesOf(resolved, name);
  if (original.length === 0) return undefined;
  // screened on a profile of this syscall alone (fast), then confirmed on the whole profile
  const alone: Profile = { ...resolved, syscalls: original };
  const aloneRef = new Reference(alone, target, name);
  let resolvedRef: Reference | undefined;
  const allowance = { steps: STEPS };
  const right = (p: Profile) => targets.every((t) => compilesRight(p, t, name, allowance));
  let tried = 0;
  for (const cand of candidates(original)) {
    if (++tried > BUDGET || allowance.steps <= 0) break;
    const small = { ...resolved, syscalls: cand };
    // (most candidates keep the meaning by construction and fail under libseccomp: that check first)
    if (!right(small)) continue;
    if (!aloneRef.sameMeaning(small)) continue;
    const full = replaceRules(resolved, name, cand);
    resolvedRef ??= new Reference(resolved, target, name);
    if (!resolvedRef.sameMeaning(full) || !right(full)) continue;
    const abis = buildPolicy(full, { nativeArch: target.native }).arches.map((a) => a.id);
    return { rules: cand, text: JSON.stringify(cand.map(toJson)), abis };
  }
  return undefined;
}

function toJson(r: SyscallRule): unknown {
  return {
    names: r.names,
    action: r.action,
    ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
    ...(r.args
      ? {
          args: r.args.map((a) => ({
            index: a.index,
            value:
              Number(a.value) <= Number.MAX_SAFE_INTEGER && a.value <= BigInt(Number.MAX_SAFE_INTEGER)
                ? Number(a.value)
                : a.value.toString(),
            valueTwo:
              a.valueTwo === undefined
                ? 0
                : a.valueTwo <= BigInt(Number.MAX_SAFE_INTEGER)
                  ? Number(a.valueTwo)
                  : a.valueTwo.toString(),
            op: a.op,
          })),
        }
      : {}),
  };
}

// ---- candidates -------------------------------------------------------------------------------

type Spelling = (c: ArgCondition) => ArgCondition;
const cond = (index: number, op: Operator, value: bigint, valueTwo?: bigint): ArgCondition =>
  valueTwo === undefined ? { index, op, value } : { index, op, value, valueTwo };

/** Other spellings of the same comparison. */
const SPELLINGS: Spelling[] = [
  (c) => c,
  (c) =>
    c.op === 'SCMP_CMP_LE' && c.value < MAX
      ? cond(c.index, 'SCMP_CMP_LT', c.value + 1n)
      : c.op === 'SCMP_CMP_GE' && c.value > 0n
        ? cond(c.index, 'SCMP_CMP_GT', c.value - 1n)
        : c,
  (c) =>
    c.op === 'SCMP_CMP_LT' && c.value > 0n
      ? cond(c.index, 'SCMP_CMP_LE', c.value - 1n)
      : c.op === 'SCMP_CMP_GT' && c.value < MAX
        ? cond(c.index, 'SCMP_CMP_GE', c.value + 1n)
        : c,
  (c) => (c.op === 'SCMP_CMP_EQ' ? cond(c.index, 'SCMP_CMP_MASKED_EQ', MAX, c.value) : c),
];

const actionKey = (r: SyscallRule) => {
  const a = toAction(r.action, r.errnoRet);
  return `${a.kind}/${a.data}`;
};

/** The set of values a condition accepts, as an interval when it is one (64-bit view). */
function interval(c: ArgCondition): [bigint, bigint] | undefined {
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      return [c.value, c.value];
    case 'SCMP_CMP_LT':
      return c.value === 0n ? [1n, 0n] : [0n, c.value - 1n];
    case 'SCMP_CMP_LE':
      return [0n, c.value];
    case 'SCMP_CMP_GT':
      return c.value === MAX ? [1n, 0n] : [c.value + 1n, MAX];
    case 'SCMP_CMP_GE':
      return [c.value, MAX];
    default:
      return undefined;
  }
}

function holds(c: ArgCondition, v: bigint): boolean {
  switch (c.op) {
    case 'SCMP_CMP_NE':
      return v !== c.value;
    case 'SCMP_CMP_MASKED_EQ':
      return (v & c.value) === ((c.valueTwo ?? 0n) & c.value);
    default: {
      const [lo, hi] = interval(c)!;
      return v >= lo && v <= hi;
    }
  }
}

/** Conditions (as alternative rules' worth of one condition each) for an interval. */
function fromInterval(index: number, lo: bigint, hi: bigint): ArgCondition[][] | undefined {
  if (lo > hi) return [];
  if (lo === hi) return [[cond(index, 'SCMP_CMP_EQ', lo)]];
  if (lo === 0n) return [[cond(index, 'SCMP_CMP_LE', hi)]];
  if (hi === MAX) return [[cond(index, 'SCMP_CMP_GE', lo)]];
  if (hi - lo < BigInt(ENUMERATE)) {
    const out: ArgCondition[][] = [];
    for (let v = lo; v <= hi; v++) out.push([cond(index, 'SCMP_CMP_EQ', v)]);
    return out;
  }
  // aligned blocks: [lo, hi] as a union of (x & ~(2^k - 1)) == base tests
  const out: ArgCondition[][] = [];
  let at = lo;
  while (at <= hi) {
    let k = 0n;
    while (k < 64n && (at & ((1n << (k + 1n)) - 1n)) === 0n && at + (1n << (k + 1n)) - 1n <= hi) k++;
    out.push([cond(index, 'SCMP_CMP_MASKED_EQ', MAX & ~((1n << k) - 1n), at)]);
    if (out.length > BLOCKS) return undefined;
    const next = at + (1n << k);
    if (next > MAX) break;
    at = next;
  }
  return out;
}

/**
 * a AND b on one argument, as a list of alternatives (each one condition), [] when nothing
 * satisfies both, undefined when it cannot be written with one condition per alternative.
 */
function both(a: ArgCondition, b: ArgCondition): ArgCondition[][] | undefined {
  if (a.op === b.op && a.value === b.value && (a.valueTwo ?? 0n) === (b.valueTwo ?? 0n)) return [[a]];
  if (a.op === 'SCMP_CMP_MASKED_EQ' && b.op === 'SCMP_CMP_MASKED_EQ') {
    // (x & m1) == v1 and (x & m2) == v2: one test on m1|m2 when the shared bits agree
    const v1 = (a.valueTwo ?? 0n) & a.value;
    const v2 = (b.valueTwo ?? 0n) & b.value;
    if ((v1 & b.value) !== (v2 & a.value)) return [];
    return [[cond(a.index, 'SCMP_CMP_MASKED_EQ', a.value | b.value, v1 | v2)]];
  }
  if (a.op === 'SCMP_CMP_EQ') return holds(b, a.value) ? [[a]] : [];
  if (b.op === 'SCMP_CMP_EQ') return holds(a, b.value) ? [[b]] : [];
  const ia = interval(a);
  const ib = interval(b);
  if (ia && ib) {
    // biome-ignore lint/complexity/useMathMinMax: bigints (Math.max does not take them)
    const lo = ia[0] > ib[0] ? ia[0] : ib[0];
    // biome-ignore lint/complexity/useMathMinMax: bigints
    const hi = ia[1] < ib[1] ? ia[1] : ib[1];
    return fromInterval(a.index, lo, hi);
  }
  const ne = a.op === 'SCMP_CMP_NE' ? a : b.op === 'SCMP_CMP_NE' ? b : undefined;
  const other = ne === a ? b : a;
  const io = interval(other);
  if (ne && io) {
    const [lo, hi] = io;
    if (ne.value < lo || ne.value > hi) return [[other]];
    const parts = [
      ...(ne.value > lo ? (fromInterval(a.index, lo, ne.value - 1n) ?? [undefined]) : []),
      ...(ne.value < hi ? (fromInterval(a.index, ne.value + 1n, hi) ?? [undefined]) : []),
    ];
    return parts.some((p) => p === undefined) ? undefined : (parts as ArgCondition[][]);
  }
  return undefined;
}

/** NOT c, as alternatives. */
function negate(c: ArgCondition): ArgCondition[] | undefined {
  switch (c.op) {
    case 'SCMP_CMP_EQ':
      return [cond(c.index, 'SCMP_CMP_NE', c.value)];
    case 'SCMP_CMP_NE':
      return [cond(c.index, 'SCMP_CMP_EQ', c.value)];
    case 'SCMP_CMP_LT':
      return [cond(c.index, 'SCMP_CMP_GE', c.value)];
    case 'SCMP_CMP_LE':
      return [cond(c.index, 'SCMP_CMP_GT', c.value)];
    case 'SCMP_CMP_GT':
      return [cond(c.index, 'SCMP_CMP_LE', c.value)];
    case 'SCMP_CMP_GE':
      return [cond(c.index, 'SCMP_CMP_LT', c.value)];
    case 'SCMP_CMP_MASKED_EQ': {
      // (a & m) != v: some bit of m differs
      const out: ArgCondition[] = [];
      const want = (c.valueTwo ?? 0n) & c.value;
      for (let bit = 0n; bit < 64n; bit++) {
        const m = 1n << bit;
        if ((c.value & m) === 0n) continue;
        out.push(cond(c.index, 'SCMP_CMP_MASKED_EQ', m, ~want & m));
        if (out.length > 16) return undefined;
      }
      return out;
    }
  }
}

/** A conjunction of conditions plus one more, as alternatives (one condition per index each). */
function conjoin(conds: readonly ArgCondition[], extra: ArgCondition): ArgCondition[][] | undefined {
  const same = conds.find((c) => c.index === extra.index);
  if (!same) return [[...conds, extra]];
  const merged = both(same, extra);
  if (merged === undefined) return undefined;
  const rest = conds.filter((c) => c !== same);
  return merged.map((m) => [...rest, ...m]);
}

/** Each rule minus every earlier rule with another action: the same decision list, disjoint. */
function disjoint(rules: readonly SyscallRule[]): SyscallRule[] | undefined {
  const out: SyscallRule[] = [];
  for (let k = 0; k < rules.length; k++) {
    let alts: ArgCondition[][] = [[...(rules[k]!.args ?? [])]];
    for (let j = 0; j < k; j++) {
      if (actionKey(rules[j]!) === actionKey(rules[k]!)) continue;
      const earlier = rules[j]!.args ?? [];
      if (earlier.length === 0) {
        alts = [];
        break;
      }
      // AND NOT(c1 AND c2 ...) = OR over i of (c1 .. c(i-1) AND NOT ci)
      const next: ArgCondition[][] = [];
      for (const alt of alts) {
        for (let i = 0; i < earlier.length; i++) {
          const negs = negate(earlier[i]!);
          if (!negs) return undefined;
          for (const n of negs) {
            let parts: ArgCondition[][] | undefined = [alt];
            for (const c of [...earlier.slice(0, i), n]) {
              const grown: ArgCondition[][] = [];
              for (const p of parts ?? []) {
                const r = conjoin(p, c);
                if (r === undefined) return undefined;
                grown.push(...r);
              }
              parts = grown;
            }
            next.push(...(parts ?? []));
          }
        }
      }
      alts = next;
      if (alts.length > 64) return undefined;
    }
    for (const a of alts) {
      const r: SyscallRule = { ...rules[k]!, names: [...(rules[k]!.names ?? [])] };
      if (a.length > 0) r.args = a;
      else delete r.args;
      out.push(r);
    }
  }
  return out;
}

const sameCond = (x: ArgCondition, y: ArgCondition) =>
  x.index === y.index && x.op === y.op && x.value === y.value && (x.valueTwo ?? 0n) === (y.valueTwo ?? 0n);

/** Without the rules an earlier rule always decides first (its conditions are among theirs). */
function withoutShadowed(rules: readonly SyscallRule[]): SyscallRule[] | undefined {
  const out: SyscallRule[] = [];
  for (const r of rules) {
    const mine = r.args ?? [];
    const shadowed = out.some((e) => (e.args ?? []).every((c) => mine.some((m) => sameCond(c, m))));
    if (!shadowed) out.push(r);
  }
  return out.length < rules.length ? out : undefined;
}

/** Ranges small enough spelt out value by value. */
function spelledOut(rules: readonly SyscallRule[]): SyscallRule[] | undefined {
  const out: SyscallRule[] = [];
  let changed = false;
  for (const r of rules) {
    const args = r.args ?? [];
    const small = args.find((c) => {
      const i = interval(c);
      return i !== undefined && i[0] < i[1] && i[1] - i[0] < BigInt(ENUMERATE);
    });
    if (!small) {
      out.push(r);
      continue;
    }
    changed = true;
    const [lo, hi] = interval(small)!;
    for (let v = lo; v <= hi; v++)
      out.push({ ...r, args: args.map((c) => (c === small ? cond(c.index, 'SCMP_CMP_EQ', v) : c)) });
  }
  return changed ? out : undefined;
}

function* orders(rules: SyscallRule[]): Generator<SyscallRule[]> {
  yield rules;
  if (rules.length <= 1) return;
  yield [...rules].reverse();
  if (rules.length > 5) return;
  const perm = (xs: SyscallRule[]): SyscallRule[][] =>
    xs.length <= 1
      ? [xs]
      : xs.flatMap((x, i) => perm([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  for (const p of perm(rules)) yield p;
}

function* candidates(given: SyscallRule[]): Generator<SyscallRule[]> {
  const original = withoutShadowed(given) ?? given;
  const bases: SyscallRule[][] = [original];
  const d = disjoint(original);
  if (d) bases.push(d);
  for (const b of [...bases]) {
    const s = spelledOut(b);
    if (s) bases.push(s);
  }
  for (const base of bases)
    for (const spell of SPELLINGS)
      for (const order of orders(base))
        yield order.map((r) => (r.args ? { ...r, args: r.args.map(spell) } : r));
}
