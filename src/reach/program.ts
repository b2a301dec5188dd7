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
import { SysfenceError } from '../errors.js';
import type { FileSource } from '../exec/rootfs.js';
import { callName } from '../recording/numbers.js';
import { type FactsCache, factsFor } from './cache.js';
import { defaultDirs, findLibrary, isMusl } from './libraries.js';
import { COPY_MARK, type ModuleFacts, type ReachMachine } from './module.js';
import type { CallSite, FunctionSummary } from './summary.js';

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
  reached: number;
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

interface Mod {
  index: number;
  path: string;
  label: string;
  facts: ModuleFacts;
  starts: number[];
  exports: Map<string, [number, number, boolean]>;
  pointerAt: number[];
  params: Set<number>[];
}

interface Node {
  mod: number;
  /** a function's index, or -1 for a data object */
  fn: number;
  start: number;
  end: number;
  parent: number;
  /** how this node was entered when it crosses modules or starts a chain */
  via?: string;
}

const upperBound = (a: readonly number[], x: number): number => {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
};

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** Loads the program and its libraries in the loader's order (breadth first), the loader last. */
function loadModules(
  program: string,
  opts: ReachOptions,
): { mods: Mod[]; missing: ProgramReach['missing']; loaded: Mod[] } {
  const mods: Mod[] = [];
  const missing: ProgramReach['missing'] = [];
  const byPath = new Map<string, Mod>();
  const add = (path: string, bytes: Uint8Array): Mod => {
    const had = byPath.get(path);
    if (had) return had;
    const facts = factsFor(opts.cache, bytes, path);
    const m: Mod = {
      index: mods.length,
      path,
      label: path,
      facts,
      starts: facts.functions.map((f) => f.start),
      exports: new Map(facts.exports.map(([n, a, s, f]) => [n, [a, s, f]])),
      pointerAt: facts.pointers.map(([at]) => at),
      params: facts.functions.map((f) => new Set(f.sysParams)),
    };
    mods.push(m);
    byPath.set(path, m);
    return m;
  };
  const path = opts.fs.resolve(program);
  const bytes = path !== undefined ? opts.fs.read(path) : undefined;
  if (path === undefined || bytes === undefined)
    throw new ReachError('reach-no-program', `${program} is not a file in ${opts.fs.label}`, program);
  const exe = add(path, bytes);
  const machine = exe.facts.machine;
  const interp = exe.facts.interp;
  const dirs = defaultDirs(opts.fs, machine, interp);
  const interpPath = interp !== undefined ? opts.fs.resolve(interp) : undefined;
  const interpBytes = interpPath !== undefined ? opts.fs.read(interpPath) : undefined;
  if (interp !== undefined && (interpPath === undefined || !interpBytes))
    missing.push({ library: interp, neededBy: path });
  // breadth first, as the loader builds its global scope
  for (let i = 0; i < mods.length; i++) {
    const m = mods[i] as Mod;
    for (const name of m.facts.needed) {
      if (isMusl(interp) && (name === 'libc.so' || /^libc\.musl-/.test(name)) && interpPath && interpBytes) {
        add(interpPath, interpBytes);
        continue;
      }
      const found = findLibrary(opts.fs, name, m.path, m.facts.runpath, dirs, machine);
      if (found) add(found.path, found.bytes);
      else missing.push({ library: name, neededBy: m.path });
    }
  }
  if (interpPath && interpBytes) add(interpPath, interpBytes);
  const before = mods.length;
  const loaded: Mod[] = [];
  for (const extra of opts.loaded ?? []) {
    const p = opts.fs.resolve(extra);
    const b = p !== undefined ? opts.fs.read(p) : undefined;
    if (p === undefined || !b) {
      missing.push({ library: extra, neededBy: 'the recording (loaded at run time)' });
      continue;
    }
    if (!(b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46)) {
      missing.push({ library: extra, neededBy: 'the recording (loaded at run time; not an ELF file)' });
      continue;
    }
    const m = add(p, b);
    if (m.index >= before && !loaded.includes(m)) loaded.push(m);
    for (let i = m.index; i < mods.length; i++)
      for (const name of (mods[i] as Mod).facts.needed) {
        const found = findLibrary(
          opts.fs,
          name,
          (mods[i] as Mod).path,
          (mods[i] as Mod).facts.runpath,
          dirs,
          machine,
        );
        if (found) add(found.path, found.bytes);
        else missing.push({ library: name, neededBy: (mods[i] as Mod).path });
      }
  }
  for (const m of mods) m.label = m.facts.soname ?? basename(m.path);
  exe.label = path;
  return { mods, missing, loaded };
}

export class ReachError extends SysfenceError {
  constructor(code: string, message: string, location?: string, hint?: string) {
    super(code, message, location, hint);
    this.name = 'ReachError';
  }
}

/** Names whose import means code may be loaded that no DT_NEEDED names. */
const LOADERS = ['dlopen', 'dlmopen', '__libc_dlopen_mode'];
/** Imports that make glibc load NSS modules (nsswitch.conf) at run time. */
const NSS =
  /^(getpw|getgr|getsp|getaddrinfo$|gethostby|getservby|getprotoby|getnetby|initgroups$|getgrouplist$|getnameinfo$|getlogin|cuserid$|getrpcby|getaliasby|ether_|innetgr$|setpwent$|setgrent$)/;

export function reachProgram(program: string, opts: ReachOptions): ProgramReach {
  const { mods, missing, loaded } = loadModules(program, opts);
  const exe = mods[0] as Mod;
  const machine = exe.facts.machine;

  // symbol lookup: the first module in load order defining the name
  const lookup = (
    name: string,
    except?: Mod,
  ): { mod: Mod; addr: number; size: number; fn: boolean } | undefined => {
    for (const m of mods) {
      if (m === except) continue;
      const e = m.exports.get(name);
      if (e) return { mod: m, addr: e[0], size: e[1], fn: e[2] };
    }
    return undefined;
  };
  const functionAt = (m: Mod, addr: number): number => {
    const i = upperBound(m.starts, addr) - 1;
    if (i < 0) return -1;
    const f = m.facts.functions[i] as FunctionSummary;
    return addr < f.end ? i : -1;
  };
  const pointerAt = (m: Mod, at: number): number | string | undefined => {
    const i = upperBound(m.pointerAt, at) - 1;
    return i >= 0 && m.pointerAt[i] === at
      ? (m.facts.pointers[i] as [number, number | string])[1]
      : undefined;
  };
  // the sized data symbol around an address (the last one starting at or before it that covers it)
  const objectStarts = mods.map((m) => m.facts.objects.map(([s]) => s));
  const objectAt = (m: Mod, addr: number): [number, number] | undefined => {
    const starts = objectStarts[m.index] as number[];
    for (let i = upperBound(starts, addr) - 1; i >= 0 && i >= upperBound(starts, addr) - 4; i--) {
      const o = m.facts.objects[i] as [number, number];
      if (addr < o[1]) return o;
    }
    return undefined;
  };
  const inRanges = (rs: readonly [number, number][], a: number) => rs.some(([s, e]) => a >= s && a < e);

  // the function a call lands in, through PLT stubs and pointer slots (depth-limited)
  const calleeOf = (m: Mod, c: CallSite, depth = 0): [Mod, number] | undefined => {
    if (depth > 4) return undefined;
    let target: number | string | undefined = c.to;
    if (target === undefined && c.slot !== undefined) target = pointerAt(m, c.slot);
    if (target === undefined) return undefined;
    let tm = m;
    let addr: number;
    if (typeof target === 'string') {
      const s = lookup(target);
      if (!s?.fn) return undefined;
      tm = s.mod;
      addr = s.addr;
    } else addr = target;
    const fi = functionAt(tm, addr);
    if (fi < 0) return undefined;
    const f = tm.facts.functions[fi] as FunctionSummary;
    // a stub (a PLT entry): one tail jump through a slot, nothing else
    if (
      f.sys.length === 0 &&
      f.calls.length === 1 &&
      f.calls[0]?.tail &&
      f.calls[0].slot !== undefined &&
      f.end - f.start <= 32
    )
      return calleeOf(tm, f.calls[0], depth + 1) ?? [tm, fi];
    return [tm, fi];
  };
  const callees = mods.map((m) =>
    m.facts.functions.map((f) => f.calls.map((c) => (c.args ? calleeOf(m, c) : undefined))),
  );

  // wrappers: a function passing its own entry value where a wrapper takes the number is a wrapper
  for (let changed = true; changed; ) {
    changed = false;
    for (const m of mods)
      m.facts.functions.forEach((f, fi) => {
        f.calls.forEach((c, ci) => {
          const callee = callees[m.index]?.[fi]?.[ci];
          if (!callee || !c.args) return;
          for (const r of (callee[0].params[callee[1]] as Set<number>).values()) {
            const v = c.args.find(([l]) => l === r)?.[1];
            if (v && 'e' in v && !(m.params[fi] as Set<number>).has(v.e)) {
              (m.params[fi] as Set<number>).add(v.e);
              changed = true;
            }
          }
        });
      });
  }

  const nodes: Node[] = [];
  const nodeOf = new Map<string, number>();
  const queue: number[] = [];
  const visit = (mod: number, fn: number, start: number, end: number, parent: number, via?: string): void => {
    const key = fn >= 0 ? `${mod}:f${fn}` : `${mod}:d${start}`;
    if (nodeOf.has(key)) return;
    const id = nodes.length;
    nodes.push({ mod, fn, start, end, parent, ...(via !== undefined ? { via } : {}) });
    nodeOf.set(key, id);
    queue.push(id);
  };
  const reachAddress = (m: Mod, addr: number, parent: number, via?: string, size?: number): void => {
    const fi = functionAt(m, addr);
    if (fi >= 0) {
      const f = m.facts.functions[fi] as FunctionSummary;
      visit(m.index, fi, f.start, f.end, parent, via);
      return;
    }
    if (!inRanges(m.facts.data, addr)) return;
    let end: number;
    let start = addr;
    const obj = objectAt(m, addr);
    if (inRanges(m.facts.got, addr)) end = addr + 8;
    else if (obj) [start, end] = obj;
    else if (size !== undefined && size > 0) end = addr + size;
    else {
      const b = m.facts.boundaries;
      const i = upperBound(b, addr);
      end = i < b.length ? (b[i] as number) : addr + 8;
    }
    visit(m.index, -1, start, end, parent, via);
  };
  const reachTarget = (m: Mod, target: number | string, parent: number): void => {
    if (typeof target === 'number') {
      reachAddress(m, target, parent);
      return;
    }
    const copy = target.startsWith(COPY_MARK);
    const name = copy ? target.slice(COPY_MARK.length) : target;
    const s = lookup(name, copy ? m : undefined);
    if (!s) return;
    reachAddress(
      s.mod,
      s.addr,
      parent,
      s.mod === m ? undefined : `${m.label} imports ${name} from ${s.mod.label}`,
      s.fn ? undefined : s.size,
    );
  };

  // starts: the program's entry, the loader's entry, every module's init and fini code
  if (exe.facts.entry !== 0) reachAddress(exe, exe.facts.entry, -1, `${exe.label}: entry`);
  const interp = mods.find(
    (m) => m !== exe && exe.facts.interp !== undefined && m.path === opts.fs.resolve(exe.facts.interp),
  );
  if (interp && interp.facts.entry !== 0)
    reachAddress(interp, interp.facts.entry, -1, `${interp.label}: the loader's start`);
  for (const m of mods) {
    for (const a of m.facts.roots.functions) reachAddress(m, a, -1, `${m.label}: init/fini`);
    for (const [s, e] of m.facts.roots.arrays) reachAddress(m, s, -1, `${m.label}: init/fini array`, e - s);
  }
  // modules loaded at run time (not in the DT_NEEDED closure): every export may be called
  for (const m of loaded)
    for (const [name, addr, , fn] of m.facts.exports)
      if (fn) reachAddress(m, addr, -1, `${m.label} (loaded at run time) exports ${name}`);

  const found = new Map<number, number>(); // syscall number -> node where first found
  const unresolved: Unresolved[] = [];
  while (queue.length > 0) {
    const id = queue.shift() as number;
    const n = nodes[id] as Node;
    const m = mods[n.mod] as Mod;
    if (n.fn < 0) {
      // data: every pointer inside the object
      let i = upperBound(m.pointerAt, n.start - 1);
      while (i < m.pointerAt.length && (m.pointerAt[i] as number) < n.end) {
        reachTarget(m, (m.facts.pointers[i] as [number, number | string])[1], id);
        i++;
      }
      continue;
    }
    const f = m.facts.functions[n.fn] as FunctionSummary;
    for (const nr of f.sys) if (!found.has(nr)) found.set(nr, id);
    const name = f.name;
    for (const at of f.unresolved)
      unresolved.push({ module: m.path, ...(name ? { function: name } : {}), at, kind: 'number' });
    for (const at of f.foreign)
      unresolved.push({ module: m.path, ...(name ? { function: name } : {}), at, kind: 'foreign-abi' });
    f.calls.forEach((c, ci) => {
      if (c.to !== undefined) reachAddress(m, c.to, id);
      else if (c.slot !== undefined) {
        const t = pointerAt(m, c.slot);
        if (t !== undefined) reachTarget(m, t, id);
        else reachAddress(m, c.slot, id);
      }
      const callee = callees[m.index]?.[n.fn]?.[ci];
      if (!callee) return;
      const params = callee[0].params[callee[1]] as Set<number>;
      for (const r of params) {
        const v = c.args?.find(([l]) => l === r)?.[1];
        if (v && 'c' in v) {
          for (const nr of v.c) if (!found.has(nr)) found.set(nr, id);
        } else if (!(v && 'e' in v && (m.params[n.fn] as Set<number>).has(v.e)))
          unresolved.push({
            module: m.path,
            ...(name ? { function: name } : {}),
            at: c.at,
            kind: 'wrapper-call',
          });
      }
    });
    for (const r of f.refs) reachAddress(m, r, id);
  }

  const chainOf = (id: number): string[] => {
    const out: string[] = [];
    for (let i = id; i >= 0; i = (nodes[i] as Node).parent) {
      const v = (nodes[i] as Node).via;
      if (v !== undefined) out.unshift(v);
    }
    return out;
  };
  const calls: ReachedCall[] = [...found.entries()]
    .map(([nr, id]) => ({
      nr,
      name: callName(machine, nr) ?? `syscall_0x${nr.toString(16)}`,
      chain: chainOf(id),
    }))
    .sort((a, b) => a.nr - b.nr);
  const reachedPerMod = new Array<number>(mods.length).fill(0);
  for (const n of nodes) if (n.fn >= 0) reachedPerMod[n.mod] = (reachedPerMod[n.mod] as number) + 1;
  const undefinedSymbols = [
    ...new Set(mods.flatMap((m) => m.facts.imports.filter((s) => !lookup(s)))),
  ].sort();
  const runtimeLoading: string[] = [];
  for (const m of mods) {
    const dl = m.facts.imports.filter((s) => LOADERS.includes(s));
    if (dl.length > 0 && !/^(libc\.so|ld-linux|libdl\.so)/.test(m.label))
      runtimeLoading.push(
        `${m.label} imports ${dl.join(', ')}: modules it loads at run time are covered only when a recording names them`,
      );
    const nss = m.facts.imports.filter((s) => NSS.test(s));
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
      ...(m.facts.soname ? { soname: m.facts.soname } : {}),
      ...(m.facts.buildId ? { buildId: m.facts.buildId } : {}),
      ...(m.facts.go ? { go: m.facts.go } : {}),
      functions: m.facts.functions.length,
      reached: reachedPerMod[i] as number,
    })),
    calls,
    unresolved: unresolved.sort(
      (a, b) => a.module.localeCompare(b.module) || a.at - b.at || a.kind.localeCompare(b.kind),
    ),
    missing,
    undefinedSymbols,
    runtimeLoading,
  };
}
