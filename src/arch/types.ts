/** Architecture (ABI) definitions: every quirk is data here, never a branch in shared code. */

import type { ArchId } from './defs.js';

/**
 * Short ABI identifiers, spelled as libseccomp's `scmp_sys_resolver -a` spells them: derived from
 * the rows of `ARCH_DEFS` (src/arch/defs.ts), the one table an architecture is added to.
 */
export type { ArchId };

/** A multiplexing syscall (socketcall, ipc): one syscall number whose first argument selects the call. */
export interface Multiplexer {
  /** The multiplexing syscall's name in the kernel table (`socketcall` or `ipc`). */
  readonly syscall: 'socketcall' | 'ipc';
  /** Sub-call number (the value of argument 0) for each multiplexed syscall name. */
  readonly calls: Readonly<Record<string, number>>;
}

/**
 * Syscall numbers with `bit` set belong to the ABI `abi`, which shares this ABI's AUDIT_ARCH value
 * (x86_64 and x32). `set` says whether this ABI's own numbers have the bit set.
 */
export interface NrBit {
  readonly bit: number;
  readonly set: boolean;
}

export interface ArchDef {
  readonly id: ArchId;
  /** OCI / Docker spelling. */
  readonly scmp: string;
  /** The kernel's AUDIT_ARCH_* value, as seccomp_data.arch carries it. */
  readonly auditArch: number;
  readonly auditArchName: string;
  /** Word size of the ABI. */
  readonly bits: 32 | 64;
  /**
   * Width of argument comparisons: libseccomp (and so runc and crun) compares only the low 32 bits
   * of each argument on 32-bit ABIs and on x32.
   */
  readonly argBits: 32 | 64;
  readonly endian: 'little' | 'big';
  /** Name of the kernel ABI table in data/syscall-tables. */
  readonly kernelTable: string;
  /** Values of Go's runtime.GOARCH that dockerd matches against `includes.arches` for this ABI. */
  readonly goArch: string | null;
  /** Numbering bit shared with another ABI of the same auditArch (x32), when there is one. */
  readonly nrBit: NrBit | null;
  readonly multiplexers: readonly Multiplexer[];
  /** The ABIs a process of this ABI can also use (Docker's archMap subArchitectures). */
  readonly companions: readonly ArchId[];
  /** Node.js's `process.arch` on a machine whose native ABI this is (none: Node does not run there). */
  readonly nodeArch?: string;
  /** Other spellings users write (uname -m, distribution names), looked up by findArch. */
  readonly aliases?: readonly string[];
}

export interface SyscallTable {
  readonly arch: ArchDef;
  /** Number of a syscall name on this ABI, or undefined when the ABI lacks it. */
  number(name: string): number | undefined;
  /** Name of a syscall number on this ABI, or undefined. */
  name(nr: number): string | undefined;
  /** All (name, number) pairs, sorted by number then name. */
  readonly entries: ReadonlyArray<readonly [string, number]>;
  /** Highest syscall number the table knows. */
  readonly maxNr: number;
}

/** A row of ARCH_DEFS as written, before its identifiers are known to be ABIs (see defs.ts). */
export type ArchDefRow = Omit<ArchDef, 'id' | 'companions'> & {
  readonly id: string;
  readonly companions: readonly string[];
};
