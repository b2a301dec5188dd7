/** sys_enter, the hot path of sysfence's eBPF recorder (see ebpf-program.ts), and --args reads. */
import { syscallTable } from '../arch/tables.js';
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
import { ARG_SPEC_NAMES, argIndexes, syscallArgs } from '../knowledge/syscall-args.js';
import { callFlags, countError, increment, inScope } from './ebpf-emit.js';
import {
  ARG_REGS,
  COMPAT_FROM_REGS,
  EEXIST,
  ERRORS,
  FILENAME_BYTES,
  INDEX_SHIFT,
  KNOWN,
  type RecorderProgramOptions,
  SLOT,
  UNDER,
} from './ebpf-layout.js';

export function sysEnter(o: RecorderProgramOptions): Assembled {
  const a = new Asm();
  const x32 = o.arch.companions.map((c) => syscallTable(c).arch.nrBit).find((b) => b?.set === true)?.bit;
  const compat = COMPAT_FROM_REGS[o.arch.id];
  // stack: fp-8 tgid key, fp-16 slot key, fp-24 pair key, fp-32 pair value, fp-40 register read,
  // fp-56 other key (16), fp-64 other value, fp-152 a new record's insert result (several containers)
  a.mov(R6, R1);
  inScope(a, o, 'out');
  a.call('get_current_pid_tgid').mov(R7, R0).aluK('rsh', R7, 32).stx(4, FP, -8, R7);
  if (o.denials) {
    // this thread is in a call: its sys_exit is expected (fp-112 tid, fp-116 value)
    a.stx(4, FP, -112, R0).st(4, FP, -116, 1);
    a.lookup('threads', -112)
      .jK('jeq', R0, 0, 'thread_new')
      .st(4, R0, 0, 1)
      .ja('thread_done')
      .label('thread_new')
      .update('threads', -112, -116, BPF_ANY)
      .jK('jeq', R0, 0, 'thread_done');
    countError(a, ERRORS.indexOf('threads'));
    a.label('thread_done');
  }
  a.lookup('procs', -8).mov(R8, R0);
  a.jK('jne', R0, 0, 'have');
  // a process not seen yet (the first of the workload, or one that entered the cgroup): a record
  // with no flags (several containers: its container's index), from the zeroed per-CPU scratch
  // value (its bitmap is never written); fp-144 keeps the flags for a process with no record
  a.st(8, FP, -144, 0);
  if (o.under) scopeIndex(a, o);
  a.st(4, FP, -16, 0)
    .lookup('scratch', -16)
    .jK('jeq', R0, 0, 'out')
    .ldx(8, R1, FP, -144)
    .stx(8, R0, 0, R1)
    .mov(R3, R0)
    .ldMap(R1, 'procs')
    .mov(R2, FP)
    .aluK('add', R2, -8)
    .movK(R4, BPF_NOEXIST)
    .call('map_update_elem');
  if (o.under)
    // the scratch value's flags back to zero (the insert's result kept meanwhile)
    a.stx(8, FP, -152, R0)
      .st(4, FP, -16, 0)
      .lookup('scratch', -16)
      .jK('jeq', R0, 0, 'reset')
      .st(8, R0, 0, 0)
      .label('reset')
      .ldx(8, R0, FP, -152);
  a.jK('jeq', R0, 0, 'again').jK('jeq', R0, EEXIST, 'again');
  countError(a, ERRORS.indexOf('procs'));
  a.label('again').lookup('procs', -8).mov(R8, R0).ldx(8, R9, FP, -144).jK('jeq', R0, 0, 'derive');
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
  // the number; anything outside the slots (negative, past 1023) goes to the `other` map. With
  // --args the registers' address is kept at fp-104 (only then: the hot path stays short)
  if ((o.args || o.loads) && ARG_REGS[o.arch.id]) a.ldx(8, R1, R6, 0).stx(8, FP, -104, R1);
  a.ldx(8, R6, R6, 8);
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
  a.lookup('counts', -16).jK('jeq', R0, 0, 'counted');
  a.ldx(8, R1, R0, 0).aluK('add', R1, 1).stx(8, R0, 0, R1);
  a.label('counted');
  argReads(a, o);
  loadReads(a, o);
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
    .update('pairs', -24, -32, BPF_ANY)
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
    .lookup('scopes', -160)
    .jK('jne', R0, 0, 'scope_known')
    .st(4, FP, -164, 0)
    .lookup('next', -164)
    .jK('jeq', R0, 0, 'out')
    .movK(R1, 1)
    .atomicFetchAdd64(R0, 0, R1)
    .jK('jlt', R1, max, 'scope_new');
  countError(a, ERRORS.indexOf('scopes'));
  a.ja('out')
    .label('scope_new')
    .stx(4, FP, -164, R1)
    .update('scopes', -160, -164, BPF_NOEXIST)
    // another CPU gave this cgroup its index first: use that one
    .lookup('scopes', -160)
    .jK('jeq', R0, 0, 'out')
    .label('scope_known')
    .ldx(4, R1, R0, 0)
    .aluK('and', R1, max - 1)
    .aluK('lsh', R1, INDEX_SHIFT)
    .stx(8, FP, -144, R1);
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

/** The suffixes after ".so" that name a shared object: none, or "." and a version of 1 to 7 characters. */
const SO_TAILS = [0, 2, 3, 4, 5, 6, 7, 8];

/**
 * `loads`: at open and openat of the native ABI, the path when it names a shared object (ends in
 * ".so" or ".so." and a version), counted per (process, path) in `loads`. Only the end of the
 * string is looked at (no loop): fp-424 is the key {u32 tgid; u32 0; char path[248]}, fp-432 its
 * value and the pointer read. Uses r0-r5; keeps r6-r9.
 */
function loadReads(a: Asm, o: RecorderProgramOptions): void {
  const regs = ARG_REGS[o.arch.id];
  if (!o.loads || !regs) return;
  const t = syscallTable(o.arch.id);
  const openat = t.number('openat');
  const open = t.number('open');
  a.jK('jset', R9, SLOT.compat, 'loads_done');
  if (openat !== undefined) a.jK('jeq', R6, openat, 'loads_at');
  if (open !== undefined) a.jK('jeq', R6, open, 'loads_open');
  a.ja('loads_done');
  const read = (label: string, argIndex: number) => {
    a.label(label)
      .zeroStack(-432, 264)
      .stx(4, FP, -424, R7)
      .mov(R1, FP)
      .aluK('add', R1, -432)
      .movK(R2, 8)
      .ldx(8, R3, FP, -104)
      .aluK('add', R3, regs[argIndex] as number)
      .call('probe_read_kernel')
      .mov(R1, FP)
      .aluK('add', R1, -416)
      .movK(R2, FILENAME_BYTES - 1)
      .ldx(8, R3, FP, -432)
      .call('probe_read_user_str')
      .ja('loads_check');
  };
  if (openat !== undefined) read('loads_at', 1);
  if (open !== undefined) read('loads_open', 0);
  // r0: the length with its NUL; r1: the NUL's address (at least 10 characters before it)
  a.label('loads_check')
    .jK('jslt', R0, 11, 'loads_done')
    .jK('jgt', R0, FILENAME_BYTES - 1, 'loads_done')
    .mov(R1, FP)
    .aluK('add', R1, -417)
    .aluX('add', R1, R0);
  for (const k of SO_TAILS) {
    const miss = `loads_miss${k}`;
    a.ldx(1, R2, R1, -3 - k)
      .jK('jne', R2, 0x2e, miss)
      .ldx(1, R2, R1, -2 - k)
      .jK('jne', R2, 0x73, miss)
      .ldx(1, R2, R1, -1 - k)
      .jK('jne', R2, 0x6f, miss);
    if (k > 0) a.ldx(1, R2, R1, -k).jK('jne', R2, 0x2e, miss);
    a.ja('loads_store').label(miss);
  }
  a.ja('loads_done').label('loads_store');
  increment(a, 'loads', -424, -432, ERRORS.indexOf('loads'), 'ld');
  a.label('loads_done');
}
