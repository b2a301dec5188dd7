/**
 * The filter runc (and crun) build with libseccomp from a resolved OCI profile, modelled: which
 * rules reach libseccomp, how each ABI's rule database grows rule by rule, and whether libseccomp
 * refuses the profile (then the container does not start). `run.ts` answers calls against it.
 *
 * What runc does before libseccomp sees a rule (runc 1.1 libcontainer/seccomp): a rule whose action
 * equals the default is skipped; a name libseccomp cannot resolve on the host ABI is skipped; a rule
 * that repeats an argument index becomes one rule per condition; every other rule is added once per
 * name, with all its conditions. libseccomp adds each rule to every ABI of the filter (the host's
 * first, then the profile's in order), as one transaction: a failure on any ABI refuses the rule.
 */
import { findArch } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { retValue } from '../compiler/ret.js';
import { toAction } from '../profile/actions.js';
import { archFromScmp } from '../profile/arch-names.js';
import { errnoNumber } from '../profile/errno.js';
import type { Profile } from '../profile/model.js';
import { profileDefaultAction } from '../profile/policy.js';
import { buildRule, type RawCondition } from './chain.js';
import { type LibseccompVersion, type NameTable, nameTable } from './names.js';
import {
  type ArgNode,
  Budget,
  type MergeOptions,
  merge,
  prune,
  REDUNDANT,
  RuleConflict,
  releaseTree,
  type Slot,
} from './tree.js';

/** One syscall of one ABI's database. Pseudo entries (negative numbers) never reach the filter. */
export interface SysEntry {
  /** The number as libseccomp stores it (unsigned: pseudo numbers sort after every real one). */
  num: number;
  pseudo: boolean;
  /** Name, for messages. */
  name: string;
  chains: ArgNode | null;
  /** The action when there are no argument rules. */
  action: number;
  nodes: number;
  priority: number;
}

export interface ArchDb {
  arch: ArchDef;
  /** Entries in libseccomp's list order (ascending unsigned number). */
  entries: SysEntry[];
}

export interface Refusal {
  reason: 'unknown-arch' | 'byte-order' | 'errno-range' | 'rule-conflict' | 'hang' | 'notify';
  /** Index of the profile rule, when a rule was refused. */
  rule?: number;
  name?: string;
  arch?: ArchId;
  message: string;
}

export interface LibseccompFilter {
  version: LibseccompVersion;
  native: ArchDef;
  defaultRet: number;
  badArchRet: number;
  /** The ABIs' databases in filter order (the host's first). */
  dbs: ArchDb[];
  /** Names runc skipped because libseccomp cannot resolve them on the host. */
  unknownNames: string[];
  /** Set when libseccomp refuses the profile: the container does not start. */
  refused?: Refusal;
}

export interface FilterOptions {
  version: LibseccompVersion;
  native: ArchId;
  /** The bad-architecture action (libseccomp's default, which runc and crun keep: KILL_THREAD). */
  badArch?: 'KILL_THREAD' | 'KILL_PROCESS';
}

const MASK_CHAIN = 0xffff;
const MAX_ERRNO_LIBSECCOMP = 4094;

const PSEUDO_BASE = 0xffff0000;

function findEntry(db: ArchDb, num: number): SysEntry | undefined {
  return db.entries.find((e) => e.num === num);
}

function insertEntry(db: ArchDb, e: SysEntry): void {
  const at = db.entries.findIndex((x) => x.num > e.num);
  if (at < 0) db.entries.push(e);
  else db.entries.splice(at, 0, e);
}

/** libseccomp's db_rule_add for one (ABI, syscall number, conditions, action). */
function addRule(
  db: ArchDb,
  num: number,
  pseudo: boolean,
  name: string,
  conds: readonly RawCondition[],
  action: number,
  merging: MergeOptions,
  budget: Budget,
): void {
  const fresh = buildRule(db.arch, conds, action);
  const newPriority = (MASK_CHAIN - fresh.nodes) >>> 0;
  const entry = findEntry(db, num);
  const headOf = (e: SysEntry): Slot => ({
    get: () => e.chains,
    set: (n) => {
      e.chains = n;
    },
  });
  const updatePriority = (e: SysEntry) => {
    e.priority = ((e.priority & ~MASK_CHAIN) | ((MASK_CHAIN - e.nodes) & MASK_CHAIN)) >>> 0;
  };
  if (!entry) {
    insertEntry(db, {
      num,
      pseudo,
      name,
      chains: fresh.head,
      action,
      nodes: fresh.nodes,
      priority: newPriority,
    });
    return;
  }
  const freshHead: Slot = {
    get: () => fresh.head,
    set: (n) => {
      fresh.head = n;
    },
  };
  let pruned = false;
  for (;;) {
    if (entry.chains === null) {
      if (pruned) {
        // a prune removed everything that was there: the new rule takes its place
        entry.chains = fresh.head;
        entry.action = action;
        entry.nodes = fresh.nodes;
        entry.priority = newPriority;
      } else {
        // the syscall is decided without conditions already: the new rule adds nothing
        releaseTree(freshHead, budget);
      }
      updatePriority(entry);
      return;
    }
    if (fresh.head === null) {
      // a rule without conditions replaces whatever conditions were there
      releaseTree(headOf(entry), budget);
      entry.chains = null;
      entry.nodes = 0;
      entry.action = action;
      updatePriority(entry);
      return;
    }
    const state = { flags: 0, action, head: headOf(entry) };
    const removed = prune(headOf(entry), fresh.head, state, budget);
    if (removed > 0) {
      pruned = true;
      entry.nodes = (entry.nodes - removed) >>> 0;
      if (entry.chains === null) continue;
    } else if ((state.flags & REDUNDANT) === REDUNDANT) {
      releaseTree(freshHead, budget);
      updatePriority(entry);
      return;
    }
    break;
  }
  const freed = merge(headOf(entry), fresh.head as ArgNode, merging, budget);
  entry.nodes = (entry.nodes - freed + fresh.nodes) >>> 0;
  entry.nodes = (entry.nodes - releaseTree(freshHead, budget)) >>> 0;
  updatePriority(entry);
}

/** libseccomp's per-ABI rule adding: multiplexed socket/IPC calls, pseudo numbers. */
function addToArch(
  db: ArchDb,
  pseudoNum: (name: string) => number,
  names: NameTable,
  name: string,
  conds: readonly RawCondition[],
  action: number,
  merging: MergeOptions,
  budget: Budget,
): void {
  const r = names.resolve(name);
  const mux = db.arch.multiplexers.find((m) => m.calls[name] !== undefined);
  if (mux) {
    // the multiplexer, with argument 0 selecting the call (any condition on argument 0 is replaced)
    const muxNr = names.direct(mux.syscall);
    const sub = BigInt(mux.calls[name]!);
    const muxConds: RawCondition[] = [
      ...conds.filter((c) => c.index !== 0),
      { index: 0, op: 'SCMP_CMP_EQ', a: sub, b: 0n },
    ];
    if (muxNr !== undefined) addRule(db, muxNr, false, mux.syscall, muxConds, action, merging, budget);
    // and the direct syscall: its number, or a pseudo entry when the ABI has none
    const direct = names.direct(name);
    if (direct !== undefined) addRule(db, direct, false, name, conds, action, merging, budget);
    else addRule(db, pseudoNum(name), true, name, conds, action, merging, budget);
    return;
  }
  if (r.kind === 'number') {
    addRule(db, r.nr, false, name, conds, action, merging, budget);
    return;
  }
  // a name the ABI lacks: ABIs with multiplexers drop the rule, the others keep a pseudo entry
  if (db.arch.multiplexers.length > 0) return;
  addRule(db, pseudoNum(name), true, name, conds, action, merging, budget);
}

/** The ABIs of runc's filter: the host's, then the profile's in order (each once). */
function filterArches(p: Profile, native: ArchDef): ArchDef[] | Refusal {
  const out: ArchDef[] = [native];
  for (const a of p.architectures ?? []) {
    const def = archFromScmp(a);
    if (!def) return { reason: 'unknown-arch', message: `unknown architecture "${a}"` };
    if (!out.some((x) => x.id === def.id)) out.push(def);
  }
  return out;
}

/** Builds the model of the filter runc would load for a resolved profile. */
export function buildLibseccompFilter(p: Profile, o: FilterOptions): LibseccompFilter {
  const native = findArch(o.native)!;
  const def = profileDefaultAction(p);
  const filter: LibseccompFilter = {
    version: o.version,
    native,
    defaultRet: retValue(def),
    // libseccomp's default bad-architecture action is to kill the thread; runc keeps it
    badArchRet: retValue({ kind: o.badArch ?? 'KILL_THREAD', data: 0 }),
    dbs: [],
    unknownNames: [],
  };
  const arches = filterArches(p, native);
  if (!Array.isArray(arches)) {
    filter.refused = arches;
    return filter;
  }
  for (const a of arches) {
    if (!nameTable(o.version, a)) {
      filter.refused = {
        reason: 'unknown-arch',
        arch: a.id,
        message: `libseccomp ${o.version} does not support ${a.scmp}: runc refuses the profile`,
      };
      return filter;
    }
    if (a.endian !== native.endian) {
      filter.refused = {
        reason: 'byte-order',
        arch: a.id,
        message: `${a.scmp} has another byte order than the host ABI ${native.scmp}: libseccomp refuses to mix them`,
      };
      return filter;
    }
    filter.dbs.push({ arch: a, entries: [] });
  }
  if (def.kind === 'ERRNO' && def.data > MAX_ERRNO_LIBSECCOMP) {
    filter.refused = {
      reason: 'errno-range',
      message: `libseccomp refuses ERRNO(${def.data}) as the default action`,
    };
    return filter;
  }
  if (def.kind === 'NOTIFY') {
    filter.refused = { reason: 'notify', message: 'runc refuses SCMP_ACT_NOTIFY as the default action' };
    return filter;
  }
  const nativeNames = nameTable(o.version, native)!;
  const merging: MergeOptions = { falseActionFix: o.version !== '2.5' };
  const unknown = new Set<string>();
  // pseudo entries get numbers above every real one (libseccomp's are negative, compared unsigned)
  const pseudoNums = new Map<string, number>();
  const pseudoNum = (n: string) => {
    let v = pseudoNums.get(n);
    if (v === undefined) {
      v = PSEUDO_BASE + pseudoNums.size;
      pseudoNums.set(n, v);
    }
    return v;
  };
  const rules = p.syscalls ?? [];
  for (let ri = 0; ri < rules.length; ri++) {
    const rule = rules[ri]!;
    const errno = rule.errnoRet ?? (rule.errno !== undefined ? errnoNumber(rule.errno) : undefined);
    const action = toAction(rule.action, errno);
    const ret = retValue(action);
    if (ret === filter.defaultRet) continue;
    const names = rule.name !== undefined ? [rule.name, ...(rule.names ?? [])] : (rule.names ?? []);
    const args = rule.args ?? [];
    const raw: RawCondition[] = args.map((c) => ({
      index: c.index,
      op: c.op,
      a: c.value,
      b: c.op === 'SCMP_CMP_MASKED_EQ' ? (c.valueTwo ?? 0n) : 0n,
    }));
    const repeats = new Set(args.map((c) => c.index)).size < args.length;
    const groups = repeats ? raw.map((c) => [c]) : [raw];
    for (const name of names) {
      if (nativeNames.resolve(name).kind === 'unknown') {
        unknown.add(name);
        continue;
      }
      if (action.kind === 'ERRNO' && action.data > MAX_ERRNO_LIBSECCOMP) {
        filter.refused = {
          reason: 'errno-range',
          rule: ri,
          name,
          message: `libseccomp refuses ERRNO(${action.data}) (above ${MAX_ERRNO_LIBSECCOMP}): runc does not start`,
        };
        return filter;
      }
      for (const conds of groups) {
        for (const db of filter.dbs) {
          const budget = new Budget();
          try {
            addToArch(db, pseudoNum, nameTable(o.version, db.arch)!, name, conds, ret, merging, budget);
          } catch (e) {
            if (!(e instanceof RuleConflict)) throw e;
            filter.refused =
              e.reason === 'LOOP'
                ? {
                    reason: 'hang',
                    rule: ri,
                    name,
                    arch: db.arch.id,
                    message: `adding rule ${ri} for ${name} never finishes in libseccomp (${db.arch.id}): runc hangs`,
                  }
                : {
                    reason: 'rule-conflict',
                    rule: ri,
                    name,
                    arch: db.arch.id,
                    message: `libseccomp refuses rule ${ri} for ${name} on ${db.arch.id} (EEXIST: it conflicts with an earlier rule): runc does not start`,
                  };
            filter.unknownNames = [...unknown].sort();
            return filter;
          }
        }
      }
    }
  }
  filter.unknownNames = [...unknown].sort();
  return filter;
}
