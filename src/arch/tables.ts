import { ARCH_DEFS } from './defs.js';
import { ALL_SYSCALL_NAMES, KERNEL_TABLES, LEGACY_SYSCALL_NAMES, LEGACY_TABLES } from './tables/index.gen.js';
import type { ArchDef, ArchId, SyscallTable } from './types.js';

const byId = new Map<string, ArchDef>(ARCH_DEFS.map((a) => [a.id, a]));
const aliases = new Map<string, ArchDef>();
for (const a of ARCH_DEFS) {
  aliases.set(a.id, a);
  aliases.set(a.scmp.toLowerCase(), a);
  aliases.set(a.kernelTable, aliases.get(a.kernelTable) ?? a);
  if (a.goArch) aliases.set(a.goArch, a);
}
for (const a of ARCH_DEFS) for (const alias of a.aliases ?? []) aliases.set(alias, a);

/** Look an ABI up by any common spelling: x86_64, SCMP_ARCH_X86_64, amd64, i386, arm64, ... */
export function findArch(name: string): ArchDef | undefined {
  return aliases.get(name.toLowerCase());
}

export function archById(id: ArchId): ArchDef {
  const a = byId.get(id);
  if (!a) throw new Error(`unknown architecture id ${id}`);
  return a;
}

/** The ABI of the machine sysfence runs on (Node's process.arch), when seccomp knows it. */
export function nativeArch(): ArchDef | undefined {
  return ARCH_DEFS.find((a) => a.nodeArch === process.arch);
}

const tables = new Map<ArchId, SyscallTable>();

export function syscallTable(arch: ArchDef | ArchId): SyscallTable {
  const def = typeof arch === 'string' ? archById(arch) : arch;
  let t = tables.get(def.id);
  if (t) return t;
  const raw = KERNEL_TABLES[def.kernelTable];
  if (!raw) throw new Error(`no syscall table ${def.kernelTable} for ${def.id}`);
  const legacy = LEGACY_TABLES[def.kernelTable] ?? [];
  const all = [...raw, ...legacy];
  const byName = new Map<string, number>(all);
  const byNr = new Map<number, string>();
  const entries = [...all].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  // When two names share a number (aliases), the first in name order is the canonical one;
  // current kernel names come before legacy ones.
  for (const list of [raw, legacy])
    for (const [n, nr] of [...list].sort((a, b) => (a[0] < b[0] ? -1 : 1)))
      if (!byNr.has(nr)) byNr.set(nr, n);
  let maxNr = 0;
  for (const [, nr] of all) maxNr = Math.max(maxNr, nr);
  t = {
    arch: def,
    number: (name) => byName.get(name),
    name: (nr) => byNr.get(nr),
    entries,
    maxNr,
  };
  tables.set(def.id, t);
  return t;
}

const knownNames = new Set(ALL_SYSCALL_NAMES);
const legacyNames = new Set(LEGACY_SYSCALL_NAMES);

/** True when any ABI table knows the name (whether or not it has a number there), legacy names included. */
export function isKnownSyscallName(name: string): boolean {
  return knownNames.has(name) || legacyNames.has(name);
}

/** True for names removed from the current kernel tables that runtimes still resolve. */
export function isLegacySyscallName(name: string): boolean {
  return legacyNames.has(name);
}

/** Every known syscall name (current and legacy), sorted. */
export const KNOWN_SYSCALL_NAMES: readonly string[] = [...knownNames, ...legacyNames].sort();

export { ALL_SYSCALL_NAMES };
