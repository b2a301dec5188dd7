/**
 * The eBPF backend: sysfence's own program (ebpf-program.ts), or bpftrace's (bpftrace-program.ts),
 * counts syscalls in the kernel for the workload only. Scoping is by cgroup v2 (a fresh cgroup the
 * workload is moved into before its first syscall; children stay in it whatever they do), or,
 * where no cgroup v2 hierarchy is mounted, by process tree (sched_process_fork, bpftrace's program
 * only). Never by process name.
 *
 * Start order: the workload is started as `sh -c 'kill -STOP $$; exec "$@"'`, so it stops itself
 * before running anything of its own; it is moved into the cgroup, the recorder is started and
 * says every program is attached, and only then is the workload continued. Its first recorded
 * call is the execve of the command.
 */
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { asUserPrefix, userEnv, type WorkloadUser } from '../exec/as-user.js';
import { startProcess, ToolError, waitFor } from '../exec/run.js';
import {
  descendants,
  forwardAs,
  onStopSignal,
  signalAll,
  stopSignalReceived,
  throwIfStopped,
} from '../exec/signals.js';
import type { RecordingBuilder } from '../recording/recording.js';
import { fill, type Tracer } from './ebpf-maps.js';
import { pidsSeen, type RecorderResult } from './recorder-result.js';

export { PROGRESS_SECONDS, type Tracer } from './ebpf-maps.js';

import { undoOnDeath } from '../exec/reaper.js';
import { bpftraceProgram, type EbpfScope, startTracer } from './bpftrace-program.js';
import { type EbpfEngine, startRecorder } from './ebpf-tracer.js';
import type { WorkloadExit } from './workload.js';

export interface EbpfRecordOptions {
  arch: ArchDef;
  command: readonly string[];
  args: boolean;
  /** Entries per map (BPFTRACE_MAP_KEYS_MAX); a full map is reported, never hidden. */
  mapKeys?: number;
  /** Where cgroup v2 is mounted (found in /proc/self/mountinfo when not given; null: none). */
  cgroup2?: string | null;
  note?: (message: string) => void;
  /**
   * Also record calls stopped before they ran (a seccomp filter's ERRNO/TRACE/...): those reach
   * raw_syscalls:sys_exit but never sys_enter. Written to `denials`.
   */
  denials?: RecordingBuilder;
  /** A file descriptor the workload gets as its fd 3 (a filter for `bwrap --seccomp 3`). */
  fd3?: number;
  /** Run the workload as this user (sudo's), root otherwise. */
  user?: WorkloadUser;
  /** With `denials`: called every PROGRESS_SECONDS with the denial map so far (run prints them). */
  progress?: (r: RecorderResult) => void;
  /**
   * Record only the calls made under a seccomp filter the workload's launcher installed (run:
   * bubblewrap's own set-up is not the workload). Needs the kernel's BTF; without it everything
   * is recorded and `note` says so.
   */
  onlyUnderNewFilter?: boolean;
  /**
   * sysfence's own eBPF program (default) or bpftrace's. The own program needs a cgroup v2 scope
   * and does not report denials or filter counts yet: those runs use bpftrace, and say so.
   */
  engine?: EbpfEngine;
}

/** How many seccomp filters this process runs under (/proc/self/status), undefined if unknown. */
export function ownSeccompFilters(): number | undefined {
  try {
    const m = /^Seccomp_filters:\s*(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export interface EbpfStats {
  /** From starting the loader (or bpftrace) until every program was attached. */
  startupMs: number;
  engine: EbpfEngine;
  scope: EbpfScope;
  mapKeys: number;
}

const WRAPPER = 'kill -STOP $$; exec "$@"';
const DEFAULT_MAP_KEYS = 65536;

/** The mount point of the cgroup v2 hierarchy (unified, or hybrid's /sys/fs/cgroup/unified). */
export function findCgroup2(): string | null {
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const parts = line.split(' ');
      const dash = parts.indexOf('-');
      if (dash > 0 && parts[dash + 1] === 'cgroup2') return parts[4] ?? null;
    }
  } catch {
    // no /proc: no cgroups either
  }
  return null;
}

function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
}

/** Runs the workload under bpftrace; fills `rec`. */
export async function recordWithEbpf(
  rec: RecordingBuilder,
  o: EbpfRecordOptions,
): Promise<{ exit: WorkloadExit; stats: EbpfStats; pids: Set<number> }> {
  const mapKeys = o.mapKeys ?? DEFAULT_MAP_KEYS;
  const cg2 = o.cgroup2 === undefined ? findCgroup2() : o.cgroup2;
  const scope: EbpfStats['scope'] = cg2 ? 'cgroup' : 'process-tree';
  let cgDir: string | undefined;
  let tracer: Tracer | undefined;
  let interrupted = false;
  let engine: EbpfEngine = o.engine ?? 'sysfence';
  throwIfStopped('the workload');
  // as another user: setpriv becomes the user first, then the wrapper stops itself (setpriv's own
  // calls are made before the recording starts)
  const argv = o.user
    ? [
        '-c',
        'exec "$@"',
        'sysfence-as-user',
        ...asUserPrefix(o.user),
        '/bin/sh',
        '-c',
        WRAPPER,
        'sysfence-workload',
        ...o.command,
      ]
    : ['-c', WRAPPER, 'sysfence-workload', ...o.command];
  const workload = startProcess('/bin/sh', argv, {
    stdio: o.fd3 === undefined ? 'inherit' : ['inherit', 'inherit', 'inherit', o.fd3],
    env: userEnv(o.user),
  });
  const workloadExit = new Promise<WorkloadExit>((res) =>
    workload.on('exit', (code, signal) => res({ code, signal })),
  );
  // if sysfence dies, the workload goes too (its cgroup below, once made, takes all of it)
  const forgetWorkload = workload.pid !== undefined ? undoOnDeath('tree', String(workload.pid)) : () => {};
  let forgetCgroup = () => {};
  // every process of the workload: its cgroup, or (no cgroup v2) its process tree
  const workloadPids = (): number[] => {
    if (cgDir && existsSync(join(cgDir, 'cgroup.procs')))
      return readFileSync(join(cgDir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    return workload.pid ? [workload.pid, ...descendants(workload.pid)] : [];
  };
  // a stop signal goes on to the workload (all of it), and the recording is still made; one that
  // arrives before the workload runs ends it at its start point (nothing of it ran)
  const offSignals = onStopSignal((sig, count) => {
    interrupted = true;
    if (workload.pid && isStopped(workload.pid)) return signalAll([workload.pid], 'SIGKILL');
    const as = forwardAs(sig, count);
    if (as) signalAll(workloadPids(), as);
  });
  const notStarted = () =>
    new ToolError(
      'interrupted',
      'sysfence',
      `${stopSignalReceived()} received before the workload ran: nothing was recorded`,
    );
  try {
    const pid = workload.pid;
    if (pid === undefined)
      throw new ToolError('tool-failed', 'sh', 'could not start /bin/sh for the workload');
    await waitFor(
      () => isStopped(pid) || interrupted || workload.exitCode !== null || workload.signalCode !== null,
      10_000,
      'the workload did not reach its start point',
    );
    if (interrupted) throw notStarted();
    let id = String(pid);
    if (cg2) {
      cgDir = join(cg2, `sysfence-${process.pid}-${pid}`);
      try {
        mkdirSync(cgDir);
        forgetCgroup = undoOnDeath('cgroup', cgDir);
        writeFileSync(join(cgDir, 'cgroup.procs'), String(pid));
      } catch (e) {
        throw new ToolError(
          'cgroup-unwritable',
          'sysfence',
          `cannot create a cgroup for the workload under ${cg2}: ${(e as Error).message} (run as root)`,
        );
      }
      id = String(statSync(cgDir, { bigint: true }).ino);
    }
    let filtersAbove: number | undefined;
    if (o.onlyUnderNewFilter) {
      filtersAbove = existsSync('/sys/kernel/btf/vmlinux') ? ownSeccompFilters() : undefined;
      if (filtersAbove === undefined)
        o.note?.(
          "this kernel has no BTF (/sys/kernel/btf/vmlinux) or no Seccomp_filters in /proc: the recording includes the launcher's own set-up calls (bubblewrap's mounts), not only the workload's",
        );
    }
    const needs = [...(scope === 'cgroup' ? [] : ['a process-tree scope (no cgroup v2)'])];
    engine = o.engine ?? (needs.length === 0 ? 'sysfence' : 'bpftrace');
    if (engine === 'sysfence' && needs.length > 0)
      throw new ToolError(
        'ebpf-unavailable',
        'sysfence',
        `sysfence's eBPF recorder does not do ${needs.join(', ')}: use --backend bpftrace`,
      );
    if (engine === 'bpftrace' && o.engine === undefined)
      o.note?.(`recording with bpftrace: sysfence's own eBPF recorder does not do ${needs.join(', ')}`);
    tracer =
      engine === 'sysfence'
        ? await startRecorder({
            arch: o.arch,
            cgroupId: id,
            afterExec: false,
            args: o.args,
            mapKeys,
            loads: true,
            ...(o.denials ? { denials: true } : {}),
            ...(filtersAbove !== undefined ? { underFiltersAbove: filtersAbove } : {}),
            ...(o.progress ? { progress: o.progress } : {}),
          })
        : await startTracer(
            bpftraceProgram(
              o.arch,
              scope,
              id,
              o.args,
              o.denials !== undefined,
              false,
              o.progress !== undefined,
              filtersAbove,
            ),
            mapKeys,
            o.progress,
          );
    // stopped while bpftrace attached: the workload never ran
    if (interrupted) throw notStarted();
    process.kill(pid, 'SIGCONT');
    const exit = await workloadExit;
    if (cgDir) {
      const dir = cgDir;
      const populated = () => readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '';
      if (populated() && !interrupted)
        o.note?.('the workload left processes running: recording until they exit (Ctrl-C stops)');
      await waitFor(() => interrupted || !populated(), 2 ** 31 - 1, '');
      // stopped while processes were left: they go with the recording's end
      if (populated()) signalAll(workloadPids(), 'SIGKILL');
    }
    const maps = await tracer.stop(o.note);
    fill(rec, o.arch, maps, pid, mapKeys, 'calls', false, { count: 0 }, isElfFile);
    if (o.denials) {
      // the stopped wrapper's kill() returns after the probes attached: not a denial
      const kill = syscallTable(o.arch).number('kill');
      const denied = maps.denied
        .map((c) => (c.pid === pid && c.nr === kill && !c.compat ? { ...c, count: c.count - 1 } : c))
        .filter((c) => c.count > 0);
      fill(o.denials, o.arch, { ...maps, denied }, pid, mapKeys, 'denied');
    }
    return { exit, stats: { startupMs: tracer.startupMs, engine, scope, mapKeys }, pids: pidsSeen(maps) };
  } finally {
    offSignals();
    tracer?.kill();
    if (workload.exitCode === null && workload.signalCode === null && isStopped(workload.pid ?? 0))
      workload.kill('SIGKILL');
    if (cgDir && existsSync(cgDir)) {
      // what is left in it (an error path) is killed: nothing of the workload outlives sysfence
      signalAll(workloadPids(), 'SIGKILL');
      for (let i = 0; i < 50 && existsSync(cgDir); i++) {
        try {
          rmdirSync(cgDir);
        } catch {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      if (existsSync(cgDir)) o.note?.(`left ${cgDir} in place: processes of the workload still run in it`);
    }
    if (!cgDir || !existsSync(cgDir)) forgetCgroup();
    forgetWorkload();
  }
}

/** Whether a path is an ELF file on this machine (an opened shared object that is there). */
function isElfFile(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.readUInt32BE(0) === 0x7f454c46;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
