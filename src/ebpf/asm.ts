/**
 * An eBPF assembler: instructions as the kernel encodes them (include/uapi/linux/bpf.h: 8 bytes,
 * code, dst/src registers in one byte, 16-bit offset, 32-bit immediate; a 64-bit immediate load
 * takes two slots), symbolic labels resolved in one pass, and map references left for the loader
 * (loader-perl.ts) to point at the maps it creates.
 */

export type Reg = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10;
export const R0: Reg = 0;
export const R1: Reg = 1;
export const R2: Reg = 2;
export const R3: Reg = 3;
export const R4: Reg = 4;
export const R5: Reg = 5;
export const R6: Reg = 6;
export const R7: Reg = 7;
export const R8: Reg = 8;
export const R9: Reg = 9;
/** The read-only frame pointer: the stack is below it (at most 512 bytes). */
export const FP: Reg = 10;

// instruction classes, sizes, modes, operations
const LD = 0x00;
const LDX = 0x01;
const ST = 0x02;
const STX = 0x03;
const ALU64 = 0x07;
const JMP = 0x05;
const SIZE = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 } as const;
const MEM = 0x60;
const IMM = 0x00;
const ATOMIC = 0xc0;
const K = 0x00;
const X = 0x08;

export const ALU_OPS = {
  add: 0x00,
  sub: 0x10,
  mul: 0x20,
  div: 0x30,
  or: 0x40,
  and: 0x50,
  lsh: 0x60,
  rsh: 0x70,
  mod: 0x90,
  xor: 0xa0,
  mov: 0xb0,
  arsh: 0xc0,
} as const;
export type AluOp = keyof typeof ALU_OPS;

export const JMP_OPS = {
  jeq: 0x10,
  jgt: 0x20,
  jge: 0x30,
  jset: 0x40,
  jne: 0x50,
  jsgt: 0x60,
  jsge: 0x70,
  jlt: 0xa0,
  jle: 0xb0,
  jslt: 0xc0,
  jsle: 0xd0,
} as const;
export type JmpOp = keyof typeof JMP_OPS;

/** Kernel helper numbers (enum bpf_func_id). */
export const HELPERS = {
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  get_current_pid_tgid: 14,
  get_current_task: 35,
  get_current_cgroup_id: 80,
  get_current_ancestor_cgroup_id: 123,
  probe_read_kernel: 113,
  probe_read_user_str: 114,
  probe_read_kernel_str: 115,
} as const;
export type Helper = keyof typeof HELPERS;

/** map_update_elem flags. */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;

/** One instruction slot before encoding; `label`/`map` are resolved by `Asm.assemble`. */
interface Slot {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  /** A jump to this label (offset filled in). */
  target?: string;
  /** The first half of a 64-bit load of this map's address (a relocation). */
  map?: string;
}

export interface Assembled {
  readonly bytes: Uint8Array;
  /** Byte offsets of the 64-bit loads that name a map, for the ELF relocations. */
  readonly relocations: readonly { readonly offset: number; readonly map: string }[];
  readonly instructions: number;
}

export class Asm {
  private readonly slots: Slot[] = [];
  private readonly labels = new Map<string, number>();
  private fresh = 0;

  /** A label name not used before in this program. */
  newLabel(prefix: string): string {
    return `${prefix}.${this.fresh++}`;
  }

  private emit(s: Slot): this {
    this.slots.push(s);
    return this;
  }

  /** Places a label at the next instruction. */
  label(name: string): this {
    if (this.labels.has(name)) throw new Error(`label ${name} placed twice`);
    this.labels.set(name, this.slots.length);
    return this;
  }

  /** dst = op(dst, imm) on 64 bits. */
  aluK(op: AluOp, dst: Reg, imm: number): this {
    return this.emit({ code: ALU64 | ALU_OPS[op] | K, dst, src: 0, off: 0, imm });
  }

  /** dst = op(dst, src) on 64 bits. */
  aluX(op: AluOp, dst: Reg, src: Reg): this {
    return this.emit({ code: ALU64 | ALU_OPS[op] | X, dst, src, off: 0, imm: 0 });
  }

  mov(dst: Reg, src: Reg): this {
    return this.aluX('mov', dst, src);
  }

  movK(dst: Reg, imm: number): this {
    return this.aluK('mov', dst, imm);
  }

  /** dst = a 64-bit constant (two slots). */
  ld64(dst: Reg, value: bigint): this {
    const v = BigInt.asUintN(64, value);
    this.emit({ code: LD | SIZE[8] | IMM, dst, src: 0, off: 0, imm: Number(v & 0xffffffffn) | 0 });
    return this.emit({ code: 0, dst: 0, src: 0, off: 0, imm: Number(v >> 32n) | 0 });
  }

  /** dst = the address of map `name` (relocated by the loader). */
  ldMap(dst: Reg, name: string): this {
    this.emit({ code: LD | SIZE[8] | IMM, dst, src: 0, off: 0, imm: 0, map: name });
    return this.emit({ code: 0, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** dst = *(size *)(src + off). */
  ldx(size: 1 | 2 | 4 | 8, dst: Reg, src: Reg, off: number): this {
    return this.emit({ code: LDX | SIZE[size] | MEM, dst, src, off, imm: 0 });
  }

  /** r0 = map_lookup_elem(&map, fp + keyOff): a pointer to the value, or 0. Clobbers r1-r5. */
  lookup(map: string, keyOff: number): this {
    return this.ldMap(R1, map).mov(R2, FP).aluK('add', R2, keyOff).call('map_lookup_elem');
  }

  /**
   * r0 = map_update_elem(&map, fp + keyOff, value, flags), the value at fp + valueOff: 0, or a
   * negative errno (EEXIST with BPF_NOEXIST, E2BIG when full). Clobbers r1-r5.
   */
  update(map: string, keyOff: number, valueOff: number, flags: number): this {
    return this.ldMap(R1, map)
      .mov(R2, FP)
      .aluK('add', R2, keyOff)
      .mov(R3, FP)
      .aluK('add', R3, valueOff)
      .movK(R4, flags)
      .call('map_update_elem');
  }

  /** *(size *)(dst + off) = src. */
  stx(size: 1 | 2 | 4 | 8, dst: Reg, off: number, src: Reg): this {
    return this.emit({ code: STX | SIZE[size] | MEM, dst, src, off, imm: 0 });
  }

  /** *(size *)(dst + off) = imm. */
  st(size: 1 | 2 | 4 | 8, dst: Reg, off: number, imm: number): this {
    return this.emit({ code: ST | SIZE[size] | MEM, dst, src: 0, off, imm });
  }

  /** *(u64 *)(dst + off) += src, atomically (lock xadd). */
  atomicAdd64(dst: Reg, off: number, src: Reg): this {
    return this.emit({ code: STX | SIZE[8] | ATOMIC, dst, src, off, imm: ALU_OPS.add });
  }

  /** src = *(u64 *)(dst + off), then *(u64 *)(dst + off) += the old src, atomically (Linux 5.12+). */
  atomicFetchAdd64(dst: Reg, off: number, src: Reg): this {
    return this.emit({ code: STX | SIZE[8] | ATOMIC, dst, src, off, imm: ALU_OPS.add | 0x01 });
  }

  /** if (op(dst, imm)) goto target (64-bit compare). */
  jK(op: JmpOp, dst: Reg, imm: number, target: string): this {
    return this.emit({ code: JMP | JMP_OPS[op] | K, dst, src: 0, off: 0, imm, target });
  }

  /** if (op(dst, src)) goto target (64-bit compare). */
  jX(op: JmpOp, dst: Reg, src: Reg, target: string): this {
    return this.emit({ code: JMP | JMP_OPS[op] | X, dst, src, off: 0, imm: 0, target });
  }

  ja(target: string): this {
    return this.emit({ code: JMP | 0x00, dst: 0, src: 0, off: 0, imm: 0, target });
  }

  call(helper: Helper): this {
    return this.emit({ code: JMP | 0x80, dst: 0, src: 0, off: 0, imm: HELPERS[helper] });
  }

  exit(): this {
    return this.emit({ code: JMP | 0x90, dst: 0, src: 0, off: 0, imm: 0 });
  }

  /** r0 = 0; exit. */
  ret0(): this {
    return this.movK(R0, 0).exit();
  }

  /** Zeroes `bytes` (a multiple of 8) of the stack from fp + off. */
  zeroStack(off: number, bytes: number): this {
    if (bytes % 8 !== 0 || off % 8 !== 0) throw new Error('zeroStack: 8-byte aligned only');
    for (let o = 0; o < bytes; o += 8) this.st(8, FP, off + o, 0);
    return this;
  }

  assemble(): Assembled {
    const bytes = new Uint8Array(this.slots.length * 8);
    const view = new DataView(bytes.buffer);
    const relocations: { offset: number; map: string }[] = [];
    this.slots.forEach((s, i) => {
      let off = s.off;
      if (s.target !== undefined) {
        const at = this.labels.get(s.target);
        if (at === undefined) throw new Error(`jump to unknown label ${s.target}`);
        off = at - (i + 1);
        if (off < -32768 || off > 32767) throw new Error(`jump to ${s.target} too far (${off})`);
      }
      if (s.map !== undefined) relocations.push({ offset: i * 8, map: s.map });
      view.setUint8(i * 8, s.code);
      view.setUint8(i * 8 + 1, (s.dst & 0xf) | ((s.src & 0xf) << 4));
      view.setInt16(i * 8 + 2, off, true);
      view.setInt32(i * 8 + 4, s.imm | 0, true);
    });
    for (const l of this.labels.values()) if (l > this.slots.length) throw new Error('label past the end');
    return { bytes, relocations, instructions: this.slots.length };
  }
}
