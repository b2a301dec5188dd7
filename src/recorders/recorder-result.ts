/**
 * What an eBPF recorder saw, typed: the one seam between the kernel side (sysfence's own maps,
 * ebpf-tracer.ts, or bpftrace's printed JSON, ebpf-maps.ts) and the recording (`fill`). Each side
 * decodes its own encoding once, into these records; nothing after it reads a key string.
 */

/** Calls of one system call number by one process. */
export interface CallCount {
  pid: number;
  /** Made through the 32-bit (compat) entry of a 64-bit kernel. */
  compat: boolean;
  /** The kernel's number (x32's carry 0x40000000). */
  nr: number;
  /** Made after the process (or an ancestor) exec'd the workload (containers: not the runtime's). */
  workload: boolean;
  count: number;
}

export interface RecorderResult {
  calls: CallCount[];
  /** Calls stopped before they ran (a seccomp filter's ERRNO, KILL, ...). */
  denied: CallCount[];
  /** The programs each process exec'd (the path exec was given). */
  execs: { pid: number; file: string }[];
  /** Which process started which. */
  parents: { child: number; parent: number }[];
  /** `--args`: argument values of the calls whose arguments are recorded (native ABI). */
  args: { nr: number; index: number; value: bigint; count: number }[];
  /** Shared objects each process opened (sysfence's recorder, commands on this machine). */
  loads: { pid: number; file: string }[];
}

export function emptyResult(): RecorderResult {
  return { calls: [], denied: [], execs: [], parents: [], args: [], loads: [] };
}

/** Every process the result names (calls, denials and process starts). */
export function pidsSeen(r: RecorderResult): Set<number> {
  const pids = new Set<number>();
  for (const c of [...r.calls, ...r.denied]) pids.add(c.pid);
  for (const p of r.parents) {
    pids.add(p.child);
    pids.add(p.parent);
  }
  return pids;
}
