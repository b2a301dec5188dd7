/** The rare events of sysfence's eBPF recorder: exec, fork, exit, and denials on sys_exit. */
import { Asm, type Assembled, BPF_ANY, FP, R0, R1, R2, R3, R4, R6, R7, R8, R9 } from '../ebpf/asm.js';
import { callFlags, countError, increment, inScope } from './ebpf-emit.js';
import {
  ERRORS,
  FILENAME_BYTES,
  INDEX_SHIFT,
  KNOWN,
  NR_FROM_REGS,
  type RecorderProgramOptions,
  SLOT,
  UNDER,
} from './ebpf-layout.js';

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

export function processExec(o: RecorderProgramOptions): Assembled {
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
    .lookup('procs', -272)
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

export function processFork(o: RecorderProgramOptions): Assembled {
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
    a.st(4, FP, -36, 1).update('threads', -8, -36, BPF_ANY).jK('jeq', R0, 0, 'child_in_flight');
    countError(a, ERRORS.indexOf('threads'));
    a.label('child_in_flight');
  }
  a.update('parents', -8, -16, BPF_ANY).jK('jeq', R0, 0, 'inherit');
  countError(a, ERRORS.indexOf('parents'));
  // the child (process or thread) starts with its parent's "runs the workload"; its ABI is read
  // at its first call
  a.label('inherit')
    .movK(R9, 0)
    .lookup('procs', -24)
    .jK('jeq', R0, 0, 'create')
    .ldx(8, R9, R0, 0)
    .aluK('and', R9, SLOT.gen | UNDER | (o.under ? (o.under.max - 1) << INDEX_SHIFT : 0));
  a.label('create')
    .st(4, FP, -32, 0)
    .lookup('scratch', -32)
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

export function processExit(o: RecorderProgramOptions): Assembled {
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
 * Denials: a call that reaches sys_exit while its thread is not in a call was stopped before it
 * ran (seccomp's ERRNO, TRAP, ...: the filter runs before the sys_enter tracepoint). Counted per
 * (process, number, flags) with the number from the saved registers.
 */
export function sysExit(o: RecorderProgramOptions): Assembled {
  const a = new Asm();
  const nr = NR_FROM_REGS[o.arch.id];
  if (!nr) throw new Error(`denials: no system call number register known for ${o.arch.id}`);
  // stack: fp-8 tid key, fp-16 tgid key, fp-24 number read, fp-48 denied key (16), fp-56 value
  a.mov(R6, R1);
  inScope(a, o, 'out');
  a.call('get_current_pid_tgid').stx(4, FP, -8, R0).mov(R7, R0).aluK('rsh', R7, 32).stx(4, FP, -16, R7);
  a.lookup('threads', -8)
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
  a.movK(R9, 0).lookup('procs', -16).jK('jeq', R0, 0, 'key').ldx(8, R9, R0, 0).aluK('and', R9, callFlags(o));
  a.label('key').stx(4, FP, -48, R7).stx(4, FP, -44, R8).stx(4, FP, -40, R9).st(4, FP, -36, 0);
  increment(a, 'denied', -48, -56, ERRORS.indexOf('denied'), 'den');
  a.label('out').ret0();
  return a.assemble();
}
