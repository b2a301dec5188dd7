/**
 * `record --docker`: record exactly one Docker container. The container is created with its own
 * cgroup parent (`--cgroup-parent`), and its cgroup v2 leaf is made before it starts, so its id
 * is known to the eBPF program before the runtime's first step inside it: every process of the
 * container, no host process, no other container. The runtime's own calls before it execs the
 * workload are not part of the profile (the filter is not installed yet for most of them); the
 * runtime set (`--for docker`) stands for those made after the filter is installed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ArchDef } from '../arch/types.js';
import { undoOnDeath } from '../exec/reaper.js';
import { runTool, startProcess, ToolError } from '../exec/run.js';
import { expectSignal, onStopSignal, throwIfStopped } from '../exec/signals.js';
import type { RecordingBuilder } from '../recording/recording.js';
import { bpftraceProgram, startTracer } from './bpftrace-program.js';
import { type ContainerEngine, DOCKER } from './container-engines.js';
import type { Tracer } from './ebpf-maps.js';
import { fill } from './ebpf-maps.js';
import { type EbpfEngine, startRecorder } from './ebpf-tracer.js';
import { findCgroup2 } from './record-ebpf.js';
import { pidsSeen, type RecorderResult } from './recorder-result.js';
import type { WorkloadExit } from './workload.js';

export interface DockerRecordOptions {
  arch: ArchDef;
  /** `docker run` options, the image and its command, as the user wrote them. */
  runArgs: readonly string[];
  /** Docker (default) or Podman. */
  containerEngine?: ContainerEngine;
  mapKeys?: number;
  /** sysfence's own eBPF program (default without denials) or bpftrace's. */
  engine?: EbpfEngine;
  note?: (m: string) => void;
  /** Run the container under this Docker profile file (`--security-opt seccomp=FILE`). */
  seccompFile?: string;
  /** Also record the calls the filter stopped (see record-ebpf: exit without enter). */
  denials?: RecordingBuilder;
  /** Stop the container (docker stop: SIGTERM, then SIGKILL after 10 s) after this many seconds. */
  durationSeconds?: number;
  /** Stop the container when sysfence receives this signal (e.g. SIGUSR1 from a test driver). */
  untilSignal?: NodeJS.Signals;
  /** With `denials`: the denial map so far, every few seconds (see record-ebpf). */
  progress?: (r: RecorderResult) => void;
}

export interface DockerRecordResult {
  exit: WorkloadExit;
  containerId: string;
  startupMs: number;
  /** Calls the runtime made in the container before the workload's exec (not recorded). */
  runtimeSetupCalls: number;
  /**
   * Set when sysfence itself stopped the container as asked (--duration, --until-signal): the
   * recording ended as planned, whatever the container's status (137 when docker stop killed it).
   */
  stoppedAsAsked?: string;
  /** Every process of the container the recorder saw (host pids). */
  pids: Set<number>;
  /** The image the container ran (its ID, as the engine reports it), for static reach. */
  image?: string;
}

function engineTool(
  e: ContainerEngine,
  args: string[],
): { status: number | null; stdout: string; stderr: string } {
  const r = runTool(e.cli, args, { hint: e.install });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

export async function recordContainer(
  rec: RecordingBuilder,
  o: DockerRecordOptions,
): Promise<DockerRecordResult> {
  const e = o.containerEngine ?? DOCKER;
  const tool = (args: string[]) => engineTool(e, args);
  const info = tool([...e.driverQuery]);
  if (info.status !== 0)
    throw new ToolError(
      e.codes.unavailable,
      e.cli,
      `${e.cli} does not answer (${info.stderr.split('\n')[0] ?? ''}): ${e.unavailableHint}`,
    );
  const driver = info.stdout.trim();
  throwIfStopped('the container');
  const cg2 = findCgroup2();
  if (!cg2)
    throw new ToolError(
      'cgroup2-missing',
      'sysfence',
      'record --docker needs a cgroup v2 hierarchy (unified, or hybrid with /sys/fs/cgroup/unified): this host has cgroup v1 only',
    );
  // cgroupfs: PARENT/LEAF; systemd: PARENT.slice/LEAF.scope (LEAF: the engine's name for it)
  const parent = driver === 'systemd' ? `sysfence${process.pid}.slice` : `sysfence-${process.pid}`;
  const created = tool([
    'create',
    '--cgroup-parent',
    driver === 'systemd' ? parent : `/${parent}`,
    ...(o.seccompFile ? ['--security-opt', `seccomp=${o.seccompFile}`] : []),
    ...o.runArgs,
  ]);
  if (created.status !== 0)
    throw new ToolError(e.codes.createFailed, e.cli, `${e.cli} create failed: ${created.stderr}`);
  const id = created.stdout.split('\n').at(-1) ?? '';
  const inspected = tool(['inspect', '--format', '{{.Image}}', id]);
  const image = inspected.status === 0 && inspected.stdout ? inspected.stdout.split('\n')[0] : undefined;
  const leaf = join(cg2, parent, e.leaf(id, driver));
  // if sysfence dies, the container is removed and the cgroups it made for it too (leaf first)
  const forget = [
    undoOnDeath('container', e.cli, id),
    ...cgroupDirs(cg2, parent, [e.leaf(id, driver), ...e.otherCgroups]).map((d) => undoOnDeath('cgroup', d)),
  ];
  let tracer: Tracer | undefined;
  // a stop signal (Ctrl-C, SIGTERM, SIGHUP) stops the container (docker stop: SIGTERM, then
  // SIGKILL), whatever its pid 1 does with SIGINT (a shell or sleep as pid 1 ignores it), and the
  // recording is still written; a second one kills it
  let interrupted = 0;
  let onInterrupt = () => {};
  const offSignals = onStopSignal((_sig, n) => {
    interrupted = n;
    onInterrupt();
  });
  const unexpect = o.untilSignal ? expectSignal(o.untilSignal) : () => {};
  try {
    mkdirSync(leaf, { recursive: true });
    const cgid = String(statSync(leaf, { bigint: true }).ino);
    const mapKeys = o.mapKeys ?? 65536;
    const engine: EbpfEngine = o.engine ?? 'sysfence';
    tracer =
      engine === 'sysfence'
        ? await startRecorder({
            arch: o.arch,
            cgroupId: cgid,
            afterExec: true,
            args: false,
            mapKeys,
            ...(o.denials ? { denials: true } : {}),
            ...(o.progress ? { progress: o.progress } : {}),
          })
        : await startTracer(
            bpftraceProgram(
              o.arch,
              'cgroup',
              cgid,
              false,
              o.denials !== undefined,
              true,
              o.progress !== undefined,
            ),
            mapKeys,
            o.progress,
          );
    throwIfStopped('the container');
    // docker start -a passes the container's output and exit status through (and Ctrl-C to it)
    const started = startProcess(e.cli, ['start', '--attach', id], { stdio: 'inherit' });
    let stoppedAsAsked: string | undefined;
    const stopContainer = (why: string) => {
      o.note?.(
        `${why}: stopping the container (${e.cli} stop: SIGTERM, then SIGKILL after its stop timeout, 10 s unless --stop-timeout says otherwise)`,
      );
      startProcess(e.cli, ['stop', id], { stdio: 'ignore' });
    };
    const timer =
      o.durationSeconds !== undefined
        ? setTimeout(() => {
            stoppedAsAsked = `--duration ${o.durationSeconds}`;
            stopContainer(`${o.durationSeconds} s recorded`);
          }, o.durationSeconds * 1000)
        : undefined;
    const onSignal = () => {
      stoppedAsAsked = `--until-signal ${o.untilSignal}`;
      stopContainer(`${o.untilSignal} received`);
    };
    let stopping = false;
    onInterrupt = () => {
      if (interrupted > 1) {
        o.note?.('second signal: killing the container');
        startProcess(e.cli, ['kill', id], { stdio: 'ignore' });
      } else if (!stopping) {
        stopping = true;
        stopContainer('stop signal received');
      }
    };
    if (interrupted) onInterrupt();
    if (o.untilSignal) process.on(o.untilSignal, onSignal);
    const exit = await new Promise<WorkloadExit>((res) =>
      started.on('exit', (code, signal) => res({ code, signal })),
    ).finally(() => {
      if (timer) clearTimeout(timer);
      if (o.untilSignal) process.off(o.untilSignal, onSignal);
    });
    // the container's processes are gone when its cgroup is empty (runc also removes it)
    const populated = () =>
      existsSync(join(leaf, 'cgroup.procs')) &&
      readFileSync(join(leaf, 'cgroup.procs'), 'utf8').trim() !== '';
    for (let i = 0; i < 200 && populated(); i++) await new Promise((r) => setTimeout(r, 50));
    const maps = await tracer.stop(o.note);
    const skipped = { count: 0 };
    fill(rec, o.arch, maps, -1, mapKeys, 'calls', true, skipped);
    // the workload's denials: runc init joins the cgroup in the middle of a call, whose return
    // would look like one (a runtime set that misses a call shows as a container that fails)
    if (o.denials) fill(o.denials, o.arch, maps, -1, mapKeys, 'denied', true);
    return {
      exit,
      containerId: id,
      startupMs: tracer.startupMs,
      runtimeSetupCalls: skipped.count,
      pids: pidsSeen(maps),
      ...(stoppedAsAsked !== undefined ? { stoppedAsAsked } : {}),
      ...(image ? { image } : {}),
    };
  } finally {
    offSignals();
    unexpect();
    tracer?.kill();
    tool(['rm', '--force', id]);
    removeCgroups(cg2, parent, [e.leaf(id, driver), ...e.otherCgroups], o.note);
    for (const f of forget) f();
  }
}

/**
 * The container's cgroups: its v2 leaf and parent, which sysfence made, and, on a hybrid host, the
 * parent (and leaf, if runc left it) that dockerd made under each cgroup v1 controller for
 * `--cgroup-parent` (runc removes its leaves but never the parent it did not create).
 */
/** The cgroup directories a container of `parent` may have: v2's, and each v1 controller's (leaves first). */
function cgroupDirs(cg2: string, parent: string, leaves: readonly string[], onlyExisting = false): string[] {
  const dirs = [...leaves.map((l) => join(cg2, parent, l)), join(cg2, parent)];
  const root = '/sys/fs/cgroup';
  if (cg2 !== root && existsSync(root))
    for (const ctrl of readdirSync(root).sort()) {
      const base = join(root, ctrl);
      if (base === cg2 || (onlyExisting && !existsSync(join(base, parent)))) continue;
      dirs.push(...leaves.map((l) => join(base, parent, l)), join(base, parent));
    }
  return dirs;
}

function removeCgroups(
  cg2: string,
  parent: string,
  leaves: readonly string[],
  note?: (m: string) => void,
): void {
  const dirs = cgroupDirs(cg2, parent, leaves, true);
  for (const dir of dirs)
    try {
      if (existsSync(dir)) rmdirSync(dir);
    } catch {
      note?.(`left ${dir} in place: it still holds processes`);
    }
}
