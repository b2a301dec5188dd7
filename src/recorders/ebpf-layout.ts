/**
 * The data of sysfence's eBPF recorder: the slot and flag layout, its maps, and what the kernel
 * hands its raw tracepoints per architecture (registers) and per kernel (KernelLayout).
 */
import type { ArchDef, ArchId } from '../arch/types.js';
import type { Assembled } from '../ebpf/asm.js';
import { BPF_F_NO_PREALLOC, MAP_TYPES, type MapDef } from '../ebpf/lines.js';

/** Slot layout: the number's low 10 bits, then x32, compat and "runs the workload" (containers). */
export const SLOT = { nrMask: 0x3ff, x32: 0x400, compat: 0x800, gen: 0x1000, count: 0x2000 } as const;
/**
 * Flags word of a process record: bit 0 its ABI is known, bit 1 it runs under more seccomp
 * filters than sysfence (run: the workload's filter is installed); compat and gen at their slot
 * bits.
 */
export const KNOWN = 1;
export const UNDER = 2;
/** Several containers (`under`): the process's container index, in the flags at bit 16. */
export const INDEX_SHIFT = 16;
export const RECORD_SIZE = 8 + SLOT.count / 8;
export const EEXIST = -17;

/**
 * How a 32-bit (compat) process is told apart, per native ABI: a field of the saved user
 * registers (struct pt_regs, the first argument of the raw sys_enter tracepoint). x86_64: the
 * code segment is __USER32_CS (0x23) in 32-bit mode; aarch64: PSR_MODE32_BIT in pstate. A 64-bit
 * process that enters the kernel through `int 0x80` is counted as native (the kernel treats that
 * call as compat): said in docs/recording.md.
 */
export const COMPAT_FROM_REGS: Partial<Record<ArchId, { offset: number; mask: number; value: number }>> = {
  x86_64: { offset: 136, mask: 0xffff, value: 0x23 },
  aarch64: { offset: 264, mask: 0x10, value: 0x10 },
};

/** Indexes of the `errors` array: which map was full. */
export const ERRORS = [
  'procs',
  'pairs',
  'execs',
  'parents',
  'other',
  'args',
  'threads',
  'denied',
  'scopes',
  'loads',
] as const;

/** What the raw tracepoints hand over, on this kernel (its BTF and tracefs). */
export interface KernelLayout {
  /** Byte offset of `pid` in struct task_struct (a fork's child). */
  taskPid: number;
  /** Byte offset of `filename` in struct linux_binprm (an exec's program). */
  binprmFilename: number;
  /** sched_process_exit passes `group_dead` (Linux 6.16+): a process's last thread is known. */
  exitGroupDead: boolean;
  /** Byte offset of seccomp.filter_count in struct task_struct (run: calls under the new filter). */
  seccompFilterCount?: number;
}

/**
 * The system call number in the saved registers, for sys_exit (whose raw tracepoint passes only
 * the registers and the return value): x86_64 orig_ax; aarch64 syscallno (32 bits).
 */
export const NR_FROM_REGS: Partial<Record<ArchId, { offset: number; size: 4 | 8 }>> = {
  x86_64: { offset: 120, size: 8 },
  aarch64: { offset: 280, size: 4 },
};

/**
 * Where the system call arguments are in the saved user registers (struct pt_regs), per native
 * ABI, for `--args`: x86_64 di, si, dx, r10, r8, r9; aarch64 regs[0..5].
 */
export const ARG_REGS: Partial<Record<ArchId, readonly number[]>> = {
  x86_64: [112, 104, 96, 56, 72, 64],
  aarch64: [0, 8, 16, 24, 32, 40],
};

export interface RecorderProgramOptions {
  arch: ArchDef;
  /** One workload: its cgroup's id. */
  cgroupId: bigint;
  /**
   * Several containers instead (an application): every cgroup below this one (`level` its depth
   * under the cgroup v2 root), each counted apart by an index given to it at its first call (at
   * most `max`; `scopes` maps cgroup ids to indexes).
   */
  under?: { id: bigint; level: number; max: number };
  /** Containers: a process runs the workload once it (or an ancestor) exec'd something that is not the runtime re-executing itself. */
  afterExec: boolean;
  /** Path prefixes of the runtime's own re-exec (afterExec only). */
  reexecPrefixes: readonly string[];
  args: boolean;
  mapKeys: number;
  layout: KernelLayout;
  /**
   * Also record the calls stopped before they ran (a seccomp filter's ERRNO, TRAP, ...): those reach
   * sys_exit but never sys_enter. Costs a per-thread lookup on both.
   */
  denials?: boolean;
  /** Count only the calls of processes under more seccomp filters than this (run). */
  underFiltersAbove?: number;
  /**
   * Also record the shared objects the workload opens (open/openat of a path ending in `.so` or
   * `.so.` and a version: the loader's DT_NEEDED opens and dlopen's), per process, in `loads`.
   */
  loads?: boolean;
}

export interface RecorderProgram {
  maps: MapDef[];
  /**
   * `raw:NAME`, a raw tracepoint: the cheapest to run and to detach (a tracepoint through perf,
   * `tp:ID`, takes ~30 ms to detach, each).
   */
  programs: { name: string; attach: string; code: Assembled }[];
}

/** Map names in the order they are created (the loader's indexes). */
export const MAPS = [
  'counts',
  'procs',
  'pairs',
  'execs',
  'parents',
  'other',
  'errors',
  'scratch',
  'args',
  'threads',
  'denied',
  'scopes',
  'next',
  'loads',
] as const;
export type MapName = (typeof MAPS)[number];
export const FILENAME_BYTES = 248;

export function recorderMaps(mapKeys: number, scopes = 1): MapDef[] {
  const h = (name: MapName, keySize: number, valueSize: number): MapDef => ({
    name,
    type: MAP_TYPES.hash,
    keySize,
    valueSize,
    maxEntries: mapKeys,
    flags: BPF_F_NO_PREALLOC,
  });
  return [
    {
      name: 'counts',
      type: MAP_TYPES.percpu_array,
      keySize: 4,
      valueSize: 8,
      maxEntries: SLOT.count * scopes,
    },
    h('procs', 4, RECORD_SIZE),
    h('pairs', 8, 4),
    h('execs', 8 + FILENAME_BYTES, 8),
    h('parents', 4, 4),
    h('other', 16, 8),
    { name: 'errors', type: MAP_TYPES.array, keySize: 4, valueSize: 8, maxEntries: ERRORS.length },
    { name: 'scratch', type: MAP_TYPES.percpu_array, keySize: 4, valueSize: RECORD_SIZE, maxEntries: 1 },
    h('args', 16, 8),
    h('threads', 4, 4),
    h('denied', 16, 8),
    { name: 'scopes', type: MAP_TYPES.hash, keySize: 8, valueSize: 4, maxEntries: scopes },
    { name: 'next', type: MAP_TYPES.array, keySize: 4, valueSize: 8, maxEntries: 1 },
    h('loads', 8 + FILENAME_BYTES, 8),
  ];
}
