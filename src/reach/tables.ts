/**
 * A module's reach table: for every way into the module (each exported function and data object,
 * and the code the loader runs: entry, init and fini), what is reachable inside it from there:
 * the system calls made, the names it needs from other modules, the sites left unknown, and the
 * calls leaving the module with the argument values a system call number could travel in. Reach
 * inside a module is a reference closure: a function is reached when reached code calls it or
 * takes its address, or reached data points to it; data when reached code or data refers to it.
 *
 * Program reach composes tables (reachability is a union), so a library's table is computed once
 * per build and cached; a program's own analysis reads only tables.
 */
import { propagateToCallers } from './flow.js';
import { COPY_MARK, type ModuleFacts, type ReachMachine } from './module.js';
import type { CallSite, FunctionSummary, Value } from './summary.js';

/** Bumped whenever a table's meaning changes: older cache entries are recomputed. */
export const TABLE_FORMAT = 4;

/**
 * A call leaving the module: [import name, call address, [callee location, value][]]: a location
 * not listed, or null, is unknown there; an entry value ({e}) is the caller's own parameter (its
 * `pass` says where it goes).
 */
export type OutCall =
  | [string, number, [number, Value | null][]]
  /** 1: a local function's pass-through: only the listed locations come from this call site */
  | [string, number, [number, Value | null][], 1];

export interface EntryReach {
  /** System call numbers, sorted. */
  sys: number[];
  /** Indexes into the table's `needs`: names needed from other modules. */
  imports: number[];
  /** Indexes into the table's `sites`: sites whose number is unknown. */
  unresolved: number[];
  /** The table's `outCalls` this closure makes, as a bitset (base64, bit i = outCalls[i]). */
  out: string;
  /** When the entry is a function: locations whose entry value becomes a number inside the module (a wrapper). */
  params: number[];
  /** When the entry is a function: [import, callee location, own location]: passed on unchanged to another module. */
  pass: [string, number, number][];
}

export interface ModuleTable {
  format: typeof TABLE_FORMAT;
  buildId?: string;
  machine: ReachMachine;
  fixed: boolean;
  interp?: string;
  soname?: string;
  needed: string[];
  runpath: string[];
  go?: string;
  functions: number;
  /** Every undefined symbol. */
  imports: string[];
  /** When it imports dlopen: the shared objects its bytes name (ModuleFacts.libraryNames). */
  libraryNames?: string[];
  /** Defined symbols: [name, index into entries, is a function]. */
  exports: [string, number, boolean][];
  /** The loader's or kernel's ways in: [what ("entry", "init", "fini", "init array", ...), index into entries]. */
  roots: [string, number][];
  /** Distinct closures (exports with the same closure share one). */
  entries: EntryReach[];
  /** Names needed from other modules (functions called, data referenced; COPY_MARK + name: the library's object a COPY relocation copies). */
  needs: string[];
  /** Calls leaving the module, which may reach another module's wrapper, with the values they pass. */
  outCalls: OutCall[];
  /** Sites whose number is unknown: [address, function name or '', 'number' | 'foreign-abi' | 'wrapper-call']. */
  sites: [number, string, string][];
}

/** The indexes a base64 bitset holds. */
export function bitsOf(b64: string): number[] {
  const bytes = Buffer.from(b64, 'base64');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const v = bytes[i] as number;
    if (v === 0) continue;
    for (let k = 0; k < 8; k++) if ((v >> k) & 1) out.push(i * 8 + k);
  }
  return out;
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
const inRanges = (rs: readonly [number, number][], a: number) => rs.some(([s, e]) => a >= s && a < e);

/**
 * The argument values a call may pass a system call number in: constants below 1024 (no ABI
 * here numbers past that) and the caller's own parameters; addresses and other constants are no
 * number, so a call passing only those counts as passing an unknown one.
 */
function plausible(args: CallSite['args']): [number, Value][] {
  const out: [number, Value][] = [];
  for (const [l, v] of args ?? []) {
    if ('e' in v) out.push([l, v]);
    else {
      const c = v.c.filter((x) => x >= 0 && x < 1024);
      if (c.length === v.c.length) out.push([l, v]);
    }
  }
  return out;
}

/** Strongly connected components (Tarjan, iterative): each component's index, its members, and the order they complete in (every component after all it reaches). */
function sccs(
  n: number,
  next: (v: number) => number[],
): { of: Int32Array; members: number[][]; order: number[] } {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const on = new Uint8Array(n);
  const of = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  const members: number[][] = [];
  const order: number[] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    const work: [number, number[], number][] = [[root, next(root), 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    on[root] = 1;
    while (work.length > 0) {
      const top = work[work.length - 1] as [number, number[], number];
      const [v, ws] = top;
      if (top[2] < ws.length) {
        const w = ws[top[2]++] as number;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          on[w] = 1;
          work.push([w, next(w), 0]);
        } else if (on[w]) low[v] = Math.min(low[v] as number, index[w] as number);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const u = (work[work.length - 1] as [number, number[], number])[0];
        low[u] = Math.min(low[u] as number, low[v] as number);
      }
      if (low[v] === index[v]) {
        const c = members.length;
        const m: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          on[w] = 0;
          of[w] = c;
          m.push(w);
        } while (w !== v);
        members.push(m);
        order.push(c);
      }
    }
  }
  return { of, members, order };
}

/** Computes a module's table from its facts. */
export function moduleTable(facts: ModuleFacts): ModuleTable {
  const F = facts.functions;
  const starts = F.map((f) => f.start);
  const pointerAt = facts.pointers.map(([at]) => at);
  const objectStarts = facts.objects.map(([s]) => s);
  const plts = facts.plts;
  const functionAt = (addr: number): number => {
    const i = upperBound(starts, addr) - 1;
    return i >= 0 && addr < (F[i] as FunctionSummary).end ? i : -1;
  };
  const pointer = (at: number): number | string | undefined => {
    const i = upperBound(pointerAt, at) - 1;
    return i >= 0 && pointerAt[i] === at ? (facts.pointers[i] as [number, number | string])[1] : undefined;
  };
  const objectAt = (addr: number): [number, number] | undefined => {
    const top = upperBound(objectStarts, addr) - 1;
    for (let i = top; i >= 0 && i >= top - 4; i--) {
      const o = facts.objects[i] as [number, number];
      if (addr < o[1]) return o;
    }
    return undefined;
  };
  const dataExtent = (addr: number, size?: number): [number, number] => {
    if (inRanges(facts.got, addr)) return [addr, addr + 8];
    const o = objectAt(addr);
    if (o) return o;
    if (size !== undefined && size > 0) return [addr, addr + size];
    const i = upperBound(facts.boundaries, addr);
    return [addr, i < facts.boundaries.length ? (facts.boundaries[i] as number) : addr + 8];
  };
  // where a call leaves the module: a PLT stub's slot, or a pointer slot, naming a symbol
  const stubImport = (fi: number): string | undefined => {
    const f = F[fi] as FunctionSummary;
    if (!inRanges(plts, f.start)) return undefined;
    const c = f.calls.find((x) => x.tail && x.slot !== undefined);
    const t = c?.slot !== undefined ? pointer(c.slot) : undefined;
    return typeof t === 'string' ? t : undefined;
  };
  const leavesTo = (c: CallSite): string | undefined => {
    if (c.slot !== undefined) {
      const t = pointer(c.slot);
      return typeof t === 'string' ? t : undefined;
    }
    if (c.to !== undefined) {
      const fi = functionAt(c.to);
      return fi >= 0 ? stubImport(fi) : undefined;
    }
    return undefined;
  };
  const localCallee = (c: CallSite): number => {
    if (c.to === undefined) {
      const t = c.slot !== undefined ? pointer(c.slot) : undefined;
      return typeof t === 'number' ? functionAt(t) : -1;
    }
    const fi = functionAt(c.to);
    return fi >= 0 && stubImport(fi) === undefined ? fi : -1;
  };
  const callees = F.map((f) => f.calls.map(localCallee));
  const exits = F.map((f) => f.calls.map(leavesTo));

  // wrappers inside the module, and what each function passes on unchanged to other modules
  const params = F.map((f) => new Set(f.sysParams));
  const pass = F.map(() => new Map<string, [string, number, number]>());
  const argOf = (c: CallSite, loc: number): Value | undefined => c.args?.find(([l]) => l === loc)?.[1];
  const addPass = (fi: number, imp: string, loc: number, own: number): boolean => {
    const key = `${imp}\0${loc}\0${own}`;
    const m = pass[fi] as Map<string, [string, number, number]>;
    if (m.has(key)) return false;
    m.set(key, [imp, loc, own]);
    return true;
  };
  // calls leaving the module pass parameters on; then a worklist over callers
  const callers: [number, number][][] = F.map(() => []);
  F.forEach((f, fi) => {
    f.calls.forEach((c, ci) => {
      const g = (callees[fi] as number[])[ci] as number;
      const x = (exits[fi] as (string | undefined)[])[ci];
      if (g >= 0) (callers[g] as [number, number][]).push([fi, ci]);
      else if (x !== undefined) for (const [loc, v] of c.args ?? []) if ('e' in v) addPass(fi, x, loc, v.e);
    });
  });
  propagateToCallers(callers, (g, fi, ci) => {
    const c = (F[fi] as FunctionSummary).calls[ci] as CallSite;
    let changed = false;
    for (const r of params[g] as Set<number>) {
      const v = argOf(c, r);
      if (v && 'e' in v && !(params[fi] as Set<number>).has(v.e)) {
        (params[fi] as Set<number>).add(v.e);
        changed = true;
      }
    }
    for (const [imp, loc, r] of (pass[g] as Map<string, [string, number, number]>).values()) {
      const v = argOf(c, r);
      if (v && 'e' in v && addPass(fi, imp, loc, v.e)) changed = true;
    }
    return changed;
  });

  // the module as a graph: functions, then data objects; what each does itself; then, per strongly
  // connected component in reverse topological order, everything reachable from it (bitsets)
  const needs: string[] = [];
  const needIndex = new Map<string, number>();
  const need = (n: string) => {
    let i = needIndex.get(n);
    if (i === undefined) {
      i = needs.length;
      needs.push(n);
      needIndex.set(n, i);
    }
    return i;
  };
  const outCalls: OutCall[] = [];
  // calls passing the same values to the same import are one (the first site stands for the rest)
  const outIndex = new Map<string, number>();
  const outCall = (x: string, at: number, args: OutCall[2], only?: 1): number => {
    const key = `${x}\0${JSON.stringify(args)}${only ? '\0only' : ''}`;
    let i = outIndex.get(key);
    if (i === undefined) {
      i = outCalls.push(only ? [x, at, args, only] : [x, at, args]) - 1;
      outIndex.set(key, i);
    }
    return i;
  };
  const sites: [number, string, string][] = [];
  const dataNodes = new Map<number, number>(); // start -> node
  const dataExtents: [number, number][] = [];
  const succ: number[][] = F.map(() => []);
  const own: { sys: number[]; needs: number[]; out: number[]; sites: number[] }[] = F.map(() => ({
    sys: [],
    needs: [],
    out: [],
    sites: [],
  }));
  const nodeOfAddr = (a: number, size?: number): number => {
    const fi = functionAt(a);
    if (fi >= 0) return fi;
    if (!inRanges(facts.data, a)) return -1;
    const [s, e] = dataExtent(a, size);
    let n = dataNodes.get(s);
    if (n === undefined) {
      n = F.length + dataExtents.length;
      dataNodes.set(s, n);
      dataExtents.push([s, e]);
      succ.push([]);
      own.push({ sys: [], needs: [], out: [], sites: [] });
    }
    return n;
  };
  F.forEach((f, fi) => {
    const o = own[fi] as (typeof own)[number];
    const edges = succ[fi] as number[];
    const imp = stubImport(fi);
    if (imp !== undefined) {
      o.needs.push(need(imp));
      return;
    }
    const name = f.name ?? '';
    o.sys.push(...f.sys);
    for (const at of f.unresolved) o.sites.push(sites.push([at, name, 'number']) - 1);
    for (const at of f.foreign) o.sites.push(sites.push([at, name, 'foreign-abi']) - 1);
    f.calls.forEach((c, ci) => {
      const g = (callees[fi] as number[])[ci] as number;
      const x = (exits[fi] as (string | undefined)[])[ci];
      if (x !== undefined) {
        o.needs.push(need(x));
        o.out.push(outCall(x, c.at, plausible(c.args)));
      } else if (c.to !== undefined) edges.push(nodeOfAddr(c.to));
      else if (c.slot !== undefined) {
        const t = pointer(c.slot);
        if (typeof t === 'number') edges.push(nodeOfAddr(t));
        else if (t === undefined) edges.push(nodeOfAddr(c.slot));
      }
      if (g < 0) return;
      for (const r of params[g] as Set<number>) {
        const v = argOf(c, r);
        if (v && 'c' in v) o.sys.push(...v.c);
        else if (!(v && 'e' in v && (params[fi] as Set<number>).has(v.e)))
          o.sites.push(sites.push([c.at, name, 'wrapper-call']) - 1);
      }
      for (const [imp2, loc, r] of (pass[g] as Map<string, [string, number, number]>).values()) {
        const v = argOf(c, r);
        if (v && 'e' in v) continue; // passed on again: the caller's own pass entry
        o.out.push(outCall(imp2, c.at, [[loc, v && 'c' in v ? v : null]], 1));
      }
    });
    for (const r of f.refs) edges.push(nodeOfAddr(r));
  });
  // data objects (more appear while their pointers are read)
  for (let d = 0; d < dataExtents.length; d++) {
    const [s, e] = dataExtents[d] as [number, number];
    const n = F.length + d;
    for (let i = upperBound(pointerAt, s - 1); i < pointerAt.length && (pointerAt[i] as number) < e; i++) {
      const t = (facts.pointers[i] as [number, number | string])[1];
      if (typeof t === 'number') (succ[n] as number[]).push(nodeOfAddr(t));
      else (own[n] as (typeof own)[number]).needs.push(need(t));
    }
  }
  const exportNodes = facts.exports.map(([, addr, size, fn]) =>
    fn && functionAt(addr) >= 0 ? functionAt(addr) : nodeOfAddr(addr, size),
  );
  const rootNodes: [string, number][] = [];
  if (facts.entry !== 0 && functionAt(facts.entry) >= 0) rootNodes.push(['entry', functionAt(facts.entry)]);
  for (const a of facts.roots.functions) if (functionAt(a) >= 0) rootNodes.push(['init/fini', functionAt(a)]);
  for (const [s, e] of facts.roots.arrays) rootNodes.push(['init/fini array', nodeOfAddr(s, e - s)]);
  // data nodes created by exports and roots need their pointers too
  for (let d = 0; d < dataExtents.length; d++) {
    const n = F.length + d;
    if ((succ[n] as number[]).length > 0 || (own[n] as (typeof own)[number]).needs.length > 0) continue;
    const [s, e] = dataExtents[d] as [number, number];
    for (let i = upperBound(pointerAt, s - 1); i < pointerAt.length && (pointerAt[i] as number) < e; i++) {
      const t = (facts.pointers[i] as [number, number | string])[1];
      if (typeof t === 'number') (succ[n] as number[]).push(nodeOfAddr(t));
      else (own[n] as (typeof own)[number]).needs.push(need(t));
    }
  }
  // Go code calls through method tables, closures and the scheduler's function values, which the
  // call graph does not follow: every Go function counts as reachable (sound, as wide as the binary)
  if (facts.go) {
    const all = succ.length;
    succ.push(F.map((_f, i) => i));
    own.push({ sys: [], needs: [], out: [], sites: [] });
    rootNodes.push(['Go code (every function: calls through tables are not followed)', all]);
  }
  const N = succ.length;
  const comp = sccs(N, (v) => (succ[v] as number[]).filter((w) => w >= 0));
  // bitsets per component over: system call numbers | needs | out calls | sites
  // numbers at or past 1024 are no system call on these ABIs (a probe gets ENOSYS): not kept
  let SYS = 1;
  for (const o of own) for (const n of o.sys) if (n >= 0 && n < 1024 && n >= SYS) SYS = n + 1;
  const bits = SYS + needs.length + outCalls.length + sites.length;
  const W = (bits + 31) >>> 5;
  const all = new Uint32Array(comp.order.length * W);
  const sets = comp.order.map((_, c) => all.subarray(c * W, (c + 1) * W));
  const empty = new Uint8Array(comp.order.length).fill(1);
  const set = (b: Uint32Array, i: number) => {
    b[i >>> 5] = (b[i >>> 5] as number) | (1 << (i & 31));
  };
  for (let v = 0; v < N; v++) {
    const b = sets[comp.of[v] as number] as Uint32Array;
    const o = own[v] as (typeof own)[number];
    if (o.sys.length + o.needs.length + o.out.length + o.sites.length > 0) empty[comp.of[v] as number] = 0;
    for (const n of o.sys) if (n >= 0 && n < SYS) set(b, n);
    for (const i of o.needs) set(b, SYS + i);
    for (const i of o.out) set(b, SYS + needs.length + i);
    for (const i of o.sites) set(b, SYS + needs.length + outCalls.length + i);
  }
  // components come out of Tarjan's algorithm after every component they reach
  for (const c of comp.order) {
    const b = sets[c] as Uint32Array;
    for (const v of comp.members[c] as number[])
      for (const w of succ[v] as number[]) {
        if (w < 0) continue;
        const d = comp.of[w] as number;
        if (d === c || empty[d]) continue;
        empty[c] = 0;
        const bw = sets[d] as Uint32Array;
        for (let k = 0; k < W; k++) b[k] = (b[k] as number) | (bw[k] as number);
      }
  }
  const closureOf = (node: number, fnEntry: number): EntryReach => {
    const b = sets[comp.of[node] as number] as Uint32Array;
    const list = (from: number, to: number) => {
      const out: number[] = [];
      for (let i = from; i < to; i++) if (((b[i >>> 5] as number) >>> (i & 31)) & 1) out.push(i - from);
      return out;
    };
    const o1 = SYS + needs.length;
    const o2 = o1 + outCalls.length;
    const outBits = new Uint8Array((outCalls.length + 7) >>> 3);
    for (const i of list(o1, o2)) outBits[i >>> 3] = (outBits[i >>> 3] as number) | (1 << (i & 7));
    let last = outBits.length;
    while (last > 0 && outBits[last - 1] === 0) last--;
    return {
      sys: list(0, SYS),
      imports: list(SYS, o1),
      unresolved: list(o2, o2 + sites.length),
      out: Buffer.from(outBits.subarray(0, last)).toString('base64'),
      params: fnEntry >= 0 ? [...(params[fnEntry] as Set<number>)].sort((a, b) => a - b) : [],
      pass:
        fnEntry >= 0
          ? [...(pass[fnEntry] as Map<string, [string, number, number]>).values()].sort(
              (a, b) => a[0].localeCompare(b[0]) || a[1] - b[1] || a[2] - b[2],
            )
          : [],
    };
  };
  const entries: EntryReach[] = [];
  const index = new Map<string, number>();
  const intern = (e: EntryReach): number => {
    const key = JSON.stringify(e);
    let i = index.get(key);
    if (i === undefined) {
      i = entries.length;
      entries.push(e);
      index.set(key, i);
    }
    return i;
  };
  const exports: [string, number, boolean][] = [];
  facts.exports.forEach(([name, , , fn], i) => {
    const node = exportNodes[i] as number;
    if (node < 0) return;
    exports.push([name, intern(closureOf(node, node < F.length ? node : -1)), fn]);
  });
  const roots: [string, number][] = rootNodes
    .filter(([, n]) => n >= 0)
    .map(([what, n]) => [what, intern(closureOf(n, -1))]);
  const table: ModuleTable = {
    format: TABLE_FORMAT,
    machine: facts.machine,
    fixed: facts.fixed,
    needed: facts.needed,
    runpath: facts.runpath,
    functions: F.length,
    imports: facts.imports,
    exports,
    roots,
    entries,
    needs,
    outCalls,
    sites,
  };
  if (facts.buildId) table.buildId = facts.buildId;
  if (facts.interp) table.interp = facts.interp;
  if (facts.soname) table.soname = facts.soname;
  if (facts.go) table.go = facts.go;
  if (facts.libraryNames) table.libraryNames = facts.libraryNames;
  return table;
}

export { COPY_MARK };
