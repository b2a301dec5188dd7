/**
 * What the loader needs of a module to find the others, and what says which ones are loaded at
 * run time (link facts): read from the ELF headers and dynamic symbols without decoding any code,
 * so that a program's modules are placed (and a kept result found) before any table is computed.
 * module.ts reads the same facts as part of a module's facts.
 */
import { type Elf, ElfError, EM_AARCH64, EM_X86_64, parseElf } from '../elf/reader.js';
import type { ReachMachine } from './module.js';

/** The machine reach reads (64-bit x86 or arm); any other is a coded error. */
export function machineOf(elf: Elf): ReachMachine {
  if (elf.machine === EM_X86_64 && elf.bits === 64) return 'x86_64';
  if (elf.machine === EM_AARCH64 && elf.bits === 64) return 'aarch64';
  throw new ElfError(
    'elf-unsupported-machine',
    `${elf.file}: machine ${elf.machine} (${elf.bits}-bit); reach reads x86-64 and aarch64 code`,
    elf.file,
    'analyse the program of an x86_64 or aarch64 image, or generate from a recording only',
  );
}

/** Names whose import means code may be loaded that no DT_NEEDED names. */
export const LOADERS = ['dlopen', 'dlmopen', '__libc_dlopen_mode'];

/** The file names of shared objects a module's bytes hold as strings (what it may dlopen). */
export function libraryNamesIn(bytes: Uint8Array): string[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const out = new Set<string>();
  for (const m of text.matchAll(/(?<=\0)((?:\/[\w.+-]+)*\/?lib[\w+-]+(?:\.[\w+-]+)*\.so(?:\.\d+)*)(?=\0)/g))
    out.add(m[1] as string);
  return [...out].sort();
}

/** Bumped whenever linkFacts changes what it writes. */
export const LINK_FORMAT = 1;

export interface LinkFacts {
  format: typeof LINK_FORMAT;
  machine: ReachMachine;
  interp?: string;
  soname?: string;
  needed: string[];
  runpath: string[];
  /** Undefined dynamic symbols. */
  imports: string[];
  /** When it imports dlopen: the shared objects its bytes name. */
  libraryNames?: string[];
}

/** A parsed module's link facts (`bytes`: its file, searched for library names when it imports dlopen). */
export function linkOf(elf: Elf, bytes: Uint8Array): LinkFacts {
  const imports = [
    ...new Set(elf.dynsym.filter((s) => s.shndx === 0 && s.name !== '').map((s) => s.name)),
  ].sort();
  const link: LinkFacts = {
    format: LINK_FORMAT,
    machine: machineOf(elf),
    needed: elf.needed,
    runpath: elf.runpath,
    imports,
  };
  if (elf.interp) link.interp = elf.interp;
  if (elf.soname) link.soname = elf.soname;
  if (imports.some((i) => LOADERS.includes(i))) link.libraryNames = libraryNamesIn(bytes);
  return link;
}

/** A module's link facts (ELF headers and dynamic symbols only). */
export function linkFacts(bytes: Uint8Array, file: string): LinkFacts {
  return linkOf(parseElf(bytes, file), bytes);
}
