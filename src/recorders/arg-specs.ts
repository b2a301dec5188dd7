/**
 * The arguments a profile can usefully check, per syscall: plain numbers (families, flags,
 * options, request codes), never pointers (a filter sees only the address, which the process can
 * change after the check). Recorders capture these values when asked (`--args`), and
 * `generate --args` turns small observed sets into rules.
 */
import type { ArchDef } from '../arch/types.js';

const SPECS: Record<string, number[]> = {
  socket: [0, 1, 2], // family, type (with SOCK_NONBLOCK/CLOEXEC), protocol
  socketpair: [0, 1],
  clone: [0], // flags (index 1 on s390: see argIndexes)
  unshare: [0], // namespace flags
  setns: [1], // nstype
  personality: [0],
  prctl: [0], // option
  arch_prctl: [0],
  ioctl: [1], // request
  fcntl: [1], // cmd
  fcntl64: [1],
  mmap: [2], // prot
  mmap2: [2],
  mprotect: [2],
  pkey_mprotect: [2],
  madvise: [2],
  setsockopt: [1, 2], // level, option name
  getsockopt: [1, 2],
  kill: [1], // signal
  tgkill: [2],
};

/** Argument indexes worth recording for `name` on `arch` (empty when none). */
export function argIndexes(arch: ArchDef, name: string): readonly number[] {
  if (name === 'clone' && (arch.id === 's390' || arch.id === 's390x')) return [1];
  return SPECS[name] ?? [];
}

export const ARG_SPEC_NAMES: readonly string[] = Object.keys(SPECS).sort();
