/**
 * generate: Recordings -> an allow-list Profile. A pure, deterministic function.
 *
 * Calls the trace cannot be relied on to show are added (DESIGN: "calls that follow from others"):
 * exit and exit_group always (strace -c and perf never list them); rt_sigreturn (sigreturn on
 * 32-bit ABIs) and restart_syscall once a signal handler is installed or the program sleeps.
 */

import { ARCH_DEFS } from '../arch/defs.js';
import { archById, syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { type ArchMapping, mapToArch } from '../knowledge/arch-equivalents.js';
import { CLONE_NAMESPACE_FLAGS, type FamilyAddition, familyAdditions } from '../knowledge/call-families.js';
import { ENOSYS_PROBED } from '../knowledge/probed-calls.js';
import type { RuntimeSet } from '../knowledge/runtime-sets.js';
import { riskyNames } from '../knowledge/syscall-info.js';
import type { Recording } from '../recording/recording.js';
import {
  type BaselineChange,
  boundToBaseline,
  DEFAULT_KERNEL,
  DEFAULT_REFERENCES,
  hostsVerdict,
  profileHosts,
} from './baseline.js';
import { ENOSYS, EPERM } from './errno.js';
import type { ArgCondition, Profile, SyscallRule } from './model.js';
import { type Provenance, provenanceComment } from './provenance.js';
import type { ReferenceName } from './reference-profiles.js';

export type DefaultDeny = 'enosys' | 'eperm' | 'kill';

export interface GenerateOptions {
  /** What unrecorded calls get: ERRNO(ENOSYS) (default: glibc and libuv fall back), ERRNO(EPERM) or KILL_PROCESS. */
  deny?: DefaultDeny;
  /** Add the companion ABIs (x86_64: x86 and x32; aarch64: arm; ...) through an archMap. */
  companions?: boolean;
  /** Argument rules from recorded values, where they make a tight, safe rule (see argRules). */
  args?: boolean;
  /** The container runtime's own calls after it installs the filter (knowledge/runtime-sets). */
  runtime?: RuntimeSet;
  /**
   * Deny the calls libraries probe (knowledge/probed-calls) with ENOSYS by an explicit rule, whatever
   * the default action (default true): runtimes that ignore defaultErrnoRet (Docker 20.10) and
   * `--deny eperm|kill` would otherwise break the libraries' fallbacks.
   */
  probed?: boolean;
  /**
   * Only what was recorded (and implied): no call-family siblings (knowledge/call-families).
   * Default false: a recording shows one member of a family, the next input needs another.
   */
  exact?: boolean;
  /**
   * The ABIs the profile is for, when not the recorded ones: what was recorded is mapped to what
   * the same program calls there (knowledge/arch-equivalents: open -> openat on aarch64, ...).
   */
  arch?: readonly ArchId[];
  /**
   * Calls allowed even where Docker's default denies them (or allows them only for some argument
   * values), by name. Every other call stays inside Docker's default (profile/baseline.ts).
   */
  allowBeyondDefault?: readonly string[];
  /**
   * The defaults the profile is held to, besides Docker's: a containerd pod's profile is also held
   * to containerd's RuntimeDefault (the profile it replaces). Default: Docker's alone.
   */
  baselines?: readonly ReferenceName[];
  /** Kernel version Docker's default is resolved for (its minKernel rules); default 6.1. */
  kernelVersion?: string;
  /** What the recorded programs' code can call (static reach, sysfence reach), and what that gets. */
  predicted?: PredictedCalls;
}

/** What a predicted-only call gets: allowed, allowed and audited (SCMP_ACT_LOG), or left denied. */
export type PredictedAction = 'allow' | 'log' | 'deny';

export interface PredictedCalls {
  /** Per ABI: every call the programs can make, with why (the import chain). */
  byAbi: ReadonlyMap<ArchId, ReadonlyMap<string, string>>;
  action: PredictedAction;
  /**
   * Whether the reach covers every program of the recording: only then are call-family siblings
   * the programs cannot reach left out (a sibling of a program not analysed may be needed).
   */
  complete: boolean;
}

/**
 * Calls never allowed on prediction alone (the risk list, data/syscall-risks.tsv): named, left
 * denied. clone is the exception the families make too: predicted, it is allowed only without
 * namespace flags (as Docker's default allows it), the risky part stays denied.
 */
export function riskyOnPrediction(name: string): boolean {
  return name !== 'clone' && riskyNames().includes(name);
}

/** At most this many allowed values (or value combinations) per syscall become rules. */
export const MAX_ARG_VALUES = 8;
const MAX_ARG_COMBINATIONS = 16;

export interface GenerateResult {
  profile: Profile;
  /** Why each implied name was added. */
  implied: { name: string; because: string }[];
  /** Calls that cannot be written into a profile (numbers no table names), said, not dropped silently. */
  unnamed: { abi: ArchId; name: string; count: number }[];
  /** With `args`: the argument rules written, and why other recorded arguments got none. */
  argRules: { name: string; indexes: number[]; rules: number }[];
  argSkipped: { name: string; index: number; why: string }[];
  /** The probed calls given an explicit ERRNO(ENOSYS) rule. */
  enosys: string[];
  /** Siblings added from call families (not with `exact`): which family, which recorded call, why. */
  families: FamilyAddition[];
  /**
   * With recordings of several runs: per allowed call, in how many of them it was seen. Only
   * calls seen in fewer than all runs are listed (the fragile ones: an input that differs again
   * may need a call no run made).
   */
  coverage: {
    runs: number;
    partial: { name: string; runs: number; first?: string; executables: string[]; stack?: string[] }[];
  };
  /** With `arch`: per target ABI, what was mapped, the 32-bit variants added and what has no counterpart. */
  crossArch: ({ target: ArchId } & Omit<ArchMapping, 'names'>)[];
  /**
   * Where Docker's default is stricter than what was recorded: calls left denied, calls kept
   * under its argument rules (and recorded values outside them dropped); `beyond`: the calls the
   * user allowed past it by name. `hosts`: the ABIs Docker's default was resolved for.
   */
  baseline: { hosts: ArchId[]; changes: BaselineChange[]; beyond: string[]; references: ReferenceName[] };
  /**
   * With `predicted`: the calls only static reach gave (not recorded, implied or a family
   * sibling), what each got, and why; `risky`: left denied because they are on the risk list;
   * `unreachableSiblings`: family siblings left out because no program can make them.
   */
  prediction: {
    calls: { name: string; why: string; action: PredictedAction }[];
    risky: { name: string; why: string }[];
    unreachableSiblings: FamilyAddition[];
  };
}

const SIGNAL_SETUP = ['rt_sigaction', 'sigaction', 'signal'];
/** Calls that return ERESTART_RESTARTBLOCK when a stop interrupts them: resumed by restart_syscall. */
const SLEEPERS = ['nanosleep', 'clock_nanosleep', 'clock_nanosleep_time64', 'poll', 'futex', 'futex_time64'];

export function generate(recordings: readonly Recording[], opts: GenerateOptions = {}): GenerateResult {
  const names = new Set<string>();
  const abis = new Set<ArchId>();
  const unnamed: GenerateResult['unnamed'] = [];
  const byAbi = new Map<ArchId, Set<string>>();
  for (const r of recordings)
    for (const [abi, calls] of Object.entries(r.syscalls) as [ArchId, Record<string, { count: number }>][]) {
      abis.add(abi);
      const t = syscallTable(abi);
      const here = byAbi.get(abi) ?? new Set<string>();
      byAbi.set(abi, here);
      for (const [name, s] of Object.entries(calls ?? {})) {
        if (
          t.number(name) === undefined &&
          !archById(abi).multiplexers.some((m) => m.calls[name] !== undefined)
        )
          unnamed.push({ abi, name, count: s.count });
        else {
          names.add(name);
          here.add(name);
        }
      }
    }
  const coverage = runCoverage(recordings);
  const crossArch: GenerateResult['crossArch'] = [];
  if (opts.arch && opts.arch.length > 0) {
    if (opts.args)
      throw new RangeError(
        'argument rules are recorded on one ABI: they cannot be mapped to another (--args with --arch)',
      );
    const recordedNames = [...names];
    names.clear();
    abis.clear();
    byAbi.clear();
    for (const target of [...new Set(opts.arch)]) {
      const m = mapToArch(recordedNames, target);
      abis.add(target);
      byAbi.set(target, m.names);
      for (const n of m.names) names.add(n);
      crossArch.push({ target, mapped: m.mapped, variants: m.variants, dropped: m.dropped });
    }
  }
  const implied: GenerateResult['implied'] = [];
  const imply = (name: string, because: string) => {
    if (names.has(name)) return;
    names.add(name);
    implied.push({ name, because });
  };
  for (const r of opts.runtime?.syscalls ?? []) imply(r.name, r.because);
  if (names.size > 0) {
    imply('exit_group', 'every process ends with it, and strace -c and perf never list it');
    imply('exit', 'every thread ends with it');
  }
  if (SIGNAL_SETUP.some((n) => names.has(n))) {
    imply('rt_sigreturn', 'a signal handler is installed: returning from it needs rt_sigreturn');
    imply('restart_syscall', 'signals can interrupt a sleeping call, which the kernel restarts with it');
    if ([...abis].some((a) => archById(a).bits === 32))
      imply('sigreturn', 'a 32-bit process with a signal handler may return through sigreturn');
  }
  // a sleep the kernel resumes after a stop (SIGSTOP/SIGCONT, a debugger, docker pause, sysfence
  // inspect) goes on through restart_syscall, whether or not the program has a signal handler
  if (SLEEPERS.some((n) => names.has(n)))
    imply(
      'restart_syscall',
      'a sleep (nanosleep, clock_nanosleep, poll, futex) that a stop or a debugger interrupts is resumed by the kernel with it',
    );
  // the hosts the profile is for (Docker's default is resolved for each)
  const hosts =
    abis.size > 0
      ? profileHosts({
          defaultAction: 'SCMP_ACT_ERRNO',
          architectures: ARCH_DEFS.filter((a) => abis.has(a.id)).map((a) => a.scmp),
        })
      : [];
  const beyond = new Set(opts.allowBeyondDefault ?? []);
  const kernelVersion = opts.kernelVersion ?? DEFAULT_KERNEL;
  if (hosts.length > 0) {
    // Docker's default answers clone3 with ENOSYS so that glibc falls back to clone: a program
    // recorded calling clone3 then calls clone (allowed below only as Docker's default allows it)
    const v = hostsVerdict({ hosts, kernelVersion });
    if (names.has('clone3') && !beyond.has('clone3') && v('clone3').kind === 'none')
      imply('clone', "clone3 is denied (as by Docker's default, with ENOSYS): glibc falls back to clone");
  }
  let families = opts.exact
    ? []
    : familyAdditions(byAbi, (abi, n) => syscallTable(abi as ArchId).number(n) !== undefined, names);
  const prediction: GenerateResult['prediction'] = { calls: [], risky: [], unreachableSiblings: [] };
  const reachable = new Map<string, string>();
  if (opts.predicted)
    for (const [abi, calls] of opts.predicted.byAbi)
      if (abis.has(abi)) for (const [n, why] of calls) if (!reachable.has(n)) reachable.set(n, why);
  if (opts.predicted?.complete && reachable.size > 0) {
    // a sibling no program can make is no longer added
    prediction.unreachableSiblings = families.filter((f) => !reachable.has(f.name));
    families = families.filter((f) => reachable.has(f.name));
  }
  // With static reach and predicted calls audited (the default), a family sibling is a guess like
  // a prediction and gets the same rule: allowed and logged, so the calls allowed without audit
  // are what was recorded (and implied). With `allow`, `deny` or no reach, siblings are allowed.
  const auditGuesses = opts.predicted?.action === 'log';
  const guessedSiblings = auditGuesses ? families.filter((f) => !f.unless && !names.has(f.name)) : [];
  for (const f of families) if (!f.unless && !auditGuesses) names.add(f.name);
  // what only static reach gives
  const predictedOnly = [...reachable.keys()]
    .filter(
      (n) =>
        !names.has(n) &&
        !families.some((f) => f.name === n) &&
        [...abis].some((a) => syscallTable(a).number(n) !== undefined),
    )
    .sort();
  const predictedAllowed: string[] = [];
  let predictedClone = false;
  for (const n of predictedOnly) {
    const why = reachable.get(n) as string;
    if (riskyOnPrediction(n)) prediction.risky.push({ name: n, why });
    else {
      const action = opts.predicted?.action ?? 'log';
      prediction.calls.push({ name: n, why, action });
      if (action === 'deny') continue;
      if (n === 'clone') predictedClone = true;
      else predictedAllowed.push(n);
    }
  }
  const recorded: ArchDef[] = ARCH_DEFS.filter((a) => abis.has(a.id));
  const profile: Profile = {
    defaultAction: opts.deny === 'kill' ? 'SCMP_ACT_KILL_PROCESS' : 'SCMP_ACT_ERRNO',
  };
  if (opts.deny !== 'kill') profile.defaultErrnoRet = opts.deny === 'eperm' ? EPERM : ENOSYS;
  if (opts.companions) {
    const hosts = recorded.filter(
      (a) => a.companions.length > 0 || !recorded.some((b) => b.companions.includes(a.id)),
    );
    profile.archMap = hosts.map((a) => ({
      architecture: a.scmp,
      subArchitectures: a.companions.length > 0 ? a.companions.map((c) => archById(c).scmp) : null,
    }));
  } else if (recorded.length > 0) profile.architectures = recorded.map((a) => a.scmp);
  const argRules: GenerateResult['argRules'] = [];
  const argSkipped: GenerateResult['argSkipped'] = [];
  const conditional: SyscallRule[] = [];
  if (opts.args)
    for (const name of [...names].sort()) {
      const plan = argPlan(recordings, name, argSkipped);
      if (!plan) continue;
      names.delete(name);
      let combos: ArgCondition[][] = [[]];
      for (const [index, values] of plan)
        combos = combos.flatMap((c) =>
          values.map((v) => [...c, { index, value: v, op: 'SCMP_CMP_EQ' as const }]),
        );
      for (const args of combos) conditional.push({ names: [name], action: 'SCMP_ACT_ALLOW', args });
      argRules.push({ name, indexes: plan.map(([i]) => i), rules: combos.length });
    }
  const sorted = [...names].sort();
  const main: SyscallRule = { names: sorted, action: 'SCMP_ACT_ALLOW' };
  if (opts.predicted) {
    // why each call is there, in the profile (profile/provenance.ts)
    const why = new Map<string, Provenance>();
    for (const i of implied)
      why.set(i.name, {
        kind: (opts.runtime?.syscalls ?? []).some((r) => r.name === i.name) ? 'runtime' : 'implied',
        why: i.because,
      });
    for (const f of families)
      if (!f.unless && !auditGuesses) why.set(f.name, { kind: 'family', why: `of ${f.trigger}` });
    const comment = provenanceComment(new Map([...why].filter(([n]) => names.has(n))));
    if (comment) main.comment = comment;
  }
  profile.syscalls = sorted.length > 0 ? [main] : [];
  profile.syscalls.push(...conditional);
  // family members allowed only under an argument rule (clone without namespace flags)
  for (const f of families)
    if (f.unless)
      profile.syscalls.push(familyRule(f, f.unless, auditGuesses ? 'SCMP_ACT_LOG' : 'SCMP_ACT_ALLOW'));
  // predicted-only calls (and, audited, family siblings): allowed (and audited, with log), with why
  if (predictedAllowed.length + guessedSiblings.length > 0) {
    const action = opts.predicted?.action === 'allow' ? 'SCMP_ACT_ALLOW' : 'SCMP_ACT_LOG';
    const why = new Map<string, Provenance>(
      predictedAllowed.map((n) => [n, { kind: 'predicted', why: reachable.get(n) as string }]),
    );
    for (const f of guessedSiblings)
      if (!why.has(f.name)) why.set(f.name, { kind: 'family', why: `of ${f.trigger}` });
    profile.syscalls.push({
      names: [...why.keys()].sort(),
      action,
      comment: provenanceComment(why) as string,
    });
  }
  if (predictedClone && !families.some((f) => f.name === 'clone'))
    profile.syscalls.push({
      names: ['clone'],
      action: opts.predicted?.action === 'allow' ? 'SCMP_ACT_ALLOW' : 'SCMP_ACT_LOG',
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ' }],
      comment: provenanceComment(
        new Map([
          ['clone', { kind: 'predicted', why: `${reachable.get('clone')}; only without namespace flags` }],
        ]),
      ) as string,
    });
  // never weaker than Docker's default (unless the user named the call)
  const baseline: GenerateResult['baseline'] = {
    hosts: hosts.map((h) => h.id),
    changes: [],
    beyond: [],
    references: [...(opts.baselines ?? DEFAULT_REFERENCES)],
  };
  if (hosts.length > 0) {
    const b = boundToBaseline(profile, {
      hosts,
      kernelVersion,
      allowBeyond: [...beyond],
      ...(opts.baselines ? { references: opts.baselines } : {}),
    });
    profile.syscalls = b.profile.syscalls ?? [];
    baseline.changes = b.changes;
    baseline.beyond = b.beyond;
  }
  const allowedSomehow = new Set(
    (profile.syscalls ?? [])
      .filter((r) => r.action === 'SCMP_ACT_ALLOW' || r.action === 'SCMP_ACT_LOG')
      .flatMap((r) => r.names ?? []),
  );
  const enosys =
    opts.probed === false
      ? []
      : ENOSYS_PROBED.map((p) => p.name)
          .filter(
            (n) => !allowedSomehow.has(n) && recorded.some((a) => syscallTable(a).number(n) !== undefined),
          )
          .sort();
  if (enosys.length > 0)
    profile.syscalls.push({
      names: enosys,
      action: 'SCMP_ACT_ERRNO',
      errnoRet: ENOSYS,
      comment: 'libraries fall back from these only on ENOSYS (not every runtime honours defaultErrnoRet)',
    });
  implied.sort((a, b) => (a.name < b.name ? -1 : 1));
  return {
    profile,
    implied,
    unnamed,
    argRules,
    argSkipped,
    enosys,
    families,
    coverage,
    crossArch,
    baseline,
    prediction,
  };
}

/** The rule of a family member allowed only when `(arg[index] & mask) == 0`. */
export function familyRule(
  f: FamilyAddition,
  unless: { index: number; mask: bigint },
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_LOG' = 'SCMP_ACT_ALLOW',
): SyscallRule {
  return {
    names: [f.name],
    action,
    args: [{ index: unless.index, value: unless.mask, valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ' }],
    comment: `family ${f.family}: ${f.name} only without these flags`,
  };
}

/** In how many runs each call was seen (a recording of merged runs counts each of them). */
export function runCoverage(recordings: readonly Recording[]): GenerateResult['coverage'] {
  let runs = 0;
  const seen = new Map<
    string,
    { runs: number; first?: string; stack?: string[]; executables: Set<string> }
  >();
  for (const r of recordings) {
    const n = r.runs ?? 1;
    runs += n;
    const inThis = new Map<string, number>();
    for (const calls of Object.values(r.syscalls))
      for (const [name, s] of Object.entries(calls ?? {})) {
        inThis.set(name, Math.max(inThis.get(name) ?? 0, s.runs ?? n));
        const c = seen.get(name) ?? { runs: 0, executables: new Set<string>() };
        if (c.first === undefined && s.first !== undefined) c.first = s.first;
        if (c.stack === undefined && s.stack !== undefined) c.stack = s.stack;
        for (const e of s.executables) c.executables.add(e);
        seen.set(name, c);
      }
    for (const [name, k] of inThis) seen.get(name)!.runs += k;
  }
  const partial =
    runs < 2
      ? []
      : [...seen]
          .filter(([, c]) => c.runs < runs)
          .map(([name, c]) => ({
            name,
            runs: c.runs,
            ...(c.first !== undefined ? { first: c.first } : {}),
            executables: [...c.executables].sort(),
            ...(c.stack !== undefined ? { stack: c.stack } : {}),
          }))
          .sort((a, b) => a.runs - b.runs || (a.name < b.name ? -1 : 1));
  return { runs, partial };
}

/**
 * The argument conditions for `name`: per index, the values every recording saw, when they make a
 * tight and safe rule: every call's value known (not symbolic, not missing), non-negative below
 * 2^31 (so sign extension of an int argument cannot make the kernel's 64-bit value differ), at
 * most MAX_ARG_VALUES of them. Indexes are combined (their values' product, a superset of what was
 * seen) while that stays within MAX_ARG_COMBINATIONS; otherwise the first eligible index alone.
 */
function argPlan(
  recordings: readonly Recording[],
  name: string,
  skipped: GenerateResult['argSkipped'],
): [number, bigint[]][] | undefined {
  const byIndex = new Map<number, Set<string>>();
  let seen = false;
  for (const r of recordings)
    for (const calls of Object.values(r.syscalls)) {
      const s = calls?.[name];
      if (!s) continue;
      // a recording of this call without argument values cannot vouch for any restriction
      if (!s.args) return undefined;
      seen = true;
      for (const [index, values] of Object.entries(s.args)) {
        const set = byIndex.get(Number(index)) ?? new Set<string>();
        for (const v of Object.keys(values)) set.add(v);
        byIndex.set(Number(index), set);
      }
    }
  if (!seen) return undefined;
  const eligible: [number, bigint[]][] = [];
  for (const index of [...byIndex.keys()].sort((a, b) => a - b)) {
    const values = [...byIndex.get(index)!];
    const why = values.includes('?')
      ? 'some values were not numbers in the trace'
      : values.some((v) => BigInt(v) >= 2n ** 31n)
        ? 'values >= 2^31 (an int argument may be sign-extended in the register)'
        : values.length > MAX_ARG_VALUES
          ? `${values.length} distinct values (more than ${MAX_ARG_VALUES})`
          : undefined;
    if (why) skipped.push({ name, index, why });
    else eligible.push([index, values.map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))]);
  }
  if (eligible.length === 0) return undefined;
  const chosen: [number, bigint[]][] = [];
  let product = 1;
  for (const e of eligible) {
    if (chosen.length > 0 && product * e[1].length > MAX_ARG_COMBINATIONS) {
      skipped.push({ name, index: e[0], why: 'combined with the other arguments, too many rules' });
      continue;
    }
    chosen.push(e);
    product *= e[1].length;
  }
  return chosen;
}
