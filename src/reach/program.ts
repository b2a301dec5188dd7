/**
 * What a program can call: its modules (the program, its DT_NEEDED closure as the loader finds it,
 * the loader itself, and modules known to be loaded at run time), the system call wrappers across
 * all of them (a function whose number comes from a parameter, such as libc's syscall() or Go's
 * syscall.Syscall, takes the number from each caller), then everything reachable from the code the
 * loader and the kernel start: the entry points, init and fini functions and arrays.
 *
 * Reachable means referenced: a function is reached when reached code calls it or takes its
 * address, or when reached data holds a pointer to it; data is reached when reached code refers
 * to it or reached data points to it. Indirect calls then need no guess: their targets are among
 * the functions whose addresses reached code or data holds. What is not covered is said, never
 * dropped: sites whose number stays unknown, calls of a wrapper with an unknown number, sites of
 * another ABI, libraries not found, and loading at run time (dlopen) of modules no one named.
 */

import type { FileSource } from '../exec/rootfs.js';
import { callName, callNumber } from '../recording/numbers.js';
import { type FactsCache, inputsKey, keepResult, resultFor, tableFor } from './cache.js';
import { LOADERS } from './link.js';
import { type Linked, type LinkedProgram, linkModules, NSS } from './loader.js';
import { COPY_MARK, type ReachMachine } from './module.js';
import { bitsOf, type EntryReach, type ModuleTable, type OutCall } from './tables.js';

export interface ReachOptions {
  fs: FileSource;
  cache: FactsCache;
  /** Shared objects known to be loaded at run time (dlopen'd, seen in a recording): analysed as roots too. */
  loaded?: readonly string[];
}

export interface ReachedCall {
  nr: number;
  name: string;
  /** How the program gets there: module crossings from a start, e.g. ["/usr/bin/tar: entry", "imports ftruncate64 from libc.so.6"]. */
  chain: string[];
}

export interface Unresolved {
  module: string;
  function?: string;
  at: number;
  kind: 'number' | 'wrapper-call' | 'foreign-abi';
}

export interface ReachModule {
  path: string;
  soname?: string;
  buildId?: string;
  go?: string;
  functions: number;
  /** Ways into the module the program uses (exports, init code). */
  entries: number;
  /**
   * Set for a module no DT_NEEDED names, loaded at run time: why it counts (a recording named it,
   * nsswitch.conf names its service, or a module that imports dlopen names it in its strings).
   */
  loadedBecause?: string;
}

export interface ProgramReach {
  program: string;
  machine: ReachMachine;
  modules: ReachModule[];
  calls: ReachedCall[];
  unresolved: Unresolved[];
  /** DT_NEEDED libraries the loader would not find: the program would not start as found. */
  missing: { library: string; neededBy: string }[];
  /** Imported names no loaded module defines (weak ones included: they may be absent). */
  undefinedSymbols: string[];
  /** What may load code no one named (dlopen, NSS): said with the modules that import it. */
  runtimeLoading: string[];
}

export { ReachError } from './loader.js';

/** A placed module with its table, and the per-entry parameter sets settled across modules. */
interface Mod extends Linked {
  table: ModuleTable;
  exports: Map<string, [number, boolean]>;
  /** per entry: where a number may come from a parameter (settled across modules below) */
  params: Set<number>[];
}

/**
 * The key of a program's result: every input it is computed from. The tables are functions of
 * the modules' keys; the rest is where the loader placed what, and why.
 */
function resultKey(l: LinkedProgram): string {
  return inputsKey({
    mods: l.mods.map((m) => [m.path, m.key, m.label, m.loadedBecause ?? '']),
    loaded: l.loaded.map((m) => m.index),
    missing: l.missing,
  });
}

/**
 * What a program can call. The result is kept in the cache under the key of its inputs (resultKey;
 * bump RESULT_FORMAT in cache.ts with any change to what this file computes), so a second reach of
 * an unchanged program reads headers, keys and one file.
 */
export function reachProgram(program: string, opts: ReachOptions): ProgramReach {
  const linked = linkModules(program, opts);
  const key = resultKey(linked);
  const kept = resultFor<ProgramReach>(opts.cache, key);
  if (kept) return kept;
  const r = computeReach(linked, opts);
  keepResult(opts.cache, key, r);
  return r;
}

function computeReach(linked: LinkedProgram, opts: ReachOptions): ProgramReach {
  const withTable = (l: Linked): Mod => {
    const table = tableFor(opts.cache, l.file);
    return {
      ...l,
      table,
      exports: new Map(table.exports.map(([n, e, f]) => [n, [e, f]])),
      params: table.entries.map((e) => new Set(e.params)),
    };
  };
  const mods = linked.mods.map(withTable);
  const loaded = linked.loaded.map((l) => mods[l.index] as Mod);
  const { missing } = linked;
  const exe = mods[0] as Mod;
  const machine = exe.table.machine;

  // symbol lookup: the first module in load order defining the name
  // the loader's global scope: the first module (in load order) defining each name
  const scope = new Map<string, { mod: Mod; entry: number; fn: boolean }>();
  for (const m of mods)
    for (const [name, [entry, fn]] of m.exports) if (!scope.has(name)) scope.set(name, { mod: m, entry, fn });
  const lookup = (name: string, except?: Mod): { mod: Mod; entry: number; fn: boolean } | undefined => {
    const first = scope.get(name);
    if (first === undefined || first.mod !== except) return first;
    // a COPY relocation's source: the definition after the program's own copy
    for (const m of mods) {
      if (m === except) continue;
      const e = m.exports.get(name);
      if (e) return { mod: m, entry: e[0], fn: e[1] };
    }
    return undefined;
  };
  const resolveName = (m: Mod, target: string) => {
    const copy = target.startsWith(COPY_MARK);
    const name = copy ? target.slice(COPY_MARK.length) : target;
    return { name, s: lookup(name, copy ? m : undefined) };
  };

  // wrappers across modules: an entry passing its own parameter where another module's wrapper takes the number
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of mods)
      m.table.entries.forEach((e, ei) => {
        for (const [imp, loc, own] of e.pass) {
          const s = lookup(imp);
          if (
            s &&
            (s.mod.params[s.entry] as Set<number>).has(loc) &&
            !(m.params[ei] as Set<number>).has(own)
          ) {
            (m.params[ei] as Set<number>).add(own);
            changed = true;
          }
        }
      });
  }

  const nodes: { mod: number; entry: number; parent: number; via?: string }[] = [];
  const nodeOf = new Map<string, number>();
  let head = 0;
  const visit = (mod: number, entry: number, parent: number, via?: string): void => {
    const key = `${mod}:${entry}`;
    if (nodeOf.has(key)) return;
    nodeOf.set(key, nodes.length);
    nodes.push({ mod, entry, parent, ...(via !== undefined ? { via } : {}) });
  };
  // starts: the program's entry, the loader's, every module's init and fini code, and what was loaded at run time
  const interp = mods.find(
    (m) => m !== exe && exe.table.interp !== undefined && m.path === opts.fs.resolve(exe.table.interp),
  );
  for (const m of [exe, ...(interp ? [interp] : []), ...mods.filter((x) => x !== exe && x !== interp)])
    for (const [what, e] of m.table.roots)
      if (what === 'entry' ? m === exe || m === interp : true)
        visit(
          m.index,
          e,
          -1,
          `${m.label}: ${m === interp && what === 'entry' ? "the loader's start" : what}`,
        );
  for (const m of loaded)
    for (const [name, e] of m.table.exports)
      visit(m.index, e, -1, `${m.label} (loaded at run time) exports ${name}`);

  const found = new Map<number, [number, string?]>(); // number -> [node, how] where first found
  const unresolved = new Map<string, Unresolved>();
  const doneImports = mods.map((m) => new Uint8Array(m.table.needs.length));
  const doneOut = mods.map((m) => new Uint8Array(m.table.outCalls.length));
  while (head < nodes.length) {
    const id = head++;
    const n = nodes[id] as (typeof nodes)[number];
    const m = mods[n.mod] as Mod;
    const e = m.table.entries[n.entry] as EntryReach;
    for (const nr of e.sys) if (!found.has(nr)) found.set(nr, [id]);
    for (const si of e.unresolved) {
      const [at, fn, kind] = m.table.sites[si] as [number, string, string];
      unresolved.set(`${m.path}:${at}:${kind}`, {
        module: m.path,
        ...(fn ? { function: fn } : {}),
        at,
        kind: kind as Unresolved['kind'],
      });
    }
    // a module's imports and out-calls are shared by the closures of its entries: each is
    // followed once (the first node to reach it gives the chain, as a second visit would not)
    const seenImport = doneImports[n.mod] as Uint8Array;
    const seenOut = doneOut[n.mod] as Uint8Array;
    for (const ii of e.imports) {
      if (seenImport[ii]) continue;
      seenImport[ii] = 1;
      const { name, s } = resolveName(m, m.table.needs[ii] as string);
      if (s)
        visit(
          s.mod.index,
          s.entry,
          id,
          s.mod === m ? undefined : `${m.label} imports ${name} from ${s.mod.label}`,
        );
    }
    for (const oi of bitsOf(e.out)) {
      if (seenOut[oi]) continue;
      seenOut[oi] = 1;
      const [imp, at, args, only] = m.table.outCalls[oi] as OutCall;
      const s = lookup(imp);
      if (!s) continue;
      for (const loc of s.mod.params[s.entry] as Set<number>) {
        const a = args.find(([l]) => l === loc);
        // a pass-through names the locations this site gives; the function passing them sets the
        // others itself (its own out-call says with what)
        if (only && a === undefined) continue;
        const v = a?.[1];
        if (v && 'c' in v) {
          for (const nr of v.c) if (!found.has(nr)) found.set(nr, [id, `${m.label} calls ${imp}(${nr})`]);
        } else if (!(v && 'e' in v))
          unresolved.set(`${m.path}:${at}:wrapper-call`, {
            module: m.path,
            at,
            kind: 'wrapper-call',
            function: `a call of ${imp}`,
          });
      }
    }
  }

  const chainOf = (id: number): string[] => {
    const out: string[] = [];
    for (let i = id; i >= 0; i = (nodes[i] as (typeof nodes)[number]).parent) {
      const v = (nodes[i] as (typeof nodes)[number]).via;
      if (v !== undefined) out.unshift(v);
    }
    return out;
  };
  const calls: ReachedCall[] = [...found.entries()]
    .map(([nr, [id, how]]) => ({
      nr,
      name: callName(machine, nr) ?? `syscall_0x${nr.toString(16)}`,
      chain: [...chainOf(id), ...(how ? [how] : [])],
    }))
    .sort((a, b) => a.nr - b.nr);
  // a signal handler returns through rt_sigreturn: on aarch64 (and wherever libc installs no
  // restorer) the kernel's vDSO trampoline makes that call, code no module holds
  const sigaction = calls.find((c) => c.name === 'rt_sigaction');
  const sigreturn = machine === 'aarch64' ? callNumber(machine, 'rt_sigreturn') : undefined;
  if (sigaction && sigreturn !== undefined && !found.has(sigreturn)) {
    calls.push({
      nr: sigreturn,
      name: 'rt_sigreturn',
      chain: [
        ...sigaction.chain,
        "a signal handler returns through the kernel's vDSO (__kernel_rt_sigreturn)",
      ],
    });
    calls.sort((a, b) => a.nr - b.nr);
  }
  const reachedPerMod = new Array<number>(mods.length).fill(0);
  for (const n of nodes) reachedPerMod[n.mod] = (reachedPerMod[n.mod] as number) + 1;
  const undefinedSymbols = [
    ...new Set(mods.flatMap((m) => m.table.imports.filter((s) => !lookup(s)))),
  ].sort();
  const runtimeLoading: string[] = [];
  for (const m of mods) {
    const dl = m.table.imports.filter((s) => LOADERS.includes(s));
    if (dl.length > 0 && !/^(libc\.so|ld-linux|libdl\.so)/.test(m.label))
      runtimeLoading.push(
        `${m.label} imports ${dl.join(', ')}: the libraries its strings name are analysed; others it loads at run time only when a recording names them`,
      );
    const nss = m.table.imports.filter((s) => NSS.test(s));
    if (nss.length > 0)
      runtimeLoading.push(
        `${m.label} imports ${nss.slice(0, 3).join(', ')}${nss.length > 3 ? ` and ${nss.length - 3} more` : ''}: name-service modules (nsswitch.conf) load at run time`,
      );
  }
  return {
    program: exe.path,
    machine,
    modules: mods.map((m, i) => ({
      path: m.path,
      ...(m.table.soname ? { soname: m.table.soname } : {}),
      ...(m.table.buildId ? { buildId: m.table.buildId } : {}),
      ...(m.table.go ? { go: m.table.go } : {}),
      functions: m.table.functions,
      entries: reachedPerMod[i] as number,
      ...(m.loadedBecause ? { loadedBecause: m.loadedBecause } : {}),
    })),
    calls,
    unresolved: [...unresolved.values()].sort(
      (a, b) => a.module.localeCompare(b.module) || a.at - b.at || a.kind.localeCompare(b.kind),
    ),
    missing,
    undefinedSymbols,
    runtimeLoading,
  };
}
