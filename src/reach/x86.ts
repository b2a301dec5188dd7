/**
 * x86-64 machine code to function summaries. Instructions are decoded by iced-x86 (a Rust decoder
 * compiled to WebAssembly, decoding every instruction of the ISA; one decoder per executable
 * section, no process spawned); this file turns each into the few facts the analysis needs and
 * runs a constant propagation over the function's blocks: which number reaches each `syscall`,
 * which constants or entry registers reach each call's argument registers and the outgoing stack
 * slots, and which addresses the function takes.
 *
 * Register facts: a 32-bit write zero-extends (a constant survives); 8- and 16-bit writes, any
 * instruction writing a register that is not a move of a known value, and implicit writes (mul,
 * div, cpuid, string instructions, syscall's rcx and r11, ...) make it unknown. After a call the
 * caller-saved registers are unknown (every register but rsp in Go code, whose ABI saves none).
 */
import { createRequire } from 'node:module';
import type { Elf, Section } from '../elf/reader.js';
import { type Abi, analyse } from './analyse.js';
import { K, OpTable } from './ops.js';
import type { FunctionSummary } from './summary.js';

type Iced = typeof import('iced-x86');
let iced: Iced | undefined;
function decoderLib(): Iced {
  iced ??= createRequire(import.meta.url)('iced-x86') as Iced;
  return iced;
}

/** Locations: rax..r15 are 0..15 (iced's order), [rsp+0], [rsp+8], ... [rsp+0x78] are 16..31 (Go ABI0 shims read their arguments past a 0x40-byte frame). */
export const X86_LOCATIONS = 32;
const RSP = 4;
const STACK0 = 16;
const STACK_SLOTS = 16;
/** iced's Register values of RSP and RIP. */
const RSP_REG = 57;
const RIP = 70;
/** C (SysV): rdi, rsi, rdx, rcx, r8, r9. Go ABIInternal: rax, rbx, rcx, rdi, rsi, r8..r11. */

/** The family (0..15) of a general-purpose register of iced's Register enum, or -1. */
function family(r: number): number {
  if (r >= 53 && r <= 68) return r - 53; // RAX..R15
  if (r >= 37 && r <= 52) return r - 37; // EAX..R15D
  if (r >= 21 && r <= 36) return r - 21; // AX..R15W
  if (r >= 1 && r <= 4) return r - 1; // AL..BL
  if (r >= 5 && r <= 8) return r - 5; // AH..BH
  if (r >= 9 && r <= 20) return r - 5; // SPL..R15L
  return -1;
}
const width = (r: number): number =>
  r >= 53 && r <= 68 ? 64 : r >= 37 && r <= 52 ? 32 : r >= 21 && r <= 36 ? 16 : 8;

interface Mn {
  readOnly: Set<number>;
  implicit: Map<number, number[]>;
  mov: number;
  xor: number;
  sub: number;
  add: number;
  lea: number;
  movsxd: number;
  xchg: number;
  xadd: number;
  syscall: number;
  sysenter: number;
  hlt: number;
  int: number;
  push: number;
  pop: number;
}
let mnemonics: Mn | undefined;
function mn(lib: Iced): Mn {
  if (mnemonics) return mnemonics;
  const M = lib.Mnemonic as unknown as Record<string, number>;
  const ids = (names: string[]) => names.map((n) => M[n]).filter((x): x is number => x !== undefined);
  const RAX = 0;
  const RCX = 1;
  const RDX = 2;
  const RBX = 3;
  const RSI = 6;
  const RDI = 7;
  const R11 = 11;
  const implicit = new Map<number, number[]>();
  const add = (names: string[], regs: number[]) => {
    for (const id of ids(names)) implicit.set(id, regs);
  };
  add(['Mul', 'Div', 'Idiv', 'Rdtsc', 'Xgetbv', 'Rdpkru', 'Rdmsr', 'Cmpxchg8b', 'Cmpxchg16b'], [RAX, RDX]);
  add(['Imul'], [RAX, RDX]); // the one-operand form; the others write op0, which is clobbered anyway
  add(['Cdq', 'Cqo', 'Cwd'], [RDX]);
  add(['Cdqe', 'Cwde', 'Cbw', 'Lahf', 'In', 'Xlatb', 'Cmpxchg'], [RAX]);
  add(['Cpuid'], [RAX, RBX, RCX, RDX]);
  add(['Rdtscp'], [RAX, RCX, RDX]);
  add(['Syscall', 'Sysenter'], [RAX, RCX, R11]);
  add(['Lodsb', 'Lodsw', 'Lodsd', 'Lodsq'], [RAX, RSI, RCX]);
  add(['Stosb', 'Stosw', 'Stosd', 'Stosq', 'Scasb', 'Scasw', 'Scasd', 'Scasq'], [RDI, RCX]);
  add(
    [
      'Movsb',
      'Movsw',
      'Movsd',
      'Movsq',
      'Cmpsb',
      'Cmpsw',
      'Cmpsd',
      'Cmpsq',
      'Insb',
      'Insw',
      'Insd',
      'Outsb',
      'Outsw',
      'Outsd',
    ],
    [RDI, RSI, RCX],
  );
  add(['Loop', 'Loope', 'Loopne'], [RCX]);
  add(['Leave', 'Enter'], [5]);
  mnemonics = {
    readOnly: new Set(
      ids([
        'Cmp',
        'Test',
        'Bt',
        'Push',
        'Out',
        'Prefetchnta',
        'Prefetcht0',
        'Prefetcht1',
        'Prefetcht2',
        'Prefetchw',
        'Clflush',
        'Clflushopt',
        'Clwb',
        'Nop',
      ]),
    ),
    implicit,
    mov: M.Mov as number,
    xor: M.Xor as number,
    sub: M.Sub as number,
    add: M.Add as number,
    lea: M.Lea as number,
    movsxd: M.Movsxd as number,
    xchg: M.Xchg as number,
    xadd: M.Xadd as number,
    syscall: M.Syscall as number,
    sysenter: M.Sysenter as number,
    hlt: M.Hlt as number,
    int: M.Int as number,
    push: M.Push as number,
    pop: M.Pop as number,
  };
  return mnemonics;
}

/** The sections holding code. */
export function codeSections(elf: Elf): Section[] {
  return elf.sections.filter((s) => (s.flags & 0x4) !== 0 && s.type !== 8 && s.size > 0);
}

export interface X86Options {
  /** Go code: no callee-saved registers. */
  go: boolean;
  /** Functions known never to return (analyse). */
  noReturn?: ReadonlySet<number>;
}

const OP_REG = 0;
const OP_NB32 = 2;
const OP_NB64 = 3;
const OP_MEM = 24;
const IMMS = new Set([6, 8, 9, 10, 11, 12, 13, 14]);

/** Decodes one function range into `ops` (and the addresses it takes into `refs`). */
function decode(
  m: Mn,
  sec: Section,
  bytes: Uint8Array,
  decoder: InstanceType<Iced['Decoder']>,
  instr: InstanceType<Iced['Instruction']>,
  start: number,
  end: number,
  ops: OpTable,
  refs: Set<number>,
  fixed: readonly [number, number] | undefined,
): void {
  ops.reset();
  decoder.position = start - sec.addr;
  decoder.ip = BigInt(start);
  const stopPos = Math.min(end, sec.addr + sec.size) - sec.addr;
  while (decoder.position < stopPos) {
    decoder.decodeOut(instr);
    const at = instr.ip32;
    const fc = instr.flowControl;
    const mnemonic = instr.mnemonic;
    const k0: number = instr.op0Kind;
    const k1: number = instr.opCount > 1 ? instr.op1Kind : -1;
    // taken addresses: rip-relative memory operands and lea
    let rip = -1;
    if ((k0 === OP_MEM || k1 === OP_MEM) && instr.memoryBase === RIP) {
      rip = Number(instr.memoryDisplacement);
      refs.add(rip);
    }
    // a program linked at a fixed address (ET_EXEC) takes addresses as immediates (mov $main,
    // %rdi) and absolute memory operands (a jump table at 0x4a5f00(,%rax,8))
    if (fixed) {
      for (let o = 0; o < instr.opCount; o++) {
        const k = instr.opKind(o) as number;
        let v = -1;
        if (IMMS.has(k)) v = Number(BigInt.asUintN(64, instr.immediate(o)));
        else if (k === OP_MEM && instr.memoryBase === 0)
          v = Number(BigInt.asUintN(64, BigInt(instr.memoryDisplacement)));
        if (v >= fixed[0] && v < fixed[1]) refs.add(v);
      }
    }
    if (mnemonic === m.syscall || mnemonic === m.sysenter) {
      ops.push(K.Syscall, at);
      continue;
    }
    // hlt faults in user mode (iced calls its flow "next"): the path ends, as after ud2
    if (mnemonic === m.hlt) {
      ops.push(K.Stop, at);
      continue;
    }
    if (fc === 0 /* Next */) {
      if (mnemonic === m.int) {
        if (instr.immediate8 === 0x80) ops.push(K.Foreign, at);
        continue;
      }
      if (k0 === OP_REG) {
        const r0 = instr.op0Register;
        const d = family(r0);
        if (d < 0) continue; // not a general-purpose register (xmm, segment, ...)
        if (d === RSP) {
          // sub/add of a constant: the frame moves by a known amount (the slots shift with it)
          if ((mnemonic === m.sub || mnemonic === m.add) && IMMS.has(k1)) {
            const v = Number(instr.immediate(1));
            ops.push(K.StackMove, at, -1, -1, mnemonic === m.sub ? v : -v, -1, -1, -1, 1);
          } else ops.push(K.StackMove, at);
          continue;
        }
        const imp = m.implicit.get(mnemonic);
        const impList = imp ? ops.list(imp) : -1;
        if (m.readOnly.has(mnemonic)) {
          if (imp) ops.push(K.Clobber, at, -1, -1, 0, -1, -1, -1, 0, impList);
          continue;
        }
        const w = width(r0);
        if (w >= 32 && !imp) {
          const r1: number = k1 === OP_REG ? instr.op1Register : 0;
          const s1 = k1 === OP_REG ? family(r1) : -1;
          if (mnemonic === m.mov) {
            if (IMMS.has(k1)) {
              const v = Number(instr.immediate(1));
              ops.push(K.Set, at, d, -1, w === 32 ? v >>> 0 : v);
              continue;
            }
            if (s1 >= 0 && width(r1) >= 32) {
              if (s1 === RSP) ops.push(K.Clobber, at, d);
              else ops.push(K.Copy, at, d, s1);
              continue;
            }
            if (
              k1 === OP_MEM &&
              rip < 0 &&
              instr.memoryBase === RSP_REG &&
              instr.memoryIndex === 0 &&
              w === 64
            ) {
              const off = Number(instr.memoryDisplacement);
              if (off >= 0 && off < 8 * STACK_SLOTS && off % 8 === 0) {
                ops.push(K.Copy, at, d, STACK0 + off / 8);
                continue;
              }
            }
          } else if (mnemonic === m.lea && rip >= 0) {
            ops.push(K.Set, at, d, -1, rip);
            continue;
          } else if ((mnemonic === m.xor || mnemonic === m.sub) && s1 === d) {
            ops.push(K.Set, at, d, -1, 0);
            continue;
          } else if ((mnemonic === m.add || mnemonic === m.sub) && IMMS.has(k1)) {
            const v = Number(instr.immediate(1));
            ops.push(K.Add, at, d, -1, mnemonic === m.add ? v : -v);
            continue;
          } else if (mnemonic === m.add && s1 >= 0) {
            ops.push(K.TableAdd, at, d, s1);
            continue;
          } else if (mnemonic === m.movsxd && k1 === OP_MEM && instr.memoryIndexScale === 4) {
            ops.push(K.Table, at, d);
            continue;
          } else if (mnemonic === m.xchg && s1 >= 0 && s1 !== RSP) {
            ops.push(K.Xchg, at, d, s1);
            continue;
          } else if (mnemonic === m.xadd && s1 >= 0) {
            ops.push(K.Clobber, at, d, s1);
            continue;
          }
        }
        ops.push(K.Clobber, at, d, -1, 0, -1, -1, -1, 0, impList);
        continue;
      }
      if (k0 === OP_MEM && mnemonic === m.mov && instr.memoryBase === RSP_REG && instr.memoryIndex === 0) {
        const off = Number(instr.memoryDisplacement);
        if (off >= 0 && off < 8 * STACK_SLOTS && off % 8 === 0) {
          const slot = STACK0 + off / 8;
          const s1 = k1 === OP_REG ? family(instr.op1Register) : -1;
          if (IMMS.has(k1)) ops.push(K.Store, at, slot, -1, Number(instr.immediate(1)));
          else if (s1 >= 0 && s1 !== RSP) ops.push(K.Store, at, slot, s1);
          else ops.push(K.Clobber, at, slot);
          continue;
        }
      }
      if (mnemonic === m.push || mnemonic === m.pop) {
        ops.push(
          K.StackMove,
          at,
          mnemonic === m.pop && k0 === OP_REG ? family(instr.op0Register) : -1,
          -1,
          mnemonic === m.push ? 8 : -8,
          -1,
          -1,
          -1,
          1,
        );
        continue;
      }
      const imp = m.implicit.get(mnemonic);
      if (imp) ops.push(K.Clobber, at, -1, -1, 0, -1, -1, -1, 0, ops.list(imp));
      continue;
    }
    if (fc === 1 /* jmp */ || fc === 3 /* jcc, loop, jrcxz */ || fc === 5 /* call */) {
      const k = fc === 1 ? K.Jmp : fc === 3 ? K.Jcc : K.Call;
      if (k0 === OP_NB32 || k0 === OP_NB64) {
        const imp = m.implicit.get(mnemonic); // loop writes rcx before it branches
        if (imp) ops.push(K.Clobber, at, -1, -1, 0, -1, -1, -1, 0, ops.list(imp));
        ops.push(k, at, -1, -1, 0, instr.nearBranch32);
      } else ops.push(k, at);
      continue;
    }
    if (fc === 2 /* indirect jmp */ || fc === 6 /* indirect call */) {
      const k = fc === 2 ? K.Jmp : K.Call;
      if (k0 === OP_REG)
        ops.push(k, at, -1, -1, 0, -1, -1, family(instr.op0Register), bytes[at - sec.addr] === 0x3e ? 1 : 0);
      else if (k0 === OP_MEM && rip >= 0) ops.push(k, at, -1, -1, 0, -1, rip);
      else if (k0 === OP_MEM && instr.memoryBase === 0 && instr.memoryIndex === 0)
        ops.push(k, at, -1, -1, 0, -1, Number(instr.memoryDisplacement));
      else ops.push(k, at);
      continue;
    }
    if (fc === 4 /* ret */) {
      ops.push(K.Ret, at);
      continue;
    }
    if (fc === 7 && mnemonic === m.int && instr.immediate8 === 0x80) {
      ops.push(K.Foreign, at);
      continue;
    }
    // interrupts (int3, int n), exceptions (ud2, hlt): the path ends
    if (fc === 7 || fc === 9) ops.push(K.Stop, at);
  }
}

const GPRS = Array.from({ length: 16 }, (_, i) => i).filter((r) => r !== RSP);
const X86_C: Abi = {
  locations: X86_LOCATIONS,
  sp: RSP,
  stack0: STACK0,
  stackSlots: STACK_SLOTS,
  callPushes: true,
  sysReg: 0,
  sysClobber: [0, 1, 11],
  entryRegs: GPRS,
  afterCall: [0, 1, 2, 6, 7, 8, 9, 10, 11],
  // C: rdi, rsi, rdx, rcx, r8, r9 (and al for varargs); Go: rax, rbx, rcx, rdi, rsi, r8..r11
  argLocs: [0, 1, 2, 3, 6, 7, 8, 9, 10, 11, ...Array.from({ length: STACK_SLOTS }, (_, i) => STACK0 + i)],
};
/** Go's ABIInternal saves no register across a call (r14 is g, rsp is the stack). */
const X86_GO: Abi = { ...X86_C, afterCall: GPRS.filter((r) => r !== 14) };

/** Summaries of the given function ranges of an x86-64 ELF file. */
export function summarizeX86(
  elf: Elf,
  ranges: readonly { start: number; end: number; name?: string }[],
  opts: X86Options,
): FunctionSummary[] {
  const lib = decoderLib();
  const m = mn(lib);
  const abi = opts.go ? X86_GO : X86_C;
  const out: FunctionSummary[] = [];
  const secs = codeSections(elf).map((sec) => {
    const bytes = elf.bytes.subarray(sec.offset, sec.offset + sec.size);
    return { sec, bytes, decoder: new lib.Decoder(64, bytes, lib.DecoderOptions.None) };
  });
  const instr = new lib.Instruction();
  const ops = new OpTable();
  // the address range a fixed-address program occupies (its loadable segments)
  const loads = elf.segments.filter((g) => g.type === 1);
  const fixed: [number, number] | undefined =
    elf.type === 2 && loads.length > 0
      ? [Math.min(...loads.map((g) => g.vaddr)), Math.max(...loads.map((g) => g.vaddr + g.memsz))]
      : undefined;
  try {
    for (const f of ranges) {
      const s = secs.find((x) => f.start >= x.sec.addr && f.start < x.sec.addr + x.sec.size);
      if (!s) continue;
      const refs = new Set<number>();
      decode(m, s.sec, s.bytes, s.decoder, instr, f.start, f.end, ops, refs, fixed);
      out.push(
        analyse(
          f,
          ops,
          [...refs].sort((a, b) => a - b),
          abi,
          opts.noReturn,
        ),
      );
    }
  } finally {
    for (const s of secs) s.decoder.free();
    instr.free();
  }
  return out;
}

/** A load `mov reg, [base + disp]` (no index), by register family (rax..r15 = 0..15). */
export interface RegisterLoad {
  reg: number;
  bits: number;
  base: number;
  disp: number;
}

/**
 * The instructions right before `site` in the function starting at `start`, as register loads
 * (undefined for any other instruction), the nearest last: for recognising a known shape of
 * site (glibc's set*id broadcast, module.ts) without a general model of memory.
 */
export function loadsBefore(
  elf: Elf,
  start: number,
  site: number,
  count: number,
): (RegisterLoad | undefined)[] {
  const lib = decoderLib();
  const m = mn(lib);
  const sec = codeSections(elf).find((s) => start >= s.addr && site < s.addr + s.size);
  if (!sec) return [];
  const bytes = elf.bytes.subarray(sec.offset, sec.offset + sec.size);
  const decoder = new lib.Decoder(64, bytes, lib.DecoderOptions.None);
  const instr = new lib.Instruction();
  const last: (RegisterLoad | undefined)[] = [];
  try {
    decoder.position = start - sec.addr;
    decoder.ip = BigInt(start);
    while (decoder.position < site - sec.addr) {
      decoder.decodeOut(instr);
      const load =
        instr.mnemonic === m.mov &&
        instr.opCount === 2 &&
        instr.op0Kind === OP_REG &&
        instr.op1Kind === OP_MEM &&
        instr.memoryIndex === 0 &&
        instr.memoryBase !== RIP &&
        family(instr.memoryBase) >= 0
          ? {
              reg: family(instr.op0Register),
              bits: width(instr.op0Register),
              base: family(instr.memoryBase),
              disp: Number(instr.memoryDisplacement),
            }
          : undefined;
      last.push(load);
      if (last.length > count) last.shift();
    }
    if (instr.ip32 + instr.length !== site) return [];
  } finally {
    decoder.free();
    instr.free();
  }
  return last.reverse();
}
