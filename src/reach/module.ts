/**
 * What one ELF file (a program or a shared library) holds for reach: its functions' summaries,
 * the symbols it exports and imports, every pointer stored in its data (from relocations, or from
 * the words themselves in a non-relocatable program), the boundaries between its data objects,
 * and the code the loader runs without a call (entry, init and fini functions and arrays).
 * Serialisable: the cache keeps it per build-id.
 */

import { type FunctionRange, functionsOf } from '../elf/functions.js';
import { goFunctions } from '../elf/gopclntab.js';
import {
  type Elf,
  ET_EXEC,
  parseElf,
  relocations,
  relrOffsets,
  SHT_REL,
  SHT_RELA,
  SHT_RELR,
  STT_FUNC,
  STT_GNU_IFUNC,
  wordAt,
} from '../elf/reader.js';
import { callNumber } from '../recording/numbers.js';
import { summarizeAarch64 } from './aarch64.js';
import { propagateToCallers } from './flow.js';
import { linkOf } from './link.js';
import type { CallSite, FunctionSummary } from './summary.js';
import { codeSections, loadsBefore, summarizeX86 } from './x86.js';

/** A pointer entry naming a symbol with this prefix is a COPY relocation: the object is the library's. */
export const COPY_MARK = '=';

/** Bumped whenever the analysis changes what it writes: older cache entries are recomputed. */
export const FACTS_FORMAT = 7;

export type ReachMachine = 'x86_64' | 'aarch64';

export interface ModuleFacts {
  format: typeof FACTS_FORMAT;
  buildId?: string;
  machine: ReachMachine;
  /** ET_EXEC (fixed addresses) or ET_DYN (a library, or a position-independent program). */
  fixed: boolean;
  interp?: string;
  soname?: string;
  needed: string[];
  runpath: string[];
  entry: number;
  /** The Go table's format when this is a Go program. */
  go?: string;
  functions: FunctionSummary[];
  /** Defined dynamic symbols: [name, address, size, is a function]. The default version first. */
  exports: [string, number, number, boolean][];
  /** Undefined dynamic symbols (what the file needs from others). */
  imports: string[];
  /** When it imports dlopen: the shared objects its bytes name (what it may load at run time). */
  libraryNames?: string[];
  /** Pointers stored in the file's data, sorted by where: [where, a local address or a symbol name]. */
  pointers: [number, number | string][];
  /** Where data objects begin (addresses code refers to, symbols, section starts), sorted. */
  boundaries: number[];
  /** Data symbols with a size: [start, end), sorted; a reference anywhere inside reaches all of it. */
  objects: [number, number][];
  /** Allocated data sections: [start, end). */
  data: [number, number][];
  /** Pointer tables of the loader (.got, .got.plt): a reference to one slot reaches that slot only. */
  got: [number, number][];
  /** PLT sections: a call into one leaves the module through the stub's slot. */
  plts: [number, number][];
  /** Code run by the loader or the kernel without a call: functions and pointer arrays. */
  roots: { functions: number[]; arrays: [number, number][] };
}

const RELOC = {
  x86_64: { abs: [1], globDat: [6], jumpSlot: [7], relative: [8], irelative: [37], copy: [5] },
  aarch64: {
    abs: [257],
    globDat: [1025],
    jumpSlot: [1026],
    relative: [1027],
    irelative: [1032],
    copy: [1024],
  },
} as const;

/**
 * Names of Go functions that take the system call number as their first argument (register ABI:
 * rax on amd64, x0 on arm64): the syscall package, x/sys/unix and the runtime's internal ones.
 * Their callers' constants are the numbers; the functions' own sites read it from a parameter.
 */
/** The stack-slot locations [first, end) of each machine (summary.ts: x86-64 16..31, aarch64 32..39). */
const STACK_LOCATIONS: Record<ReachMachine, [number, number]> = { x86_64: [16, 32], aarch64: [32, 40] };

const GO_WRAPPERS =
  /^(syscall|golang\.org\/x\/sys\/unix|runtime\/internal\/syscall|internal\/runtime\/syscall|syscall\.runtime_doAllThreadsSyscall)\.(Syscall|Syscall6|Syscall9|RawSyscall|RawSyscall6|RawSyscallNoError|rawSyscallNoError|SyscallNoError|rawVforkSyscall|RawSyscall6\.abi0|Syscall6\.abi0|AllThreadsSyscall|AllThreadsSyscall6)(\.abi0)?$/;

/** PLT sections split into their stubs (each a function: a call to one reaches one import). */
function pltStubs(elf: Elf): FunctionRange[] {
  const out: FunctionRange[] = [];
  for (const s of elf.sections) {
    if (!/^\.(i?plt)(\.sec|\.got)?$/.test(s.name) || s.size === 0) continue;
    const size = s.entsize >= 8 && s.entsize <= 32 ? s.entsize : 16;
    for (let a = s.addr; a + size <= s.addr + s.size; a += size) out.push({ start: a, end: a + size });
  }
  return out;
}

/** Executable bytes no function covers (assembly without unwind data): decoded as functions too. */
function gaps(elf: Elf, fns: readonly FunctionRange[]): FunctionRange[] {
  const out: FunctionRange[] = [];
  for (const s of codeSections(elf)) {
    if (/^\.(i?plt)(\.sec|\.got)?$/.test(s.name)) continue;
    let at = s.addr;
    const end = s.addr + s.size;
    for (const f of fns) {
      if (f.end <= at || f.start >= end) continue;
      if (f.start > at) out.push({ start: at, end: f.start });
      at = Math.max(at, f.end);
    }
    if (at < end) out.push({ start: at, end });
  }
  // small ones count: the kernel's signal return trampoline (__restore_rt) is 9 bytes without unwind data
  return out;
}

function dataSections(elf: Elf): [number, number][] {
  return elf.sections
    .filter((s) => (s.flags & 0x2) !== 0 && (s.flags & 0x4) === 0 && s.size > 0 && s.addr > 0)
    .map((s) => [s.addr, s.addr + s.size] as [number, number])
    .sort((a, b) => a[0] - b[0]);
}

function pointersOf(
  elf: Elf,
  machine: ReachMachine,
  functions: readonly FunctionSummary[],
  data: readonly [number, number][],
): [number, number | string][] {
  const out: [number, number | string][] = [];
  const t = RELOC[machine];
  const has = (list: readonly number[], x: number) => list.includes(x);
  let relocated = false;
  for (const s of elf.sections) {
    if (s.type === SHT_RELR) {
      for (const at of relrOffsets(elf, s)) {
        relocated = true;
        const v = wordAt(elf, at);
        if (v !== undefined) out.push([at, v]);
      }
      continue;
    }
    if (s.type !== SHT_RELA && s.type !== SHT_REL) continue;
    const symtab = elf.sections[s.link];
    const syms = symtab && symtab.type === 11 ? elf.dynsym : elf.symtab;
    for (const r of relocations(elf, s)) {
      relocated = true;
      if (has(t.relative, r.type) || has(t.irelative, r.type)) out.push([r.offset, r.addend]);
      else if (has(t.abs, r.type) || has(t.globDat, r.type) || has(t.jumpSlot, r.type)) {
        const sym = syms[r.sym];
        if (!sym) continue;
        if (sym.shndx !== 0 && sym.bind === 0) out.push([r.offset, sym.value + r.addend]);
        else if (sym.name) out.push([r.offset, sym.name]);
      } else if (has(t.copy, r.type)) {
        // the program holds a copy of a library's data object (stdout, environ): its pointers are the library's
        const sym = syms[r.sym];
        if (sym?.name) out.push([r.offset, `${COPY_MARK}${sym.name}`]);
      }
    }
  }
  if (!relocated || elf.type === ET_EXEC) {
    // fixed addresses: pointers are the words themselves
    const starts = new Set(functions.map((f) => f.start));
    const inData = (v: number) => data.some(([a, b]) => v >= a && v < b);
    for (const s of elf.sections) {
      if (
        (s.flags & 0x2) === 0 ||
        (s.flags & 0x4) !== 0 ||
        s.type === 8 ||
        s.size === 0 ||
        s.name === '.eh_frame' ||
        s.name === '.gopclntab'
      )
        continue;
      for (let a = s.addr + ((8 - (s.addr % 8)) % 8); a + 8 <= s.addr + s.size; a += 8) {
        const v = wordAt(elf, a);
        if (v !== undefined && v !== 0 && (starts.has(v) || inData(v))) out.push([a, v]);
      }
    }
  }
  out.sort((a, b) => a[0] - b[0] || String(a[1]).localeCompare(String(b[1])));
  return out;
}

/**
 * Keeps, at each call, only the argument values a system call number may travel in: all of them
 * at calls leaving the module (a PLT stub or a pointer slot: the callee may be another module's
 * wrapper, such as libc's syscall()), and at a call inside the module, the locations the callee
 * may take a number in. "May" is a fixpoint over the module where every call leaving it counts as
 * a wrapper on every location passed on unchanged; program reach settles the real wrappers.
 */
function pruneArguments(functions: FunctionSummary[], plts: readonly [number, number][]): void {
  const starts = functions.map((f) => f.start);
  const at = (a: number): number => {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((starts[mid] as number) <= a) lo = mid + 1;
      else hi = mid;
    }
    const f = functions[lo - 1];
    return f && a < f.end ? lo - 1 : -1;
  };
  const leaves = (c: CallSite) =>
    c.slot !== undefined ||
    (c.to !== undefined && plts.some(([s, e]) => (c.to as number) >= s && (c.to as number) < e));
  const may = functions.map((f) => new Set(f.sysParams));
  const callee = functions.map((f) => f.calls.map((c) => (c.to !== undefined && !leaves(c) ? at(c.to) : -1)));
  // a call leaving the module may reach a wrapper on any location it passes a parameter in
  const callers: [number, number][][] = functions.map(() => []);
  functions.forEach((f, fi) => {
    f.calls.forEach((c, ci) => {
      const g = (callee[fi] as number[])[ci] as number;
      if (g >= 0) (callers[g] as [number, number][]).push([fi, ci]);
      else if (leaves(c)) for (const [, v] of c.args ?? []) if ('e' in v) (may[fi] as Set<number>).add(v.e);
    });
  });
  propagateToCallers(callers, (g, fi, ci) => {
    const c = (functions[fi] as FunctionSummary).calls[ci] as CallSite;
    let changed = false;
    for (const l of may[g] as Set<number>) {
      const v = c.args?.find(([x]) => x === l)?.[1];
      if (v && 'e' in v && !(may[fi] as Set<number>).has(v.e)) {
        (may[fi] as Set<number>).add(v.e);
        changed = true;
      }
    }
    return changed;
  });
  functions.forEach((f, fi) => {
    f.calls.forEach((c, ci) => {
      if (!c.args || leaves(c)) return;
      const g = (callee[fi] as number[])[ci] as number;
      const keep = g >= 0 ? (may[g] as Set<number>) : undefined;
      const args = keep ? c.args.filter(([l]) => keep.has(l)) : [];
      if (args.length > 0) c.args = args;
      else delete c.args;
    });
  });
}

/**
 * glibc's set*id broadcast: setuid() and its siblings, in a process with threads, hand
 * `__nptl_setxid` a command { int syscall_no; long id[3] } that every thread runs from a signal
 * handler, so that all threads change credentials together (sysdeps/nptl/setxid.h). The number
 * comes from memory, but only those callers write it, with the number each also calls directly:
 * a site that loads number and arguments from offsets 0, 8, 16 and 24 of one register in glibc is
 * this broadcast, and its numbers are the set*id calls. Recognised by that shape only (x86-64).
 */
const SETXID_CALLS = ['setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setgroups'];

function settleSetxid(elf: Elf, functions: FunctionSummary[]): void {
  // rax (32-bit) from +0, rdi from +8, rsi from +16, rdx from +24
  const shape = new Map([
    [0, 0],
    [7, 8],
    [6, 16],
    [2, 24],
  ]);
  for (const f of functions) {
    if (f.unresolved.length === 0) continue;
    const left: number[] = [];
    for (const site of f.unresolved) {
      const loads = loadsBefore(elf, f.start, site, 4);
      const ok =
        loads.length === 4 &&
        loads.every(
          (l) =>
            l !== undefined &&
            l.base === loads[0]?.base &&
            shape.get(l.reg) === l.disp &&
            (l.reg !== 0 || l.bits === 32),
        ) &&
        new Set(loads.map((l) => l?.reg)).size === 4;
      if (!ok) {
        left.push(site);
        continue;
      }
      const numbers = SETXID_CALLS.map((n) => callNumber('x86_64', n)).filter(
        (n): n is number => n !== undefined,
      );
      f.sys = [...new Set([...f.sys, ...numbers])].sort((a, b) => a - b);
    }
    f.unresolved = left;
  }
}

/**
 * Functions the C and C++ standards, POSIX and the GNU C library declare never to return: a PLT
 * stub that leaves the module for one of these never comes back.
 */
const NO_RETURN_IMPORTS = new Set([
  'exit',
  '_exit',
  '_Exit',
  'quick_exit',
  'abort',
  'pthread_exit',
  'thrd_exit',
  'longjmp',
  '_longjmp',
  'siglongjmp',
  '__longjmp_chk',
  '__stack_chk_fail',
  '__chk_fail',
  '__fortify_fail',
  '__assert_fail',
  '__assert_perror_fail',
  '__libc_fatal',
  'err',
  'errx',
  'verr',
  'verrx',
  '__cxa_throw',
  '__cxa_rethrow',
  '__cxa_bad_cast',
  '__cxa_bad_typeid',
  '__cxa_throw_bad_array_new_length',
  '_Unwind_Resume',
]);

/**
 * The module's functions that never return (their start addresses): the greatest set where each
 * member has no return, jump out or fall-through of its own (`noRet`) and ends, if in a call, in a
 * call of a member; PLT stubs of the imports above are members.
 */
function neverReturning(
  functions: readonly FunctionSummary[],
  inStub: (a: number) => boolean,
  pointers: readonly [number, number | string][],
): Set<number> {
  const slotName = new Map(pointers.filter(([, t]) => typeof t === 'string') as [number, string][]);
  const out = new Set<number>();
  for (const f of functions) {
    if (inStub(f.start)) {
      const jump = f.calls.find((c) => c.tail && c.slot !== undefined);
      const name = jump?.slot !== undefined ? slotName.get(jump.slot) : undefined;
      if (name !== undefined && NO_RETURN_IMPORTS.has(name.replace(/@.*$/, ''))) out.add(f.start);
    } else if (f.noRet !== undefined) out.add(f.start);
  }
  const byStart = new Map(functions.map((f) => [f.start, f]));
  for (let changed = true; changed; ) {
    changed = false;
    for (const a of out) {
      const f = byStart.get(a) as FunctionSummary;
      if (f.noRet !== undefined && f.noRet !== -1 && !out.has(f.noRet)) {
        out.delete(a);
        changed = true;
      }
    }
  }
  return out;
}

/** Reads one ELF file's facts (decoding all its code). */
export function moduleFacts(bytes: Uint8Array, file: string): ModuleFacts {
  const elf = parseElf(bytes, file);
  const link = linkOf(elf, bytes);
  const machine = link.machine;
  const go = goFunctions(elf);
  const base = functionsOf(elf, go?.functions ?? []);
  const stubs = pltStubs(elf);
  const plts = elf.sections.filter((s) => /^\.(i?plt)(\.sec|\.got)?$/.test(s.name));
  const inStub = (a: number) => plts.some((s) => a >= s.addr && a < s.addr + s.size);
  const ranges = [...base.filter((f) => !inStub(f.start)), ...stubs].sort((a, b) => a.start - b.start);
  const all = [...ranges, ...gaps(elf, ranges)].sort((a, b) => a.start - b.start);
  const opts: { go: boolean; noReturn?: ReadonlySet<number> } = { go: go !== undefined };
  const summarize = (rs: FunctionRange[]) =>
    machine === 'x86_64' ? summarizeX86(elf, rs, opts) : summarizeAarch64(elf, rs, opts);
  const functions = summarize(all);
  // entries inside a function (a signal trampoline whose unwind entry starts a byte early, an
  // assembly label whose address is taken): decoded again from there
  const starts = functions.map((f) => f.start);
  const inner = new Map<number, FunctionRange>();
  // (not a conditional jump's target: a cold fragment jumping back into its function's middle,
  // whose code that function's own reading covers; decoding from every such target again cost
  // python3 7 s)
  for (const f of functions)
    for (const t of [...f.refs, ...f.calls.map((c) => (c.cond ? -1 : (c.to ?? -1)))]) {
      let lo = 0;
      let hi = starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((starts[mid] as number) <= t) lo = mid + 1;
        else hi = mid;
      }
      const host = functions[lo - 1];
      if (host && t > host.start && t < host.end && !inner.has(t) && !(t >= f.start && t < f.end))
        inner.set(t, { start: t, end: host.end });
    }
  if (inner.size > 0) {
    functions.push(...summarize([...inner.values()]));
    functions.sort((a, b) => a.start - b.start);
  }
  if (go) {
    // Go's wrappers keep the number across calls (entersyscall) in places the propagation does
    // not follow, so a wrapper by name takes it in its first register (ABIInternal). Not so the
    // ABI0 ones, whose callers pass it on the stack: a jump trampoline (x/sys/unix's asm
    // `JMP syscall·Syscall`) and an ABI0-to-ABIInternal shim (a register loaded from an incoming
    // stack slot and passed on) get their parameters from what they call, by propagation.
    const param = 0; // rax (amd64) and x0 (arm64) are both location 0
    const stack = (l: number) => l >= STACK_LOCATIONS[machine][0] && l < STACK_LOCATIONS[machine][1];
    const abi0 = (f: FunctionSummary) =>
      (f.calls.length === 1 && f.calls[0]?.tail === true && f.calls[0].at === f.start) ||
      f.calls.some((c) => (c.args ?? []).some(([l, v]) => !stack(l) && 'e' in v && stack(v.e)));
    for (const f of functions)
      if (f.name && GO_WRAPPERS.test(f.name) && !f.sysParams.includes(param) && !abi0(f))
        f.sysParams = [...f.sysParams, param].sort((a, b) => a - b);
  }
  const data = dataSections(elf);
  const pointers = pointersOf(elf, machine, functions, data);
  // a call of a function that never returns ends its path: the values after it (a register the
  // compiler knows the callee keeps, clobbered by our default) no longer pollute the loop it sits
  // in. Only functions with a site whose number is unknown are read again with that knowledge.
  const never = neverReturning(functions, inStub, pointers);
  const again = functions.filter(
    (f) => f.unresolved.length > 0 && f.calls.some((c) => c.to !== undefined && never.has(c.to)),
  );
  if (again.length > 0) {
    opts.noReturn = never;
    // (the same ranges, names kept; the pointers depend only on where functions start: unchanged)
    const redone = new Map(summarize(again).map((f) => [f.start, f]));
    for (let i = 0; i < functions.length; i++) {
      const r = redone.get((functions[i] as FunctionSummary).start);
      if (r) functions[i] = r;
    }
  }
  if (machine === 'x86_64' && elf.soname === 'libc.so.6') settleSetxid(elf, functions);
  pruneArguments(
    functions,
    plts.map((x) => [x.addr, x.addr + x.size] as [number, number]),
  );
  const exports: [string, number, number, boolean][] = [];
  const seen = new Set<string>();
  const defined = elf.dynsym.filter((s) => s.shndx !== 0 && s.bind !== 0 && s.name !== '');
  // the default version (not hidden) of a name first
  for (const s of [...defined.filter((x) => !x.hidden), ...defined.filter((x) => x.hidden)]) {
    if (seen.has(s.name)) continue;
    seen.add(s.name);
    exports.push([s.name, s.value, s.size, s.type === STT_FUNC || s.type === STT_GNU_IFUNC]);
  }
  exports.sort((a, b) => a[0].localeCompare(b[0]));
  const imports = link.imports;
  const inDataRange = (a: number) => data.some(([s, e]) => a >= s && a < e);
  const bounds = new Set<number>();
  for (const [s, e] of data) {
    bounds.add(s);
    bounds.add(e);
  }
  for (const f of functions) for (const r of f.refs) if (inDataRange(r)) bounds.add(r);
  for (const s of [...elf.dynsym, ...elf.symtab])
    if (s.shndx !== 0 && inDataRange(s.value)) bounds.add(s.value);
  for (const [, to] of pointers) if (typeof to === 'number' && inDataRange(to)) bounds.add(to);
  const objects = [...elf.dynsym, ...elf.symtab]
    .filter(
      (x) =>
        x.shndx !== 0 &&
        x.size > 0 &&
        x.type !== STT_FUNC &&
        x.type !== STT_GNU_IFUNC &&
        inDataRange(x.value),
    )
    .map((x) => [x.value, x.value + x.size] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const sec = (name: string) => elf.sections.find((s) => s.name === name);
  const array = (
    dyn: { addr: number; size: number } | undefined,
    name: string,
  ): [number, number] | undefined => {
    if (dyn) return [dyn.addr, dyn.addr + dyn.size];
    const s = sec(name);
    return s && s.size > 0 ? [s.addr, s.addr + s.size] : undefined;
  };
  const arrays = [
    array(elf.preinitArray, '.preinit_array'),
    array(elf.initArray, '.init_array'),
    array(elf.finiArray, '.fini_array'),
  ].filter((x): x is [number, number] => x !== undefined);
  for (const [s, e] of arrays) {
    bounds.add(s);
    bounds.add(e);
  }
  const rootFns = [elf.init ?? sec('.init')?.addr, elf.fini ?? sec('.fini')?.addr].filter(
    (x): x is number => x !== undefined && x !== 0,
  );
  // found by name, not by reference: the loader calls a library's __libc_early_init; a program's entry
  for (const [name, addr, , isFn] of exports) if (isFn && name === '__libc_early_init') rootFns.push(addr);
  const facts: ModuleFacts = {
    format: FACTS_FORMAT,
    machine,
    fixed: elf.type === ET_EXEC,
    needed: link.needed,
    runpath: link.runpath,
    entry: elf.entry,
    functions,
    exports,
    imports,
    pointers,
    boundaries: [...bounds].sort((a, b) => a - b),
    objects: objects.filter(
      (o, i) =>
        i === 0 ||
        o[0] !== (objects[i - 1] as [number, number])[0] ||
        o[1] !== (objects[i - 1] as [number, number])[1],
    ),
    data,
    plts: plts.map((x) => [x.addr, x.addr + x.size] as [number, number]),
    got: elf.sections
      .filter((x) => /^\.got(\.plt)?$/.test(x.name) && x.size > 0)
      .map((x) => [x.addr, x.addr + x.size] as [number, number]),
    roots: { functions: [...new Set(rootFns)].sort((a, b) => a - b), arrays },
  };
  if (elf.buildId) facts.buildId = elf.buildId;
  if (link.interp) facts.interp = link.interp;
  if (link.soname) facts.soname = link.soname;
  if (link.libraryNames) facts.libraryNames = link.libraryNames;
  if (go) facts.go = go.version;
  return facts;
}
