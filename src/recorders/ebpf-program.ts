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
 * not on every call. Exec, fork and exit are rare events (raw tracepoints too); `--args` values
 * are read in sys_enter for the few calls whose arguments are recorded.
 *
 * Files: ebpf-layout.ts (slots, flags, maps, what the kernel hands over), ebpf-emit.ts (the pieces
 * every program uses), ebpf-hot-path.ts (sys_enter), ebpf-events.ts (exec, fork, exit, sys_exit
 * denials), and this one, which puts them together.
 *
 * Nothing is lost silently: a map that is full counts the failure in `errors`, and the recording
 * fails with the map named (as the bpftrace backend did).
 */
import { processExec, processExit, processFork, sysExit } from './ebpf-events.js';
import { sysEnter } from './ebpf-hot-path.js';
import { type RecorderProgram, type RecorderProgramOptions, recorderMaps } from './ebpf-layout.js';

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
