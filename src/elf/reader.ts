/**
 * An ELF reader for what static reach needs, and nothing it does not: the header, sections and
 * segments, the dynamic section (DT_NEEDED, DT_RUNPATH/DT_RPATH, DT_SONAME, DT_INIT/INIT_ARRAY),
 * dynamic and static symbols with their versions, relocations, the GNU build-id and the interpreter.
 * 32- and 64-bit, both byte orders. Every malformed input is an ElfError with a code and where in
 * the file it is (never an exception from a typed array): ELF files come from images and hosts
 * sysfence does not control.
 */
import { SysfenceError } from '../errors.js';

export class ElfError extends SysfenceError {
  constructor(code: string, message: string, location?: string, hint?: string) {
    super(code, message, location, hint);
    this.name = 'ElfError';
  }
}

export const EM_386 = 3;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const EM_ARM = 40;
export const ET_EXEC = 2;
export const ET_DYN = 3;
export const SHT_SYMTAB = 2;
export const SHT_RELA = 4;
export const SHT_DYNAMIC = 6;
export const SHT_NOTE = 7;
export const SHT_REL = 9;
export const SHT_DYNSYM = 11;
export const SHT_GNU_VERSYM = 0x6fffffff;
export const SHT_GNU_VERDEF = 0x6ffffffd;
export const SHT_GNU_VERNEED = 0x6ffffffe;
export const SHF_EXECINSTR = 0x4;
export const PT_LOAD = 1;
export const PT_DYNAMIC = 2;
export const PT_INTERP = 3;
export const STT_FUNC = 2;
export const STT_GNU_IFUNC = 10;

export interface Section {
  name: string;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

export interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
}

export interface ElfSymbol {
  name: string;
  value: number;
  size: number;
  /** STT_* */
  type: number;
  /** STB_* (0 local, 1 global, 2 weak). */
  bind: number;
  /** Section index (0: undefined, an import). */
  shndx: number;
  /** The symbol version (GLIBC_2.34, ...), and whether it is the default one (@@). */
  version?: string;
  hidden?: boolean;
}

export interface Relocation {
  offset: number;
  type: number;
  /** Index into the symbol table the section links (0: none). */
  sym: number;
  addend: number;
}

export interface Elf {
  file: string;
  bytes: Uint8Array;
  bits: 32 | 64;
  endian: 'little' | 'big';
  machine: number;
  type: number;
  entry: number;
  sections: Section[];
  segments: Segment[];
  interp?: string;
  needed: string[];
  runpath: string[];
  soname?: string;
  /** DT_INIT_ARRAY, DT_FINI_ARRAY and DT_PREINIT_ARRAY (address and size in bytes), DT_INIT and DT_FINI. */
  initArray: { addr: number; size: number } | undefined;
  finiArray: { addr: number; size: number } | undefined;
  preinitArray: { addr: number; size: number } | undefined;
  init: number | undefined;
  fini: number | undefined;
  dynsym: ElfSymbol[];
  symtab: ElfSymbol[];
  buildId?: string;
}

const NAME = /^[\x21-\x7e]*$/;

/** A bounds-checked view of the file. */
class View {
  readonly dv: DataView;
  constructor(
    readonly bytes: Uint8Array,
    readonly le: boolean,
    readonly file: string,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(off: number, n: number, what: string): void {
    if (!Number.isSafeInteger(off) || off < 0 || off + n > this.bytes.length)
      throw new ElfError(
        'elf-truncated',
        `${what} at offset ${off} (+${n}) lies outside the ${this.bytes.length}-byte file`,
        `${this.file}@${off}`,
      );
  }
  u8(o: number): number {
    this.check(o, 1, 'a byte');
    return this.dv.getUint8(o);
  }
  u16(o: number): number {
    this.check(o, 2, 'a 16-bit field');
    return this.dv.getUint16(o, this.le);
  }
  u32(o: number): number {
    this.check(o, 4, 'a 32-bit field');
    return this.dv.getUint32(o, this.le);
  }
  i32(o: number): number {
    this.check(o, 4, 'a 32-bit field');
    return this.dv.getInt32(o, this.le);
  }
  u64(o: number): number {
    this.check(o, 8, 'a 64-bit field');
    const v = this.dv.getBigUint64(o, this.le);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number(v & 0x1fffffffffffffn); // addresses fit below 2^53
    return Number(v);
  }
  i64(o: number): number {
    this.check(o, 8, 'a 64-bit field');
    return Number(this.dv.getBigInt64(o, this.le));
  }
  cstr(o: number, limit: number): string {
    if (o < 0 || o >= this.bytes.length) return '';
    let end = o;
    const max = Math.min(this.bytes.length, o + limit);
    while (end < max && this.bytes[end] !== 0) end++;
    return Buffer.from(this.bytes.subarray(o, end)).toString('latin1');
  }
}

/** Parses an ELF file's structure (not its code). */
export function parseElf(bytes: Uint8Array, file = '<elf>'): Elf {
  if (bytes.length < 16 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
    throw new ElfError('elf-bad-magic', `${file} is not an ELF file (no \\x7fELF at its start)`, file);
  const cls = bytes[4];
  const data = bytes[5];
  if (cls !== 1 && cls !== 2)
    throw new ElfError('elf-bad-class', `ELF class ${cls} is neither 32- nor 64-bit`, `${file}@4`);
  if (data !== 1 && data !== 2)
    throw new ElfError(
      'elf-bad-class',
      `ELF data encoding ${data} is neither little- nor big-endian`,
      `${file}@5`,
    );
  const bits = cls === 2 ? 64 : 32;
  const v = new View(bytes, data === 1, file);
  const w = bits === 64;
  const addr = (o: number) => (w ? v.u64(o) : v.u32(o));
  const type = v.u16(16);
  const machine = v.u16(18);
  const entry = addr(24);
  const phoff = w ? v.u64(32) : v.u32(28);
  const shoff = w ? v.u64(40) : v.u32(32);
  const phentsize = v.u16(w ? 54 : 42);
  const phnum = v.u16(w ? 56 : 44);
  const shentsize = v.u16(w ? 58 : 46);
  let shnum = v.u16(w ? 60 : 48);
  let shstrndx = v.u16(w ? 62 : 50);
  if (phnum > 0 && phentsize < (w ? 56 : 32))
    throw new ElfError(
      'elf-bad-header',
      `program header entries of ${phentsize} bytes are too small`,
      `${file}@${w ? 54 : 42}`,
    );
  if (shoff > 0 && shentsize < (w ? 64 : 40))
    throw new ElfError(
      'elf-bad-header',
      `section header entries of ${shentsize} bytes are too small`,
      `${file}@${w ? 58 : 46}`,
    );
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    segments.push(
      w
        ? {
            type: v.u32(o),
            flags: v.u32(o + 4),
            offset: v.u64(o + 8),
            vaddr: v.u64(o + 16),
            filesz: v.u64(o + 32),
            memsz: v.u64(o + 40),
          }
        : {
            type: v.u32(o),
            offset: v.u32(o + 4),
            vaddr: v.u32(o + 8),
            filesz: v.u32(o + 16),
            memsz: v.u32(o + 20),
            flags: v.u32(o + 24),
          },
    );
  }
  const rawSection = (o: number) =>
    w
      ? {
          nameOff: v.u32(o),
          type: v.u32(o + 4),
          flags: v.u64(o + 8),
          addr: v.u64(o + 16),
          offset: v.u64(o + 24),
          size: v.u64(o + 32),
          link: v.u32(o + 40),
          info: v.u32(o + 44),
          entsize: v.u64(o + 56),
        }
      : {
          nameOff: v.u32(o),
          type: v.u32(o + 4),
          flags: v.u32(o + 8),
          addr: v.u32(o + 12),
          offset: v.u32(o + 16),
          size: v.u32(o + 20),
          link: v.u32(o + 24),
          info: v.u32(o + 28),
          entsize: v.u32(o + 36),
        };
  const sections: Section[] = [];
  if (shoff > 0) {
    // extended numbering: the counts are in section 0
    if (shnum === 0) shnum = rawSection(shoff).size;
    if (shstrndx === 0xffff) shstrndx = rawSection(shoff).link;
    if (shnum > 65536) throw new ElfError('elf-bad-header', `${shnum} sections`, `${file}@${shoff}`);
    const raw = Array.from({ length: shnum }, (_, i) => rawSection(shoff + i * shentsize));
    const strtab = raw[shstrndx];
    for (const r of raw) {
      const name = strtab && strtab.type !== 8 ? v.cstr(strtab.offset + r.nameOff, 256) : '';
      if (r.type !== 8 /* NOBITS */ && r.size > 0) v.check(r.offset, r.size, `section ${name || r.nameOff}`);
      sections.push({
        name,
        type: r.type,
        flags: r.flags,
        addr: r.addr,
        offset: r.offset,
        size: r.size,
        link: r.link,
        info: r.info,
        entsize: r.entsize,
      });
    }
  }
  const elf: Elf = {
    file,
    bytes,
    bits,
    endian: data === 1 ? 'little' : 'big',
    machine,
    type,
    entry,
    sections,
    segments,
    needed: [],
    runpath: [],
    initArray: undefined,
    finiArray: undefined,
    preinitArray: undefined,
    init: undefined,
    fini: undefined,
    dynsym: [],
    symtab: [],
  };
  const interp = segments.find((s) => s.type === PT_INTERP);
  if (interp) {
    v.check(interp.offset, interp.filesz, 'the interpreter path');
    elf.interp = v.cstr(interp.offset, interp.filesz);
  }
  readDynamic(elf, v);
  for (const s of sections) {
    if (s.type === SHT_DYNSYM) elf.dynsym = readSymbols(elf, v, s, true);
    else if (s.type === SHT_SYMTAB) elf.symtab = readSymbols(elf, v, s, false);
    else if (s.type === SHT_NOTE && elf.buildId === undefined) {
      const id = readBuildId(v, s.offset, s.size);
      if (id !== undefined) elf.buildId = id;
    }
  }
  for (const p of segments)
    if (p.type === 4 /* PT_NOTE */ && elf.buildId === undefined) {
      const id = readBuildId(v, p.offset, p.filesz);
      if (id !== undefined) elf.buildId = id;
    }
  return elf;
}

/** The GNU build-id of an ELF file from its program headers alone (cheap: no sections, no symbols). */
export function buildIdOf(bytes: Uint8Array, file = '<elf>'): string | undefined {
  if (bytes.length < 64 || bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46)
    return undefined;
  const w = bytes[4] === 2;
  const v = new View(bytes, bytes[5] === 1, file);
  const phoff = w ? v.u64(32) : v.u32(28);
  const phentsize = v.u16(w ? 54 : 42);
  const phnum = v.u16(w ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (v.u32(o) !== 4) continue;
    const off = w ? v.u64(o + 8) : v.u32(o + 4);
    const size = w ? v.u64(o + 32) : v.u32(o + 16);
    const id = readBuildId(v, off, size);
    if (id !== undefined) return id;
  }
  return undefined;
}

function readBuildId(v: View, off: number, size: number): string | undefined {
  let o = off;
  while (o + 12 <= off + size) {
    const namesz = v.u32(o);
    const descsz = v.u32(o + 4);
    const type = v.u32(o + 8);
    const name = v.cstr(o + 12, namesz);
    const desc = o + 12 + ((namesz + 3) & ~3);
    if (type === 3 && name === 'GNU') {
      v.check(desc, descsz, 'the build-id');
      return Buffer.from(v.bytes.subarray(desc, desc + descsz)).toString('hex');
    }
    o = desc + ((descsz + 3) & ~3);
  }
  return undefined;
}

/** The file offset of a virtual address, through the PT_LOAD segments (undefined: not in the file). */
export function fileOffset(elf: Elf, vaddr: number): number | undefined {
  for (const s of elf.segments)
    if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)
      return s.offset + (vaddr - s.vaddr);
  return undefined;
}

function readDynamic(elf: Elf, v: View): void {
  const dyn = elf.segments.find((s) => s.type === PT_DYNAMIC);
  const sec = elf.sections.find((s) => s.type === SHT_DYNAMIC);
  const off = sec?.offset ?? dyn?.offset;
  const size = sec?.size ?? dyn?.filesz ?? 0;
  if (off === undefined) return;
  const ent = elf.bits === 64 ? 16 : 8;
  const word = (o: number) => (elf.bits === 64 ? v.u64(o) : v.u32(o));
  const entries: [number, number][] = [];
  for (let o = off; o + ent <= off + size; o += ent) {
    const tag = elf.bits === 64 ? v.i64(o) : v.i32(o);
    if (tag === 0) break;
    entries.push([tag, word(o + ent / 2)]);
  }
  const strtabAddr = entries.find(([t]) => t === 5)?.[1];
  const strtab = strtabAddr !== undefined ? fileOffset(elf, strtabAddr) : undefined;
  const str = (i: number) => (strtab !== undefined ? v.cstr(strtab + i, 4096) : '');
  const tagValue = (t: number) => entries.find(([tag]) => tag === t)?.[1];
  const array = (addrTag: number, sizeTag: number) => {
    const addr = tagValue(addrTag);
    return addr === undefined ? undefined : { addr, size: tagValue(sizeTag) ?? 0 };
  };
  for (const [tag, val] of entries) {
    if (tag === 1) elf.needed.push(str(val));
    else if (tag === 29 || tag === 15) elf.runpath.push(...str(val).split(':').filter(Boolean));
    else if (tag === 14) elf.soname = str(val);
    else if (tag === 12) elf.init = val;
    else if (tag === 13) elf.fini = val;
  }
  elf.initArray = array(25, 27);
  elf.finiArray = array(26, 28);
  elf.preinitArray = array(32, 33);
  for (const n of elf.needed)
    if (!NAME.test(n)) throw new ElfError('elf-bad-dynamic', `DT_NEEDED "${n}" is not a file name`, elf.file);
}

function readSymbols(elf: Elf, v: View, s: Section, dynamic: boolean): ElfSymbol[] {
  const strSec = elf.sections[s.link];
  const ent = s.entsize || (elf.bits === 64 ? 24 : 16);
  if (ent < (elf.bits === 64 ? 24 : 16))
    throw new ElfError('elf-bad-section', `${s.name}: symbol entries of ${ent} bytes`, elf.file);
  const n = Math.floor(s.size / ent);
  if (n > 5_000_000) throw new ElfError('elf-bad-section', `${s.name}: ${n} symbols`, elf.file);
  const versions = dynamic ? symbolVersions(elf, v, n) : undefined;
  const out: ElfSymbol[] = [];
  for (let i = 0; i < n; i++) {
    const o = s.offset + i * ent;
    const nameOff = v.u32(o);
    const info = elf.bits === 64 ? v.u8(o + 4) : v.u8(o + 12);
    const shndx = elf.bits === 64 ? v.u16(o + 6) : v.u16(o + 14);
    const value = elf.bits === 64 ? v.u64(o + 8) : v.u32(o + 4);
    const size = elf.bits === 64 ? v.u64(o + 16) : v.u32(o + 8);
    const sym: ElfSymbol = {
      name: strSec ? v.cstr(strSec.offset + nameOff, 1024) : '',
      value,
      size,
      type: info & 0xf,
      bind: info >> 4,
      shndx,
    };
    const ver = versions?.[i];
    if (ver) {
      sym.version = ver.name;
      if (ver.hidden) sym.hidden = true;
    }
    out.push(sym);
  }
  return out;
}

/** Per dynamic symbol, its version name (from .gnu.version with .gnu.version_d / _r). */
function symbolVersions(elf: Elf, v: View, n: number): ({ name: string; hidden: boolean } | undefined)[] {
  const versym = elf.sections.find((s) => s.type === SHT_GNU_VERSYM);
  if (!versym) return [];
  const names = new Map<number, string>();
  for (const s of elf.sections) {
    const str = elf.sections[s.link];
    if (!str) continue;
    if (s.type === SHT_GNU_VERDEF) {
      let o = s.offset;
      for (let k = 0; k < 1000 && o < s.offset + s.size; k++) {
        const ndx = v.u16(o + 4);
        const aux = o + v.u32(o + 12);
        names.set(ndx, v.cstr(str.offset + v.u32(aux), 256));
        const next = v.u32(o + 16);
        if (next === 0) break;
        o += next;
      }
    } else if (s.type === SHT_GNU_VERNEED) {
      let o = s.offset;
      for (let k = 0; k < 1000 && o < s.offset + s.size; k++) {
        const cnt = v.u16(o + 2);
        let a = o + v.u32(o + 8);
        for (let j = 0; j < cnt && j < 1000; j++) {
          names.set(v.u16(a + 6), v.cstr(str.offset + v.u32(a + 8), 256));
          const next = v.u32(a + 12);
          if (next === 0) break;
          a += next;
        }
        const next = v.u32(o + 12);
        if (next === 0) break;
        o += next;
      }
    }
  }
  return Array.from({ length: n }, (_, i) => {
    const o = versym.offset + 2 * i;
    if (o + 2 > versym.offset + versym.size) return undefined;
    const raw = v.u16(o);
    const name = names.get(raw & 0x7fff);
    return name ? { name, hidden: (raw & 0x8000) !== 0 } : undefined;
  });
}

/** The relocations of a section (REL or RELA), with their symbol index. */
export function relocations(elf: Elf, s: Section): Relocation[] {
  const v = new View(elf.bytes, elf.endian === 'little', elf.file);
  const rela = s.type === SHT_RELA;
  const ent = s.entsize || (elf.bits === 64 ? (rela ? 24 : 16) : rela ? 12 : 8);
  const out: Relocation[] = [];
  for (let o = s.offset; o + ent <= s.offset + s.size; o += ent) {
    if (elf.bits === 64) {
      const info = v.dv.getBigUint64(o + 8, v.le);
      out.push({
        offset: v.u64(o),
        sym: Number(info >> 32n),
        type: Number(info & 0xffffffffn),
        addend: rela ? v.i64(o + 16) : 0,
      });
    } else {
      const info = v.u32(o + 4);
      out.push({ offset: v.u32(o), sym: info >>> 8, type: info & 0xff, addend: rela ? v.i32(o + 8) : 0 });
    }
  }
  return out;
}

export const SHT_RELR = 19;

/**
 * The places a packed relative relocation section (SHT_RELR, DT_RELR) relocates: an even entry is
 * an address (and the next word's), an odd one a bitmap of the 63 words after the last address.
 * The value each gets is the word stored there plus the load base (an implicit addend).
 */
export function relrOffsets(elf: Elf, s: Section): number[] {
  const v = new View(elf.bytes, elf.endian === 'little', elf.file);
  const w = elf.bits / 8;
  const out: number[] = [];
  let base = 0;
  for (let o = s.offset; o + w <= s.offset + s.size; o += w) {
    const entry = w === 8 ? v.dv.getBigUint64(o, v.le) : BigInt(v.u32(o));
    if ((entry & 1n) === 0n) {
      const at = Number(entry);
      out.push(at);
      base = at + w;
    } else {
      for (let i = 1; i < w * 8; i++) if ((entry >> BigInt(i)) & 1n) out.push(base + (i - 1) * w);
      base += (w * 8 - 1) * w;
    }
  }
  return out;
}

/** Reads `n` bytes at a virtual address (undefined: not backed by the file). */
export function bytesAt(elf: Elf, vaddr: number, n: number): Uint8Array | undefined {
  const off = fileOffset(elf, vaddr);
  if (off === undefined || off + n > elf.bytes.length) return undefined;
  return elf.bytes.subarray(off, off + n);
}

/** A pointer-sized word at a virtual address (undefined: not backed by the file). */
export function wordAt(elf: Elf, vaddr: number): number | undefined {
  const b = bytesAt(elf, vaddr, elf.bits / 8);
  if (!b) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return elf.bits === 64
    ? Number(dv.getBigUint64(0, elf.endian === 'little'))
    : dv.getUint32(0, elf.endian === 'little');
}
