/**
 * AArch64 machine code to function summaries. The instruction set has one width (4 bytes) and
 * regular fields, so a decoder of the few instructions that matter is small and ours: svc, the
 * moves that put a constant or another register into x8 (movz, movn, orr, add), adrp/adr with the
 * add or ldr that completes an address, the branches (b, bl, b.cond, cbz, tbz, br, blr, ret and
 * their pointer-authenticated forms), and the stack stores. Every other instruction makes the
 * register its Rd field names unknown (and Rt2 of a pair load, and a written-back base), which is
 * safe: at worst a value becomes unknown.
 */
import type { Elf } from '../elf/reader.js';
import { type Abi, analyse } from './analyse.js';
import { K, OpTable } from './ops.js';
import type { FunctionSummary } from './summary.js';
import { codeSections } from './x86.js';

const SP = 31;
const STACK0 = 32;
const STACK_SLOTS = 8;
export const AARCH64_LOCATIONS = STACK0 + STACK_SLOTS;

/** The bits of `w` under `mask`, unsigned (JavaScript's & gives a signed 32-bit result). */
const bits = (w: number, mask: number): number => (w & mask) >>> 0;

const sext = (v: number, bits: number): number => (v & (1 << (bits - 1)) ? v - 2 ** bits : v);

/** Decodes one function range into `ops`, and the addresses it takes into `refs`. */
function decode(
  elf: Elf,
  words: DataView,
  base: number,
  start: number,
  end: number,
  ops: OpTable,
  refs: Set<number>,
): void {
  ops.reset();
  const le = elf.endian === 'little';
  // the page (adrp) or address (adr) last put in each register, for the add/ldr that completes it
  const page = new Map<number, number>();
  for (let pc = start; pc + 4 <= end; pc += 4) {
    const off = pc - base;
    if (off < 0 || off + 4 > words.byteLength) break;
    const w = words.getUint32(off, le);
    const rd = w & 31;
    const rn = (w >>> 5) & 31;
    if (w === 0xd4000001) {
      ops.push(K.Syscall, pc); // svc #0
      continue;
    }
    if (bits(w, 0xfc000000) === 0x94000000) {
      ops.push(K.Call, pc, -1, -1, 0, pc + sext(w & 0x3ffffff, 26) * 4); // bl
      page.clear();
      continue;
    }
    if (bits(w, 0xfc000000) === 0x14000000) {
      ops.push(K.Jmp, pc, -1, -1, 0, pc + sext(w & 0x3ffffff, 26) * 4); // b
      continue;
    }
    if (bits(w, 0xff000010) === 0x54000000 || bits(w, 0x7e000000) === 0x34000000) {
      ops.push(K.Jcc, pc, -1, -1, 0, pc + sext((w >>> 5) & 0x7ffff, 19) * 4); // b.cond, cbz, cbnz
      continue;
    }
    if (bits(w, 0x7e000000) === 0x36000000) {
      ops.push(K.Jcc, pc, -1, -1, 0, pc + sext((w >>> 5) & 0x3fff, 14) * 4); // tbz, tbnz
      continue;
    }
    if (bits(w, 0xfe1f0000) === 0xd61f0000) {
      // br, blr, ret and their pointer-authenticated forms (braa, blraaz, retaa, ...); eret, drps end
      const opc = (w >>> 21) & 0xf;
      if (opc === 2) ops.push(K.Ret, pc);
      else if (opc === 0 || opc === 8) ops.push(K.Jmp, pc, -1, -1, 0, -1, -1, rn);
      else if (opc === 1 || opc === 9) ops.push(K.Call, pc, -1, -1, 0, -1, -1, rn);
      else ops.push(K.Stop, pc);
      continue;
    }
    if (bits(w, 0xffe0001f) === 0xd4200000 || w >>> 16 === 0) {
      ops.push(K.Stop, pc); // brk, udf
      continue;
    }
    if (bits(w, 0x9f000000) === 0x90000000 || bits(w, 0x9f000000) === 0x10000000) {
      // adrp / adr
      const imm = sext((((w >>> 5) & 0x7ffff) << 2) | ((w >>> 29) & 3), 21);
      const v = bits(w, 0x80000000) ? Math.floor(pc / 4096) * 4096 + imm * 4096 : pc + imm;
      page.set(rd, v);
      if (!bits(w, 0x80000000)) refs.add(v);
      ops.push(K.Set, pc, rd, -1, v);
      continue;
    }
    if (bits(w, 0x7f800000) === 0x52800000 || bits(w, 0x7f800000) === 0x12800000) {
      // movz / movn
      const hw = (w >>> 21) & 3;
      let v = ((w >>> 5) & 0xffff) * 2 ** (16 * hw);
      if (bits(w, 0x7f800000) === 0x12800000) v = bits(w, 0x80000000) ? -v - 1 : (~v >>> 0) & 0xffffffff;
      page.delete(rd);
      if (rd !== 31) ops.push(K.Set, pc, rd, -1, v);
      continue;
    }
    if (bits(w, 0x7fe0ffe0) === 0x2a0003e0) {
      // mov Rd, Rm (orr Rd, zr, Rm)
      const rm = (w >>> 16) & 31;
      page.delete(rd);
      if (rd !== 31) ops.push(rm === 31 ? K.Set : K.Copy, pc, rd, rm === 31 ? -1 : rm, 0);
      continue;
    }
    if (bits(w, 0x7f000000) === 0x11000000 || bits(w, 0x7f000000) === 0x51000000) {
      // add / sub (immediate)
      const imm = ((w >>> 10) & 0xfff) * ((w >>> 22) & 1 ? 4096 : 1);
      const p = page.get(rn);
      page.delete(rd);
      if (rd === SP) ops.push(K.StackMove, pc);
      else if (p !== undefined && bits(w, 0x7f000000) === 0x11000000) {
        refs.add(p + imm);
        page.set(rd, p + imm);
        ops.push(K.Set, pc, rd, -1, p + imm);
      } else if (rn === SP) ops.push(K.Clobber, pc, rd);
      else {
        if (rd !== rn) ops.push(K.Copy, pc, rd, rn);
        ops.push(K.Add, pc, rd, -1, bits(w, 0x7f000000) === 0x11000000 ? imm : -imm);
      }
      continue;
    }
    if (bits(w, 0x0a000000) === 0x08000000) {
      // loads and stores
      const vector = (w & 0x04000000) !== 0;
      const isPair = bits(w, 0x3a000000) === 0x28000000;
      const exclusive = bits(w, 0x3f000000) === 0x08000000;
      const unsignedOffset = bits(w, 0x3b000000) === 0x39000000;
      const isLoad = isPair ? ((w >>> 22) & 1) === 1 : ((w >>> 22) & 3) !== 0;
      const writeback = isPair
        ? ((w >>> 23) & 3) === 1 || ((w >>> 23) & 3) === 3
        : bits(w, 0x3b200000) === 0x38000000 && ((w >>> 10) & 1) === 1;
      if (unsignedOffset && isLoad && w >>> 30 === 3 && !vector) {
        // ldr Xt, [Xn, #imm]: an address when Xn holds a page (the GOT slot or the data it reads)
        const p = page.get(rn);
        if (p !== undefined) refs.add(p + ((w >>> 10) & 0xfff) * 8);
      }
      if (unsignedOffset && !isLoad && w >>> 30 === 3 && rn === SP && !vector) {
        // str Xt, [sp, #imm]
        const off = ((w >>> 10) & 0xfff) * 8;
        if (off < 8 * STACK_SLOTS) {
          ops.push(K.Store, pc, STACK0 + off / 8, rd === 31 ? -1 : rd, 0);
          continue;
        }
      }
      if (exclusive)
        ops.push(K.Clobber, pc, rd === 31 ? -1 : rd, (w >>> 16) & 31); // ldxr's Rt, stxr's status, cas's Rs
      else if (isLoad && !vector) {
        page.delete(rd);
        ops.push(K.Clobber, pc, rd === 31 ? -1 : rd, isPair ? (w >>> 10) & 31 : -1);
      }
      if (writeback) ops.push(rn === SP ? K.StackMove : K.Clobber, pc, rn === SP ? -1 : rn);
      continue;
    }
    // everything else may write the register its Rd field names (moves from vector registers
    // included; for instructions whose Rd is a vector register this loses nothing that matters)
    page.delete(rd);
    if (rd !== 31) ops.push(K.Clobber, pc, rd);
  }
}

const ALL = Array.from({ length: 31 }, (_, i) => i);
const AARCH64_C: Abi = {
  locations: AARCH64_LOCATIONS,
  sp: SP,
  stack0: STACK0,
  stackSlots: STACK_SLOTS,
  sysReg: 8,
  sysClobber: [0],
  entryRegs: ALL,
  afterCall: [...Array.from({ length: 19 }, (_, i) => i), 30],
  // x0..x7 (C), x0..x15 (Go), x8 (the number in a syscall wrapper), and the stack slots
  argLocs: [
    ...Array.from({ length: 16 }, (_, i) => i),
    ...Array.from({ length: STACK_SLOTS }, (_, i) => STACK0 + i),
  ],
};
/** Go's ABIInternal saves no register across a call (x28 is g). */
const AARCH64_GO: Abi = { ...AARCH64_C, afterCall: ALL.filter((r) => r !== 28) };

export function summarizeAarch64(
  elf: Elf,
  ranges: readonly { start: number; end: number; name?: string }[],
  opts: { go: boolean; noReturn?: ReadonlySet<number> },
): FunctionSummary[] {
  const abi = opts.go ? AARCH64_GO : AARCH64_C;
  const secs = codeSections(elf).map((sec) => ({
    sec,
    words: new DataView(elf.bytes.buffer, elf.bytes.byteOffset + sec.offset, sec.size),
  }));
  const ops = new OpTable();
  const out: FunctionSummary[] = [];
  for (const f of ranges) {
    const s = secs.find((x) => f.start >= x.sec.addr && f.start < x.sec.addr + x.sec.size);
    if (!s) continue;
    const refs = new Set<number>();
    decode(elf, s.words, s.sec.addr, f.start, Math.min(f.end, s.sec.addr + s.sec.size), ops, refs);
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
  return out;
}
