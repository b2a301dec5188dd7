/**
 * Go's function table (.gopclntab): every function's entry address and name, which Go keeps in
 * stripped binaries for its stack traces. Formats of Go 1.2-1.15 (magic 0xfffffffb), 1.16-1.17
 * (0xfffffffa) and 1.18 on (0xfffffff0, 0xfffffff1).
 */
import type { FunctionRange } from './functions.js';
import { type Elf, ElfError } from './reader.js';

export interface GoTable {
  version: '1.2' | '1.16' | '1.18' | '1.20';
  functions: FunctionRange[];
}

/**
 * A Go 1.18+ table outside a section of its own (externally linked, PIE: inside .data.rel.ro): its
 * magic, zero pads, a sane instruction size quantum and the pointer size, at an aligned offset.
 */
function findTable(elf: Elf): { offset: number; size: number } | undefined {
  if (!elf.sections.some((x) => x.name === '.go.buildinfo' || x.name === '.note.go.buildid'))
    return undefined;
  for (const sec of elf.sections) {
    if (sec.name !== '.data.rel.ro' && sec.name !== '.rodata') continue;
    const b = elf.bytes.subarray(sec.offset, sec.offset + sec.size);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let o = 0; o + 64 <= b.length; o += 8) {
      const m = dv.getUint32(o, elf.endian === 'little');
      if (
        (m === 0xfffffff1 || m === 0xfffffff0) &&
        b[o + 4] === 0 &&
        b[o + 5] === 0 &&
        [1, 2, 4].includes(b[o + 6]!) &&
        b[o + 7] === elf.bits / 8
      )
        return { offset: sec.offset + o, size: sec.size - o };
    }
  }
  return undefined;
}

/** The Go function table of an ELF file, or undefined when it has none (not a Go program). */
export function goFunctions(elf: Elf): GoTable | undefined {
  const s = elf.sections.find((x) => x.name === '.gopclntab') ?? findTable(elf);
  if (!s || s.size < 16) return undefined;
  const b = elf.bytes.subarray(s.offset, s.offset + s.size);
  const le = elf.endian === 'little';
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fail = (what: string): never => {
    throw new ElfError('elf-bad-gopclntab', `.gopclntab: ${what}`, `${elf.file}@${s.offset}`);
  };
  const u32 = (o: number) =>
    o + 4 <= b.length ? dv.getUint32(o, le) : fail(`a field at ${o} lies outside it`);
  const i32 = (o: number) =>
    o + 4 <= b.length ? dv.getInt32(o, le) : fail(`a field at ${o} lies outside it`);
  const ptrSize = b[7]!;
  if (ptrSize !== 4 && ptrSize !== 8) return fail(`pointer size ${ptrSize}`);
  const word = (o: number) =>
    ptrSize === 8
      ? o + 8 <= b.length
        ? Number(dv.getBigUint64(o, le))
        : fail(`a word at ${o} lies outside it`)
      : u32(o);
  const cstr = (o: number) => {
    if (o < 0 || o >= b.length) return fail(`a name at ${o} lies outside it`);
    let e = o;
    while (e < b.length && b[e] !== 0 && e - o < 4096) e++;
    return Buffer.from(b.subarray(o, e)).toString('latin1');
  };
  const magic = u32(0);
  const entries: { entry: number; name: string }[] = [];
  let version: GoTable['version'];
  if (magic === 0xfffffff0 || magic === 0xfffffff1) {
    version = magic === 0xfffffff0 ? '1.18' : '1.20';
    const nfunc = word(8);
    const textStart = word(8 + 2 * ptrSize);
    const funcnameOffset = word(8 + 3 * ptrSize);
    const pclnOffset = word(8 + 7 * ptrSize);
    if (nfunc > 2_000_000) return fail(`${nfunc} functions`);
    for (let i = 0; i < nfunc; i++) {
      const ft = pclnOffset + i * 8;
      const entryOff = u32(ft);
      const funcOff = u32(ft + 4);
      const nameOff = i32(pclnOffset + funcOff + 4);
      entries.push({ entry: textStart + entryOff, name: cstr(funcnameOffset + nameOff) });
    }
    // the end of the last function: the table's sentinel entry
    entries.push({ entry: textStart + u32(pclnOffset + nfunc * 8), name: '' });
  } else if (magic === 0xfffffffa) {
    version = '1.16';
    const nfunc = word(8);
    const funcnameOffset = word(8 + 2 * ptrSize);
    const pclnOffset = word(8 + 6 * ptrSize);
    if (nfunc > 2_000_000) return fail(`${nfunc} functions`);
    for (let i = 0; i <= nfunc; i++) {
      const ft = pclnOffset + i * 2 * ptrSize;
      const entry = word(ft);
      if (i === nfunc) {
        entries.push({ entry, name: '' });
        break;
      }
      const funcOff = word(ft + ptrSize);
      entries.push({ entry, name: cstr(funcnameOffset + i32(pclnOffset + funcOff + ptrSize)) });
    }
  } else if (magic === 0xfffffffb) {
    version = '1.2';
    const nfunc = word(8);
    const tab = 8 + ptrSize;
    if (nfunc > 2_000_000) return fail(`${nfunc} functions`);
    for (let i = 0; i <= nfunc; i++) {
      const ft = tab + i * 2 * ptrSize;
      const entry = word(ft);
      if (i === nfunc) {
        entries.push({ entry, name: '' });
        break;
      }
      const funcOff = word(ft + ptrSize);
      entries.push({ entry, name: cstr(i32(funcOff + ptrSize)) });
    }
  } else return fail(`unknown magic 0x${magic.toString(16)}`);
  const functions: FunctionRange[] = [];
  for (let i = 0; i + 1 < entries.length; i++) {
    const e = entries[i]!;
    const next = entries[i + 1]!.entry;
    if (next > e.entry) functions.push({ start: e.entry, end: next, name: e.name });
  }
  return { version, functions };
}
