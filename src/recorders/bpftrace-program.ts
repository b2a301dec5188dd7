/**
 * The bpftrace recorder (`--backend bpftrace`): the program text and the process that runs it.
 * sysfence's own program (ebpf-program.ts) records the same; this one stays for hosts where only
 * bpftrace can run (no cgroup v2: a process-tree scope) and as the cross-check of the completeness
 * suite.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { undoOnDeath } from '../exec/reaper.js';
import { startProcess, ToolError, waitFor } from '../exec/run.js';
import { ARG_SPEC_NAMES, argIndexes } from '../knowledge/syscall-args.js';
import { decodeBpftrace, PROGRESS_SECONDS, parseMaps, RUNTIME_REEXEC, type Tracer } from './ebpf-maps.js';
import type { RecorderResult } from './recorder-result.js';
import { tracepointFormat } from './tracefs.js';

/** How the workload's processes are told apart from the rest of the machine. */
export type EbpfScope = 'cgroup' | 'process-tree';

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
  scope: EbpfScope,
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
  const format = tracepointFormat(`syscalls/sys_enter_${name}`);
  return format === undefined
    ? undefined
    : [...format.matchAll(/field:[^;]*?\b([a-z_0-9]+);\toffset/g)]
        .map((m) => m[1] ?? '')
        .filter((f) => f !== '' && !f.startsWith('common_') && f !== '__syscall_nr');
}

/** Starts bpftrace on `program` (which prints READY in BEGIN) and waits until it is attached. */
export async function startTracer(
  program: string,
  mapKeys: number,
  progress?: (r: RecorderResult) => void,
): Promise<Tracer> {
  const started = performance.now();
  const t = startProcess('bpftrace', ['-f', 'json', '-e', program], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group: Ctrl-C reaches the workload, not the tracer
    env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: String(mapKeys), BPFTRACE_STRLEN: '200' },
  });
  // if sysfence dies, bpftrace must not stay attached to every syscall of the machine
  const forget = t.pid !== undefined ? undoOnDeath('tree', String(t.pid)) : () => {};
  t.on('exit', forget);
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
      if (line.startsWith('{"type": "map"')) progress(decodeBpftrace(parseMaps(line)));
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
      return decodeBpftrace(parseMaps(stdout));
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
