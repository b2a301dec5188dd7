/**
 * Where the functions of an ELF file are, even stripped: the unwind table (.eh_frame: one FDE per
 * function, its start and length, as the C++ runtime and debuggers need them), the symbol tables
 * (names, and bounds where the unwind table has none), and for Go programs, .gopclntab (every Go
 * function's entry and name, kept in stripped Go binaries for stack traces).
 */
import { type Elf, ElfError, STT_FUNC, STT_GNU_IFUNC } from './reader.js';

export interface FunctionRange {
  start: number;
  end: number;
  name?: string;
}

class Cursor {
  constructor(
    readonly b: Uint8Array,
    public o: number,
    readonly le: boolean,
    readonly file: string,
  ) {}
  need(n: number): void {
    if (this.o + n > this.b.length || this.o < 0)
      throw new ElfError(
        'elf-truncated',
        `.eh_frame ends inside a record at ${this.o}`,
        `${this.file}@${this.o}`,
      );
  }
  u8(): number {
    this.need(1);
    return this.b[this.o++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.le
      ? this.b[this.o]! | (this.b[this.o + 1]! << 8)
      : (this.b[this.o]! << 8) | this.b[this.o + 1]!;
    this.o += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const dv = new DataView(this.b.buffer, this.b.byteOffset + this.o, 4);
    this.o += 4;
    return dv.getUint32(0, this.le);
  }
  i32(): number {
    this.need(4);
    const dv = new DataView(this.b.buffer, this.b.byteOffset + this.o, 4);
    this.o += 4;
    return dv.getInt32(0, this.le);
  }
  u64(): number {
    this.need(8);
    const dv = new DataView(this.b.buffer, this.b.byteOffset + this.o, 8);
    this.o += 8;
    return Number(dv.getBigUint64(0, this.le));
  }
  uleb(): number {
    let r = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      const b = this.u8();
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) return r;
    }
    throw new ElfError('elf-bad-eh-frame', 'a LEB128 number longer than 10 bytes', `${this.file}@${this.o}`);
  }
  sleb(): number {
    let r = 0;
    let shift = 0;
    let b = 0;
    for (let i = 0; i < 10; i++) {
      b = this.u8();
      r += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (b & 0x40) r -= 2 ** shift;
    return r;
  }
  cstr(): string {
    let s = '';
    for (let i = 0; i < 64; i++) {
      const c = this.u8();
      if (c === 0) return s;
      s += String.fromCharCode(c);
    }
    throw new ElfError(
      'elf-bad-eh-frame',
      'a CIE augmentation string longer than 64 bytes',
      `${this.file}@${this.o}`,
    );
  }
}

/** A DW_EH_PE-encoded pointer at the cursor; `at` is its own address (for pcrel). */
function pointer(c: Cursor, enc: number, at: number, bits: 32 | 64): number | undefined {
  if (enc === 0xff) return undefined;
  let v: number;
  switch (enc & 0x0f) {
    case 0x00:
      v = bits === 64 ? c.u64() : c.u32();
      break;
    case 0x01:
      v = c.uleb();
      break;
    case 0x02:
      v = c.u16();
      break;
    case 0x03:
      v = c.u32();
      break;
    case 0x04:
      v = c.u64();
      break;
    case 0x09:
      v = c.sleb();
      break;
    case 0x0a: {
      const u = c.u16();
      v = u >= 0x8000 ? u - 0x10000 : u;
      break;
    }
    case 0x0b:
      v = c.i32();
      break;
    case 0x0c:
      v = c.u64();
      break;
    default:
      throw new ElfError('elf-bad-eh-frame', `pointer encoding 0x${enc.toString(16)}`, `${c.file}@${c.o}`);
  }
  if ((enc & 0x70) === 0x10) v += at;
  return v;
}

/** Function bounds from .eh_frame (every FDE's pc_begin and pc_range). */
export function ehFrameFunctions(elf: Elf): FunctionRange[] {
  const s = elf.sections.find((x) => x.name === '.eh_frame');
  if (!s || s.size === 0) return [];
  const c = new Cursor(elf.bytes, s.offset, elf.endian === 'little', elf.file);
  const end = s.offset + s.size;
  const cies = new Map<number, number>(); // CIE offset -> FDE pointer encoding
  const out: FunctionRange[] = [];
  const addrOf = (fileOff: number) => s.addr + (fileOff - s.offset);
  while (c.o + 4 <= end) {
    const recStart = c.o;
    let len = c.u32();
    if (len === 0) break;
    if (len === 0xffffffff) len = c.u64();
    const body = c.o;
    const next = body + len;
    if (next > end)
      throw new ElfError(
        'elf-bad-eh-frame',
        `a record of ${len} bytes runs past .eh_frame`,
        `${elf.file}@${recStart}`,
      );
    const id = c.u32();
    if (id === 0) {
      // CIE
      c.u8(); // version
      const aug = c.cstr();
      c.uleb(); // code alignment
      c.sleb(); // data alignment
      c.uleb(); // return address register
      let enc = 0x00;
      if (aug.startsWith('z')) {
        const n = c.uleb();
        const dataEnd = c.o + n;
        for (const ch of aug.slice(1)) {
          if (ch === 'R') enc = c.u8();
          else if (ch === 'P') {
            const penc = c.u8();
            pointer(c, penc & 0x7f, addrOf(c.o), elf.bits);
          } else if (ch === 'L') c.u8();
          else if (ch === 'S' || ch === 'B' || ch === 'G') {
            // signal frame, aarch64 B-key, MTE: no data
          } else break;
        }
        c.o = dataEnd;
      }
      cies.set(recStart, enc);
    } else {
      const cie = body - id;
      const enc = cies.get(cie);
      if (enc !== undefined) {
        const start = pointer(c, enc, addrOf(c.o), elf.bits);
        const range = pointer(c, enc & 0x0f, 0, elf.bits);
        if (start !== undefined && range !== undefined && range > 0) out.push({ start, end: start + range });
      }
    }
    c.o = next;
  }
  return out;
}

/** Defined function symbols (dynamic and static), with their bounds where they give a size. */
export function symbolFunctions(elf: Elf): FunctionRange[] {
  const out: FunctionRange[] = [];
  for (const sym of [...elf.symtab, ...elf.dynsym])
    if ((sym.type === STT_FUNC || sym.type === STT_GNU_IFUNC) && sym.shndx !== 0 && sym.value !== 0)
      out.push({ start: sym.value, end: sym.value + Math.max(sym.size, 0), name: sym.name });
  return out;
}

/**
 * The functions of a file: unwind-table ranges named by the symbols at their starts, symbols the
 * unwind table lacks (with a size), sorted and without overlaps (a range ends where the next begins).
 */
export function functionsOf(elf: Elf, extra: readonly FunctionRange[] = []): FunctionRange[] {
  const byStart = new Map<number, FunctionRange>();
  for (const f of [...ehFrameFunctions(elf), ...extra]) {
    const had = byStart.get(f.start);
    if (!had || f.end > had.end) byStart.set(f.start, { ...f, ...(had?.name ? { name: had.name } : {}) });
  }
  for (const s of symbolFunctions(elf)) {
    const had = byStart.get(s.start);
    if (had) {
      if (had.name === undefined && s.name !== undefined) had.name = s.name;
      if (s.end > had.end && had.end === had.start) had.end = s.end;
    } else if (s.end > s.start) byStart.set(s.start, { ...s });
  }
  const sorted = [...byStart.values()].sort((a, b) => a.start - b.start);
  for (let i = 0; i + 1 < sorted.length; i++) {
    const next = sorted[i + 1]!;
    if (sorted[i]!.end > next.start) sorted[i]!.end = next.start;
  }
  return sorted.filter((f) => f.end > f.start);
}
