/**
 * `sysfence record`: run a command and record every syscall of it, its threads, children and
 * exec'd programs, with eBPF (sysfence's own program, or bpftrace's) or ptrace (strace). `auto` picks eBPF when it can work
 * here and says why not otherwise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ArchDef } from '../arch/types.js';
import type { WorkloadUser } from '../exec/as-user.js';
import { findOnPath, runTool, ToolError } from '../exec/run.js';
import { type Recording, RecordingBuilder } from '../recording/recording.js';
import type { EbpfEngine } from './ebpf-tracer.js';
import { type EbpfStats, recordWithEbpf } from './record-ebpf.js';
import { recordWithStrace } from './record-strace.js';
import { TRACEFS } from './tracefs.js';
import type { WorkloadExit } from './workload.js';

export type Backend = 'ebpf' | 'strace';
/** What `--backend` accepts: `bpftrace` is the eBPF backend with bpftrace's program. */
export const BACKEND_CHOICES = ['auto', 'ebpf', 'bpftrace', 'strace'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface RecordOptions {
  backend: BackendChoice;
  command: readonly string[];
  arch: ArchDef;
  /** Record the values of checkable arguments (for `generate --args`). */
  args?: boolean;
  mapKeys?: number;
  /** strace backend: keep strace's own log here. */
  keepLog?: string;
  /** Said to the user as it happens (which backend, fallbacks, leftovers). */
  note?: (message: string) => void;
  /** Run the workload as this user (the one who ran sudo), root otherwise. */
  user?: WorkloadUser;
}

export interface RecordResult {
  recording: Recording;
  backend: Backend;
  exit: WorkloadExit;
  ebpf?: EbpfStats;
}

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

function effectiveCaps(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

/**
 * What stops the eBPF backend here, each with what to do (empty: it can run). Mounts tracefs when
 * it is only unmounted and we are allowed to (said through `note`).
 */
export function ebpfProblems(
  arch: ArchDef,
  note?: (m: string) => void,
  engine: EbpfEngine = 'sysfence',
): string[] {
  const problems: string[] = [];
  if (engine === 'bpftrace' && findOnPath('bpftrace') === undefined)
    problems.push('bpftrace is not installed (apt-get install bpftrace)');
  if (engine === 'sysfence' && findOnPath('perl') === undefined)
    problems.push('perl is not installed: it loads the eBPF recorder (apt-get install perl-base)');
  const caps = effectiveCaps();
  const has = (c: bigint) => ((caps >> c) & 1n) === 1n;
  const privileged = has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
  if (!privileged) problems.push('eBPF needs root (or CAP_BPF + CAP_PERFMON): run with sudo');
  if (privileged && !TRACEFS.some((d) => existsSync(join(d, 'events/raw_syscalls')))) {
    const r = runTool('mount', ['-t', 'tracefs', 'tracefs', TRACEFS[0]]);
    if (r.status === 0 && existsSync(join(TRACEFS[0], 'events/raw_syscalls')))
      note?.(`mounted tracefs on ${TRACEFS[0]} (the syscall tracepoints live there)`);
    else
      problems.push(
        `tracefs is not mounted and could not be (mount -t tracefs tracefs ${TRACEFS[0]}: ${r.stderr.trim() || 'failed'})`,
      );
  }
  if (
    engine === 'bpftrace' &&
    (arch.id === 'x86_64' || arch.id === 'aarch64') &&
    !existsSync('/sys/kernel/btf/vmlinux')
  )
    problems.push('the kernel has no BTF (/sys/kernel/btf/vmlinux), needed to tell 32-bit processes apart');
  return problems;
}

/** The command's program looked up in PATH as execvp would (so the workload makes one execve). */
export function resolveCommand(command: readonly string[]): string[] {
  const [prog, ...rest] = command;
  if (prog === undefined)
    throw new ToolError('no-command', 'sysfence', 'nothing to record: give a command after --');
  if (prog.includes('/')) return [...command];
  const found = findOnPath(prog);
  if (found !== undefined) return [found, ...rest];
  throw new ToolError('command-not-found', prog, `${prog}: command not found in PATH`);
}

export async function record(opts: RecordOptions): Promise<RecordResult> {
  const o = { ...opts, command: resolveCommand(opts.command) };
  let backend: Backend;
  const engine: EbpfEngine = o.backend === 'bpftrace' ? 'bpftrace' : 'sysfence';
  if (o.backend === 'auto') {
    const problems = ebpfProblems(o.arch, o.note, engine);
    if (problems.length === 0) backend = 'ebpf';
    else {
      backend = 'strace';
      o.note?.(`recording with strace (ptrace): eBPF is not available: ${problems.join('; ')}`);
    }
  } else if (o.backend === 'ebpf' || o.backend === 'bpftrace') {
    const problems = ebpfProblems(o.arch, o.note, engine);
    if (problems.length > 0)
      throw new ToolError(
        'ebpf-unavailable',
        engine === 'bpftrace' ? 'bpftrace' : 'sysfence',
        `the eBPF backend cannot run here: ${problems.join('; ')} (or use --backend strace)`,
      );
    backend = 'ebpf';
  } else backend = 'strace';
  if (o.backend === 'auto' && backend === 'ebpf') o.note?.("recording with eBPF (sysfence's own program)");
  const rec = new RecordingBuilder();
  if (backend === 'ebpf') {
    rec.source('ebpf', o.command.join(' '));
    const eo: Parameters<typeof recordWithEbpf>[1] = {
      arch: o.arch,
      command: o.command,
      args: o.args === true,
      ...(o.backend === 'bpftrace' ? { engine: 'bpftrace' as const } : {}),
    };
    if (o.mapKeys !== undefined) eo.mapKeys = o.mapKeys;
    if (o.note) eo.note = o.note;
    if (o.user) eo.user = o.user;
    const r = await recordWithEbpf(rec, eo);
    return { recording: rec.build(), backend, exit: r.exit, ebpf: r.stats };
  }
  const so: Parameters<typeof recordWithStrace>[1] = {
    arch: o.arch,
    command: o.command,
    args: o.args === true,
  };
  if (o.keepLog !== undefined) so.keepLog = o.keepLog;
  if (o.user) so.user = o.user;
  const exit = await recordWithStrace(rec, so);
  return { recording: rec.build(), backend, exit };
}
