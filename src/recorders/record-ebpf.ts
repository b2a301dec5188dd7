/**
 * The eBPF backend: bpftrace counts syscalls in the kernel per (process, ABI, number), for
 * the workload only. Scoping is by cgroup v2 (a fresh cgroup the workload is moved into before
 * its first syscall; children stay in it whatever they do), or, where no cgroup v2 hierarchy is
 * mounted, by process tree (sched_process_fork). Never by process name.
 *
 * Start order: the workload is started as `sh -c 'kill -STOP $$; exec "$@"'`, so it stops itself
 * before running anything of its own; it is moved into the cgroup, bpftrace is started and
 * reports that every probe is attached (BEGIN fires after attachment), and only then is the
 * workload continued. Its first recorded call is the execve of the command.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { asUserPrefix, userEnv, type WorkloadUser } from '../exec/as-user.js';
import { startProcess, ToolError } from '../exec/run.js';
import {
  descendants,
  forwardAs,
  onStopSignal,
  signalAll,
  stopSignalReceived,
  throwIfStopped,
} from '../exec/signals.js';
import { ARG_SPEC_NAMES, argIndexes } from '../knowledge/syscall-args.js';
import type { RecordingBuilder } from '../recording/recording.js';
import {
  fill,
  type MapDump,
  PROGRESS_SECONDS,
  parseMaps,
  pidsSeen,
  RUNTIME_REEXEC,
  type Tracer,
} from './ebpf-maps.js';

export { PROGRESS_SECONDS, type Tracer } from './ebpf-maps.js';

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
  progress?: (maps: MapDump) => void;
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
  scope: 'cgroup' | 'process-tree';
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

/** The per-call key: pid << 32 | compat << 31 | number (x32 numbers carry bit 30). */
const KEY = (arch: ArchDef) =>
  `((uint64)pid << 32) | ((uint64)${compatExpr(arch)} << 31) | ((uint64)args->id & 0x7fffffff)`;

/** The expression for "this task runs a compat (32-bit) ABI" on the native architecture. */
function compatExpr(arch: ArchDef): string {
  if (arch.id === 'x86_64') return '((curtask->thread_info.status >> 1) & 1)'; // TS_COMPAT
  if (arch.id === 'aarch64') return '((curtask->thread_info.flags >> 22) & 1)'; // TIF_32BIT
  return '0';
}

/**
 * The bpftrace program for a workload scoped by `filter` ("cgroup == N" or a tid map). The hot
 * path is one per-CPU count on one 8-byte key, pid << 32 | compat << 31 | syscall number (x32
 * numbers carry bit 30): no comm, no strings. Which program a process runs comes from the rare
 * events: exec (pid, file) and fork (child, parent).
 */
export function bpftraceProgram(
  arch: ArchDef,
  scope: EbpfStats['scope'],
  id: string,
  args: boolean,
  denials = false,
  afterExec = false,
  progress = false,
  /**
   * Count only calls made under more seccomp filters than this (the recorder's own count): the
   * calls a filter the workload's launcher installed judged, not the launcher's own (bubblewrap's
   * namespace and mount set-up before it loads the filter). Reads the task's seccomp state
   * through BTF (`curtask`).
   */
  underFiltersAbove?: number,
): string {
  const filter = scope === 'cgroup' ? `cgroup == ${id}` : '@tree[tid]';
  // containers: bit 62 of the key says the process runs the workload (it or an ancestor exec'd
  // inside the cgroup); calls before that are the runtime setting the container up
  const gen = afterExec ? ' | ((uint64)@g[pid] << 62)' : '';
  const lines = [
    // (@g[0] gives the map its type before the first probe that reads it)
    `BEGIN { ${scope === 'cgroup' ? '' : `@tree[${id}] = 1; `}${afterExec ? '@g[0] = (uint64)0; ' : ''}printf("READY\\n"); }`,
    underFiltersAbove === undefined
      ? `tracepoint:raw_syscalls:sys_enter /${filter}/ { @c[${KEY(arch)}${gen}] = count();${denials ? ' @in[tid] = 1;' : ''} }`
      : `tracepoint:raw_syscalls:sys_enter /${filter}/ { if (curtask->seccomp.filter_count.counter > ${underFiltersAbove}) { @c[${KEY(arch)}${gen}] = count(); }${denials ? ' @in[tid] = 1;' : ''} }`,
    // (containers: the runtime re-executes itself from a descriptor, runc 1.1 from a memfd as
    // /dev/fd/N, others as /proc/self/exe or /proc/self/fd/N; such an exec before the workload's
    // first one is the runtime's, not the workload's start)
    `tracepoint:sched:sched_process_exec /${filter}/ { @e[pid, str(args->filename)] = count();${afterExec ? ` if (@g[pid] == 0 && (${RUNTIME_REEXEC.map((p) => `strncmp(str(args->filename), "${p}", ${p.length}) == 0`).join(' || ')})) { @g[pid] = 0; } else { @g[pid] = 1; }` : ''} }`,
    // a new task (process or thread) starts by returning from clone/fork: an exit without an
    // enter that is not a denial (the tracepoint fires before the child is first scheduled)
    `tracepoint:sched:sched_process_fork /${filter}/ { @f[args->child_pid, pid] = count();${afterExec ? ' @g[args->child_pid] = @g[pid];' : ''}${denials ? ' @in[args->child_pid] = 1;' : ''} }`,
  ];
  if (scope === 'process-tree')
    lines.push(
      'tracepoint:sched:sched_process_fork /@tree[args->parent_pid]/ { @tree[args->child_pid] = 1; }',
    );
  if (denials)
    // a call that exits without having entered was stopped before it ran (by seccomp)
    lines.push(
      `tracepoint:raw_syscalls:sys_exit /${filter}/ { if (@in[tid]) { delete(@in[tid]); } else { @d[${KEY(arch)}${gen}] = count(); } }`,
    );
  // the denials so far, while the workload runs (a server spinning on a denied call never ends)
  if (denials && progress) lines.push(`interval:s:${PROGRESS_SECONDS} { print(@d); }`);
  if (args) {
    // one probe per syscall whose arguments are wanted, on its own syscalls:sys_enter_NAME
    // tracepoint (native ABI only), reading the arguments by the names in its format file
    const t = syscallTable(arch);
    for (const name of ARG_SPEC_NAMES) {
      const nr = t.number(name);
      const fields = tracepointFields(name);
      if (nr === undefined || !fields) continue;
      const reads = argIndexes(arch, name)
        .filter((i) => fields[i] !== undefined)
        .map((i) => `@a[${nr}, ${i}, (uint64)args->${fields[i]}] = count();`);
      if (reads.length > 0)
        lines.push(`tracepoint:syscalls:sys_enter_${name} /${filter}/ { ${reads.join(' ')} }`);
    }
  }
  const clears = [
    ...(scope === 'process-tree' ? ['clear(@tree);'] : []),
    ...(denials ? ['clear(@in);'] : []),
  ];
  lines.push(`END { ${clears.join(' ')} }`);
  return `${lines.join('\n')}\n`;
}

/** The argument names of syscalls:sys_enter_NAME, in order (undefined: no such tracepoint). */
function tracepointFields(name: string): string[] | undefined {
  for (const root of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) {
    try {
      const format = readFileSync(`${root}/events/syscalls/sys_enter_${name}/format`, 'utf8');
      return [...format.matchAll(/field:[^;]*?\b([a-z_0-9]+);\toffset/g)]
        .map((m) => m[1]!)
        .filter((f) => !f.startsWith('common_') && f !== '__syscall_nr');
    } catch {
      // not under this root
    }
  }
  return undefined;
}

function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  return new Promise((res, rej) => {
    const tick = () => {
      if (check()) res();
      else if (Date.now() - start > timeoutMs) rej(new ToolError('record-timeout', 'sysfence', what));
      else setTimeout(tick, 2);
    };
    tick();
  });
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
    fill(rec, o.arch, maps, pid, mapKeys, '@c');
    if (o.denials) {
      // the stopped wrapper's kill() returns after the probes attached: not a denial
      const d = maps['@d'] ?? {};
      const key = String((BigInt(pid) << 32n) | BigInt(syscallTable(o.arch).number('kill') ?? -1));
      if ((d[key] ?? 0) > 1) d[key]! -= 1;
      else delete d[key];
      fill(o.denials, o.arch, maps, pid, mapKeys, '@d');
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
  }
}

/** Starts bpftrace on `program` (which prints READY in BEGIN) and waits until it is attached. */
export async function startTracer(
  program: string,
  mapKeys: number,
  progress?: (maps: MapDump) => void,
): Promise<Tracer> {
  const started = performance.now();
  const t = startProcess('bpftrace', ['-f', 'json', '-e', program], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: Ctrl-C reaches the workload, not the tracer
    env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: String(mapKeys), BPFTRACE_STRLEN: '200' },
  });
  let stdout = '';
  let stderr = '';
  let scanned = 0;
  t.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (!progress) return;
    // complete map lines printed while running (the interval probe): passed on as they come
    for (let nl = stdout.indexOf('\n', scanned); nl >= 0; nl = stdout.indexOf('\n', scanned)) {
      const line = stdout.slice(scanned, nl);
      scanned = nl + 1;
      if (line.startsWith('{"type": "map"')) progress(parseMaps(line));
    }
  });
  t.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let done = false;
  const exited = new Promise<number | null>((res, rej) => {
    t.on('error', (e) =>
      rej(new ToolError('tool-missing', 'bpftrace', `bpftrace could not start: ${e.message}`)),
    );
    t.on('exit', (code) => res(code));
  });
  const settle = () => {
    done = true;
  };
  void exited.then(settle, settle);
  await waitFor(() => stdout.includes('"READY\\n"') || done, 60_000, 'bpftrace did not attach');
  if (done) {
    await exited;
    throw new ToolError('tool-failed', 'bpftrace', `bpftrace failed: ${tracerMessages(stderr).join('; ')}`);
  }
  return {
    startupMs: performance.now() - started,
    async stop(note) {
      // bpftrace prints its maps on SIGINT. Seen here: a SIGINT that arrives right after a very
      // short workload is sometimes not acted on, so it is sent again until bpftrace ends.
      for (let i = 0; i < 15 && !done; i++) {
        process.kill(t.pid!, 'SIGINT');
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 2000)))]);
        // (a pending timer would keep sysfence alive for its 2 s after bpftrace ended)
        clearTimeout(timer);
      }
      if (!done)
        throw new ToolError(
          'tracer-stuck',
          'bpftrace',
          'bpftrace did not stop within 30 s of SIGINT: the counts are lost',
        );
      await exited;
      for (const m of tracerMessages(stderr)) note?.(`bpftrace: ${m}`);
      return parseMaps(stdout);
    },
    kill() {
      if (!done) t.kill('SIGKILL');
    },
  };
}

/** bpftrace's stderr without the lines that do not matter (RLIMIT_MEMLOCK on kernels >= 5.11). */
function tracerMessages(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.includes('RLIMIT_MEMLOCK'));
}
