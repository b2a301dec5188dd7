/**
 * sysfence's own eBPF recorder, written as bytecode by this file (no bpftrace, no LLVM at run
 * time). The hot path, on every system call of every process on the machine:
 *
 *   raw tracepoint sys_enter -> is the caller in the workload's cgroup? (one helper, one compare)
 *     -> its process record (hash by tgid) -> slot = number | x32 bit | compat | runs-the-workload
 *     -> per-CPU count[slot] += 1 -> is slot's bit set in the process's "seen" bitmap? done.
 *
 * Only the first call of each (process, slot) pair does more: it sets the bit and writes the pair
 * (which processes made which calls: the recording's pids and executables). A process's ABI
 * (compat: a 32-bit program on a 64-bit kernel) is read from its saved registers once per exec,
 * not on every call. Exec, fork and exit are rare events on ordinary tracepoints; `--args` values
 * come from the per-syscall tracepoints of the few calls whose arguments are recorded.
 *
 * Nothing is lost silently: a map that is full counts the failure in `errors`, and the recording
 * fails with the map named (as the bpftrace backend did).
 */

import { syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import {
  Asm,
  type Assembled,
  BPF_ANY,
  BPF_NOEXIST,
  FP,
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R7,
  R8,
  R9,
} from '../ebpf/asm.js';
import { BPF_F_NO_PREALLOC, MAP_TYPES, type MapDef } from '../ebpf/lines.js';
import { ARG_SPEC_NAMES, argIndexes, syscallArgs } from '../knowledge/syscall-args.js';

/** Slot layout: the number's low 10 bits, then x32, compat and "runs the workload" (containers). */
export const SLOT = { nrMask: 0x3ff, x32: 0x400, compat: 0x800, gen: 0x1000, count: 0x2000 } as const;
/**
 * Flags word of a process record: bit 0 its ABI is known, bit 1 it runs under more seccomp
 * filters than sysfence (run: the workload's filter is installed); compat and gen at their slot
 * bits.
 */
const KNOWN = 1;
const UNDER = 2;
/** Several containers (`under`): the process's container index, in the flags at bit 16. */
export const INDEX_SHIFT = 16;
const RECORD_SIZE = 8 + SLOT.count / 8;
const EEXIST = -17;

/**
 * How a 32-bit (compat) process is told apart, per native ABI: a field of the saved user
 * registers (struct pt_regs, the first argument of the raw sys_enter tracepoint). x86_64: the
 * code segment is __USER32_CS (0x23) in 32-bit mode; aarch64: PSR_MODE32_BIT in pstate. A 64-bit
 * process that enters the kernel through `int 0x80` is counted as native (the kernel treats that
 * call as compat): said in docs/recording.md.
 */
const COMPAT_FROM_REGS: Partial<Record<ArchId, { offset: number; mask: number; value: number }>> = {
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
const NR_FROM_REGS: Partial<Record<ArchId, { offset: number; size: 4 | 8 }>> = {
  x86_64: { offset: 120, size: 8 },
  aarch64: { offset: 280, size: 4 },
};

/**
 * Where the system call arguments are in the saved user registers (struct pt_regs), per native
 * ABI, for `--args`: x86_64 di, si, dx, r10, r8, r9; aarch64 regs[0..5].
 */
const ARG_REGS: Partial<Record<ArchId, readonly number[]>> = {
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
  ];
}

/** Jumps to `out` unless the caller is in the workload's cgroup (or below `under`). Clobbers r0-r5. */
function inScope(a: Asm, o: RecorderProgramOptions, out: string): void {
  if (o.under)
    a.movK(R1, o.under.level)
      .call('get_current_ancestor_cgroup_id')
      .ld64(R1, o.under.id)
      .jX('jne', R0, R1, out);
  else a.call('get_current_cgroup_id').ld64(R1, o.cgroupId).jX('jne', R0, R1, out);
}

/** Mask of the flags that go with a call: compat, gen and (several containers) the index. */
const callFlags = (o: RecorderProgramOptions) =>
  SLOT.compat | SLOT.gen | (o.under ? (o.under.max - 1) << INDEX_SHIFT : 0);

/** errors[index] += 1 (a map was full). Uses fp-4 and r0-r5. */
function countError(a: Asm, index: number): void {
  const skip = a.newLabel('error');
  a.st(4, FP, -4, index)
    .ldMap(R1, 'errors')
    .mov(R2, FP)
    .aluK('add', R2, -4)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, skip)
    .movK(R1, 1)
    .atomicAdd64(R0, 0, R1)
    .label(skip);
}

/** map[key at fp+keyOff] += 1, inserting 1 when absent; a full map counts errors[error]. Uses r0-r5. */
function increment(a: Asm, map: MapName, keyOff: number, valueOff: number, error: number, tag: string): void {
  a.ldMap(R1, map)
    .mov(R2, FP)
    .aluK('add', R2, keyOff)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, `${tag}_insert`)
    .movK(R1, 1)
    .atomicAdd64(R0, 0, R1)
    .ja(`${tag}_done`)
    .label(`${tag}_insert`)
    .st(8, FP, valueOff, 1)
    .ldMap(R1, map)
    .mov(R2, FP)
    .aluK('add', R2, keyOff)
    .mov(R3, FP)
    .aluK('add', R3, valueOff)
    .movK(R4, BPF_NOEXIST)
    .call('map_update_elem')
    .jK('jeq', R0, 0, `${tag}_done`)
    // another CPU inserted it first: add to theirs
    .jK('jne', R0, EEXIST, `${tag}_full`)
    .ldMap(R1, map)
    .mov(R2, FP)
    .aluK('add', R2, keyOff)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, `${tag}_done`)
    .movK(R1, 1)
    .atomicAdd64(R0, 0, R1)
    .ja(`${tag}_done`)
    .label(`${tag}_full`);
  countError(a, error);
  a.label(`${tag}_done`);
}

function sysEnter(o: RecorderProgramOptions): Assembled {
  const a = new Asm();
  const x32 = o.arch.companions.map((c) => syscallTable(c).arch.nrBit).find((b) => b?.set === true)?.bit;
  const compat = COMPAT_FROM_REGS[o.arch.id];
  // stack: fp-8 tgid key, fp-16 slot key, fp-24 pair key, fp-32 pair value, fp-40 register read,
  // fp-56 other key (16), fp-64 other value, fp-152 the context
  a.mov(R6, R1).stx(8, FP, -152, R1);
  inScope(a, o, 'out');
  a.call('get_current_pid_tgid').mov(R7, R0).aluK('rsh', R7, 32).stx(4, FP, -8, R7);
  if (o.denials) {
    // this thread is in a call: its sys_exit is expected (fp-112 tid, fp-116 value)
    a.stx(4, FP, -112, R0).st(4, FP, -116, 1);
    a.ldMap(R1, 'threads')
      .mov(R2, FP)
      .aluK('add', R2, -112)
      .call('map_lookup_elem')
      .jK('jeq', R0, 0, 'thread_new')
      .st(4, R0, 0, 1)
      .ja('thread_done')
      .label('thread_new')
      .ldMap(R1, 'threads')
      .mov(R2, FP)
      .aluK('add', R2, -112)
      .mov(R3, FP)
      .aluK('add', R3, -116)
      .movK(R4, BPF_ANY)
      .call('map_update_elem')
      .jK('jeq', R0, 0, 'thread_done');
    countError(a, ERRORS.indexOf('threads'));
    a.label('thread_done');
  }
  a.ldMap(R1, 'procs').mov(R2, FP).aluK('add', R2, -8).call('map_lookup_elem').mov(R8, R0);
  a.jK('jne', R0, 0, 'have');
  // a process not seen yet (the first of the workload, or one that entered the cgroup): a record
  // with no flags (several containers: its container's index), from the zeroed per-CPU scratch
  // value (its bitmap is never written); fp-144 keeps the flags for a process with no record
  a.st(8, FP, -144, 0);
  if (o.under) scopeIndex(a, o);
  a.st(4, FP, -16, 0)
    .ldMap(R1, 'scratch')
    .mov(R2, FP)
    .aluK('add', R2, -16)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, 'out')
    .ldx(8, R1, FP, -144)
    .stx(8, R0, 0, R1)
    .mov(R3, R0)
    .ldMap(R1, 'procs')
    .mov(R2, FP)
    .aluK('add', R2, -8)
    .movK(R4, BPF_NOEXIST)
    .call('map_update_elem')
    .mov(R6, R0);
  if (o.under)
    // the scratch value's flags back to zero
    a.st(4, FP, -16, 0)
      .ldMap(R1, 'scratch')
      .mov(R2, FP)
      .aluK('add', R2, -16)
      .call('map_lookup_elem')
      .jK('jeq', R0, 0, 'reset')
      .st(8, R0, 0, 0)
      .label('reset');
  a.mov(R0, R6).ldx(8, R6, FP, -152).jK('jeq', R0, 0, 'again').jK('jeq', R0, EEXIST, 'again');
  countError(a, ERRORS.indexOf('procs'));
  a.label('again')
    .ldMap(R1, 'procs')
    .mov(R2, FP)
    .aluK('add', R2, -8)
    .call('map_lookup_elem')
    .mov(R8, R0)
    .ldx(8, R9, FP, -144)
    .jK('jeq', R0, 0, 'derive');
  a.label('have').ldx(8, R9, R8, 0).jK('jset', R9, KNOWN, 'known');
  a.label('derive');
  if (compat) {
    // the caller's mode from its saved registers (ctx->args[0] is struct pt_regs *)
    a.st(8, FP, -40, 0)
      .mov(R1, FP)
      .aluK('add', R1, -40)
      .movK(R2, 8)
      .ldx(8, R3, R6, 0)
      .aluK('add', R3, compat.offset)
      .call('probe_read_kernel')
      .ldx(8, R1, FP, -40)
      .aluK('and', R1, compat.mask)
      .aluK('and', R9, ~SLOT.compat)
      .jK('jne', R1, compat.value, 'native')
      .aluK('or', R9, SLOT.compat)
      .label('native');
  }
  a.aluK('or', R9, KNOWN).jK('jeq', R8, 0, 'known').stx(8, R8, 0, R9);
  a.label('known');
  if (o.underFiltersAbove !== undefined && o.layout.seccompFilterCount !== undefined) {
    // run: only the calls the workload's filter judged (not bubblewrap's set-up before it); the
    // count only grows, so once above it stays in the record
    a.jK('jset', R9, UNDER, 'under')
      .st(8, FP, -40, 0)
      .call('get_current_task')
      .mov(R3, R0)
      .aluK('add', R3, o.layout.seccompFilterCount)
      .mov(R1, FP)
      .aluK('add', R1, -40)
      .movK(R2, 4)
      .call('probe_read_kernel')
      .ldx(4, R1, FP, -40)
      .jK('jle', R1, o.underFiltersAbove, 'out')
      .aluK('or', R9, UNDER)
      .jK('jeq', R8, 0, 'under')
      .stx(8, R8, 0, R9)
      .label('under');
  }
  // the number; anything outside the slots (negative, past 1023) goes to the `other` map. The
  // registers' address is kept at fp-104 for --args
  a.ldx(8, R1, R6, 0).stx(8, FP, -104, R1).ldx(8, R6, R6, 8);
  a.mov(R2, R6)
    .ld64(R3, ~BigInt(SLOT.nrMask | (x32 ?? 0)))
    .aluX('and', R2, R3)
    .jK('jne', R2, 0, 'other');
  a.mov(R2, R6).aluK('and', R2, SLOT.nrMask);
  if (x32 !== undefined) {
    if (x32 !== 0x40000000) throw new Error('slot layout: x32 bit expected at 0x40000000');
    a.mov(R3, R6).aluK('rsh', R3, 20).aluK('and', R3, SLOT.x32).aluX('or', R2, R3);
  }
  if (o.under)
    a.mov(R3, R9)
      .aluK('rsh', R3, INDEX_SHIFT)
      .aluK('and', R3, o.under.max - 1)
      .aluK('lsh', R3, 13);
  a.aluK('and', R9, SLOT.compat | SLOT.gen)
    .aluX('or', R9, R2)
    .aluK('and', R9, SLOT.count - 1);
  if (o.under) a.aluX('or', R9, R3);
  a.stx(4, FP, -16, R9);
  a.ldMap(R1, 'counts').mov(R2, FP).aluK('add', R2, -16).call('map_lookup_elem').jK('jeq', R0, 0, 'counted');
  a.ldx(8, R1, R0, 0).aluK('add', R1, 1).stx(8, R0, 0, R1);
  a.label('counted');
  argReads(a, o);
  a.jK('jeq', R8, 0, 'out');
  // first call of this slot by this process?
  a.mov(R1, R9)
    .aluK('rsh', R1, 6)
    .aluK('and', R1, SLOT.count / 64 - 1)
    .aluK('lsh', R1, 3)
    .aluX('add', R1, R8)
    .ldx(8, R3, R1, 8)
    .movK(R4, 1)
    .mov(R5, R9)
    .aluK('and', R5, 63)
    .aluX('lsh', R4, R5)
    .jX('jset', R3, R4, 'out')
    .aluX('or', R3, R4)
    .stx(8, R1, 8, R3);
  a.mov(R1, R7)
    .aluK('lsh', R1, 32)
    .aluX('or', R1, R9)
    .stx(8, FP, -24, R1)
    .st(4, FP, -32, 1)
    .ldMap(R1, 'pairs')
    .mov(R2, FP)
    .aluK('add', R2, -24)
    .mov(R3, FP)
    .aluK('add', R3, -32)
    .movK(R4, BPF_ANY)
    .call('map_update_elem')
    .jK('jeq', R0, 0, 'out');
  countError(a, ERRORS.indexOf('pairs'));
  a.ja('out');
  // rare: a number outside the slots, counted per (process, number, flags) as it comes
  a.label('other')
    .stx(4, FP, -56, R7)
    .stx(4, FP, -52, R6)
    .aluK('and', R9, callFlags(o))
    .stx(4, FP, -48, R9)
    .st(4, FP, -44, 0);
  increment(a, 'other', -56, -64, ERRORS.indexOf('other'), 'oth');
  a.label('out').ret0();
  return a.assemble();
}

/**
 * Several containers: the caller's container index into fp-144 (as flags), from `scopes`, or a
 * new one (the `next` counter) for a cgroup not seen yet; past `max` the call is counted as an
 * error and not recorded. Uses fp-160 (cgroup id), fp-164 (index).
 */
function scopeIndex(a: Asm, o: RecorderProgramOptions): void {
  const max = o.under?.max ?? 1;
  a.call('get_current_cgroup_id')
    .stx(8, FP, -160, R0)
    .ldMap(R1, 'scopes')
    .mov(R2, FP)
    .aluK('add', R2, -160)
    .call('map_lookup_elem')
    .jK('jne', R0, 0, 'scope_known')
    .st(4, FP, -164, 0)
    .ldMap(R1, 'next')
    .mov(R2, FP)
    .aluK('add', R2, -164)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, 'out')
    .movK(R1, 1)
    .atomicFetchAdd64(R0, 0, R1)
    .jK('jlt', R1, max, 'scope_new');
  countError(a, ERRORS.indexOf('scopes'));
  a.ja('out')
    .label('scope_new')
    .stx(4, FP, -164, R1)
    .ldMap(R1, 'scopes')
    .mov(R2, FP)
    .aluK('add', R2, -160)
    .mov(R3, FP)
    .aluK('add', R3, -164)
    .movK(R4, BPF_NOEXIST)
    .call('map_update_elem')
    // another CPU gave this cgroup its index first: use that one
    .ldMap(R1, 'scopes')
    .mov(R2, FP)
    .aluK('add', R2, -160)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, 'out')
    .label('scope_known')
    .ldx(4, R1, R0, 0)
    .aluK('and', R1, max - 1)
    .aluK('lsh', R1, INDEX_SHIFT)
    .stx(8, FP, -144, R1);
}

/** Compares the zero-padded string at fp+off with `prefix`; jumps to `miss` when it differs. */
function startsWith(a: Asm, off: number, prefix: string, miss: string): void {
  const bytes = Buffer.from(prefix);
  for (let i = 0; i < bytes.length; i += 8) {
    const chunk = Buffer.alloc(8);
    bytes.copy(chunk, 0, i, Math.min(i + 8, bytes.length));
    const n = Math.min(8, bytes.length - i);
    const mask = n === 8 ? -1n : (1n << BigInt(8 * n)) - 1n;
    a.ldx(8, R1, FP, off + i)
      .ld64(R2, BigInt.asUintN(64, mask))
      .aluX('and', R1, R2)
      .ld64(R2, chunk.readBigUInt64LE(0))
      .jX('jne', R1, R2, miss);
  }
}

function processExec(o: RecorderProgramOptions): Assembled {
  const a = new Asm();
  // raw sched_process_exec(struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
  // stack: fp-256 execs key {u32 pid; u32 0; char file[248]}, fp-264 value, fp-272 pid key,
  // fp-280 the filename pointer
  a.mov(R6, R1);
  inScope(a, o, 'out');
  a.zeroStack(-256, 256);
  a.call('get_current_pid_tgid').mov(R7, R0).aluK('rsh', R7, 32).stx(4, FP, -256, R7);
  a.st(8, FP, -280, 0)
    .mov(R1, FP)
    .aluK('add', R1, -280)
    .movK(R2, 8)
    .ldx(8, R3, R6, 16)
    .aluK('add', R3, o.layout.binprmFilename)
    .call('probe_read_kernel')
    .mov(R1, FP)
    .aluK('add', R1, -FILENAME_BYTES)
    .movK(R2, FILENAME_BYTES - 1)
    .ldx(8, R3, FP, -280)
    .call('probe_read_kernel_str');
  increment(a, 'execs', -256, -264, ERRORS.indexOf('execs'), 'ex');
  // the process's ABI may change with the new program: read again at its next call
  a.stx(4, FP, -272, R7)
    .ldMap(R1, 'procs')
    .mov(R2, FP)
    .aluK('add', R2, -272)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, 'out')
    .mov(R8, R0)
    .ldx(8, R9, R8, 0)
    .aluK('and', R9, ~(KNOWN | SLOT.compat));
  if (o.afterExec) {
    // runs the workload from now on, unless this is the runtime re-executing itself before it
    a.jK('jset', R9, SLOT.gen, 'store');
    o.reexecPrefixes.forEach((p, i) => {
      startsWith(a, -FILENAME_BYTES, p, `miss${i}`);
      a.ja('store').label(`miss${i}`);
    });
    a.aluK('or', R9, SLOT.gen);
  }
  a.label('store').stx(8, R8, 0, R9);
  a.label('out').ret0();
  return a.assemble();
}

function processFork(o: RecorderProgramOptions): Assembled {
  const a = new Asm();
  // raw sched_process_fork(struct task_struct *parent, struct task_struct *child)
  // stack: fp-8 child key, fp-16 parent value, fp-24 parent key, fp-32 scratch key
  a.mov(R6, R1);
  inScope(a, o, 'out');
  a.st(8, FP, -8, 0)
    .mov(R1, FP)
    .aluK('add', R1, -8)
    .movK(R2, 4)
    .ldx(8, R3, R6, 8)
    .aluK('add', R3, o.layout.taskPid)
    .call('probe_read_kernel')
    .ldx(4, R7, FP, -8);
  a.call('get_current_pid_tgid').aluK('rsh', R0, 32).stx(4, FP, -16, R0).stx(4, FP, -24, R0);
  if (o.denials) {
    // a new task starts by returning from clone/fork: an exit without an enter that is no denial
    a.st(4, FP, -36, 1)
      .ldMap(R1, 'threads')
      .mov(R2, FP)
      .aluK('add', R2, -8)
      .mov(R3, FP)
      .aluK('add', R3, -36)
      .movK(R4, BPF_ANY)
      .call('map_update_elem')
      .jK('jeq', R0, 0, 'child_in_flight');
    countError(a, ERRORS.indexOf('threads'));
    a.label('child_in_flight');
  }
  a.ldMap(R1, 'parents')
    .mov(R2, FP)
    .aluK('add', R2, -8)
    .mov(R3, FP)
    .aluK('add', R3, -16)
    .movK(R4, BPF_ANY)
    .call('map_update_elem')
    .jK('jeq', R0, 0, 'inherit');
  countError(a, ERRORS.indexOf('parents'));
  // the child (process or thread) starts with its parent's "runs the workload"; its ABI is read
  // at its first call
  a.label('inherit')
    .movK(R9, 0)
    .ldMap(R1, 'procs')
    .mov(R2, FP)
    .aluK('add', R2, -24)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, 'create')
    .ldx(8, R9, R0, 0)
    .aluK('and', R9, SLOT.gen | UNDER | (o.under ? (o.under.max - 1) << INDEX_SHIFT : 0));
  a.label('create')
    .st(4, FP, -32, 0)
    .ldMap(R1, 'scratch')
    .mov(R2, FP)
    .aluK('add', R2, -32)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, 'out')
    .mov(R8, R0)
    .stx(8, R8, 0, R9)
    .ldMap(R1, 'procs')
    .mov(R2, FP)
    .aluK('add', R2, -8)
    .mov(R3, R8)
    .movK(R4, BPF_ANY)
    .call('map_update_elem')
    // the scratch value's flags go back to zero: new processes in sys_enter start from it
    .st(8, R8, 0, 0)
    .jK('jeq', R0, 0, 'out');
  countError(a, ERRORS.indexOf('procs'));
  a.label('out').ret0();
  return a.assemble();
}

function processExit(o: RecorderProgramOptions): Assembled {
  const a = new Asm();
  // raw sched_process_exit(struct task_struct *p[, bool group_dead]): a thread's record goes when
  // it exits; the process's when its last thread does (without group_dead: when its leader does)
  a.mov(R6, R1);
  inScope(a, o, 'out');
  a.call('get_current_pid_tgid')
    .mov(R7, R0)
    .aluK('rsh', R7, 32)
    .mov(R8, R0)
    .aluK('lsh', R8, 32)
    .aluK('rsh', R8, 32)
    .stx(4, FP, -8, R8);
  if (o.denials) a.ldMap(R1, 'threads').mov(R2, FP).aluK('add', R2, -8).call('map_delete_elem');
  a.jX('jne', R7, R8, 'delete');
  if (o.layout.exitGroupDead) a.ldx(8, R1, R6, 8).aluK('and', R1, 0xff).jK('jeq', R1, 0, 'out');
  a.label('delete').ldMap(R1, 'procs').mov(R2, FP).aluK('add', R2, -8).call('map_delete_elem');
  a.label('out').ret0();
  return a.assemble();
}

/**
 * `--args`: for the calls whose arguments are recorded (native ABI only), each value from the
 * saved registers, read as wide as the kernel's prototype declares it (an int is 32 bits,
 * sign-extended), counted per (number, index, value). Emitted into sys_enter after counting; r6
 * holds the number, r9 the slot. Uses fp-72 (value), fp-88 (key, 16), fp-96 (count).
 */
function argReads(a: Asm, o: RecorderProgramOptions): void {
  const regs = ARG_REGS[o.arch.id];
  if (!o.args || !regs) return;
  const t = syscallTable(o.arch);
  const specs = ARG_SPEC_NAMES.flatMap((name) => {
    const nr = t.number(name);
    const args = syscallArgs(name);
    return nr === undefined || !args ? [] : [{ name, nr, args, indexes: argIndexes(o.arch, name) }];
  });
  a.mov(R1, R9)
    .aluK('and', R1, SLOT.compat | SLOT.x32)
    .jK('jne', R1, 0, 'args_done');
  for (const s of specs) a.jK('jeq', R6, s.nr, `args_${s.name}`);
  a.ja('args_done');
  for (const s of specs) {
    a.label(`args_${s.name}`);
    for (const i of s.indexes) {
      const type = s.args[i]?.type ?? 'unsigned long';
      const width = /\*|long|size_t|loff_t|u64/.test(type)
        ? 8
        : /short|umode_t/.test(type)
          ? 2
          : /char|bool/.test(type)
            ? 1
            : 4;
      const signed = !/unsigned|u8|u16|u32|u64|size_t|umode_t/.test(type);
      a.st(8, FP, -72, 0)
        .mov(R1, FP)
        .aluK('add', R1, -72)
        .movK(R2, 8)
        .ldx(8, R3, FP, -104)
        .aluK('add', R3, regs[i] ?? 0)
        .call('probe_read_kernel')
        .ldx(8, R1, FP, -72);
      if (width < 8) {
        const shift = 64 - width * 8;
        a.aluK('lsh', R1, shift).aluK(signed ? 'arsh' : 'rsh', R1, shift);
      }
      a.stx(8, FP, -80, R1).st(4, FP, -88, s.nr).st(4, FP, -84, i);
      increment(a, 'args', -88, -96, ERRORS.indexOf('args'), `a_${s.name}_${i}`);
    }
    a.ja('args_done');
  }
  a.label('args_done');
}

/**
 * Denials: a call that reaches sys_exit while its thread is not in a call was stopped before it
 * ran (seccomp's ERRNO, TRAP, ...: the filter runs before the sys_enter tracepoint). Counted per
 * (process, number, flags) with the number from the saved registers.
 */
function sysExit(o: RecorderProgramOptions): Assembled {
  const a = new Asm();
  const nr = NR_FROM_REGS[o.arch.id];
  if (!nr) throw new Error(`denials: no system call number register known for ${o.arch.id}`);
  // stack: fp-8 tid key, fp-16 tgid key, fp-24 number read, fp-48 denied key (16), fp-56 value
  a.mov(R6, R1);
  inScope(a, o, 'out');
  a.call('get_current_pid_tgid').stx(4, FP, -8, R0).mov(R7, R0).aluK('rsh', R7, 32).stx(4, FP, -16, R7);
  a.ldMap(R1, 'threads')
    .mov(R2, FP)
    .aluK('add', R2, -8)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, 'denied')
    .ldx(4, R1, R0, 0)
    .jK('jeq', R1, 0, 'denied')
    .st(4, R0, 0, 0)
    .ja('out');
  a.label('denied')
    .st(8, FP, -24, 0)
    .mov(R1, FP)
    .aluK('add', R1, -24)
    .movK(R2, nr.size)
    .ldx(8, R3, R6, 0)
    .aluK('add', R3, nr.offset)
    .call('probe_read_kernel')
    .ldx(nr.size, R8, FP, -24);
  if (nr.size === 4) a.aluK('lsh', R8, 32).aluK('arsh', R8, 32);
  a.movK(R9, 0)
    .ldMap(R1, 'procs')
    .mov(R2, FP)
    .aluK('add', R2, -16)
    .call('map_lookup_elem')
    .jK('jeq', R0, 0, 'key')
    .ldx(8, R9, R0, 0)
    .aluK('and', R9, callFlags(o));
  a.label('key').stx(4, FP, -48, R7).stx(4, FP, -44, R8).stx(4, FP, -40, R9).st(4, FP, -36, 0);
  increment(a, 'denied', -48, -56, ERRORS.indexOf('denied'), 'den');
  a.label('out').ret0();
  return a.assemble();
}

/** The whole recorder for one workload cgroup. */
export function recorderProgram(o: RecorderProgramOptions): RecorderProgram {
  return {
    maps: recorderMaps(o.mapKeys, o.under?.max ?? 1),
    programs: [
      { name: 'sys_enter', attach: 'raw:sys_enter', code: sysEnter(o) },
      { name: 'exec', attach: 'raw:sched_process_exec', code: processExec(o) },
      { name: 'fork', attach: 'raw:sched_process_fork', code: processFork(o) },
      { name: 'exit', attach: 'raw:sched_process_exit', code: processExit(o) },
      ...(o.denials ? [{ name: 'sys_exit', attach: 'raw:sys_exit', code: sysExit(o) }] : []),
    ],
  };
}
