/**
 * `record --docker --select LABEL=VALUE`: record a whole application (a Compose project, or every
 * container with a label) in one run. sysfence's eBPF program watches every cgroup below Docker's
 * cgroup parent (`/docker` with the cgroupfs driver) and gives each container's cgroup its own
 * counters at its first call, so a container started (or restarted) while recording is recorded
 * from its runtime's first step, with nothing to set up per container. `docker events` (replayed
 * from the recording's start) says which cgroup is which container; the label filter is applied
 * then, per container. Containers of one service (replicas, restarts) are merged as runs, so the
 * calls only some of them made are named.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { ArchDef } from '../arch/types.js';
import { undoOnDeath } from '../exec/reaper.js';
import { runTool, startProcess, ToolError } from '../exec/run.js';
import { expectSignal, onStopSignal, throwIfStopped } from '../exec/signals.js';
import { mergeRecordings, placePrograms, type Recording, RecordingBuilder } from '../recording/recording.js';
import { DOCKER, imageRoot } from './container-engines.js';
import { fill } from './ebpf-maps.js';
import { type OwnTracer, startRecorder } from './ebpf-tracer.js';
import { findCgroup2 } from './record-ebpf.js';

export interface AppRecordOptions {
  arch: ArchDef;
  /** Which containers there are and what they are called: Docker's events, or the CRI's pods. */
  watcher?: ContainerWatcher;
  /** LABEL=VALUE (or LABEL: any value): a container is recorded when it has all of them. */
  select: readonly string[];
  durationSeconds?: number;
  untilSignal?: NodeJS.Signals;
  mapKeys?: number;
  /** Cgroups (containers, restarts) one recording can tell apart. */
  maxContainers?: number;
  note?: (m: string) => void;
  /** Called once the recorder is attached: start the application now. */
  onReady?: () => void;
}

/**
 * An engine's part of an application recording: the cgroup below which its containers' cgroups
 * are made, which cgroup is which container (as they start, and at the end), and each
 * container's name, service, image and labels. record-app.ts does the rest for every engine.
 */
export interface ContainerWatcher {
  /** Checked before the recorder starts: throws a coded error when the engine cannot be recorded. */
  check(): Promise<void>;
  /** The cgroup (path below the cgroup2 mount) every container's cgroup is made below. */
  parent(cg2: string): string;
  /** Starts following the engine: `see(cgroupInode, containerId)` for every container cgroup. */
  start(see: (ino: bigint, id: string) => void): Promise<void>;
  /** Once more at the end, for the containers still running. */
  settle(see: (ino: bigint, id: string) => void): Promise<void>;
  /** A container's facts (undefined: gone before it could be named). */
  describe(id: string): Promise<Described | undefined>;
  stop(): void;
  /** The recording's source name. */
  source: string;
}

export interface Described {
  name: string;
  service: string;
  image: string;
  imageId?: string;
  /** Every label the selection is matched against (a pod's labels included). */
  labels: Readonly<Record<string, string>>;
  /** Where static reach reads its programs (an image root), when the engine's images can be read. */
  root?: string;
  /** Not a workload (a pod's sandbox): its calls are left out, and not counted as unnamed. */
  ignore?: boolean;
}

export interface AppContainer {
  id: string;
  name: string;
  /** The Compose service, else the image. */
  service: string;
  image: string;
  /** The image's ID (the engine's `Image` of the container). */
  imageId?: string;
  /** One recording per start of the container (a restart is another). */
  runs: Recording[];
}

export interface AppService {
  service: string;
  containers: string[];
  /** Every run of every container of the service, merged as runs. */
  recording: Recording;
}

export interface AppRecordResult {
  services: AppService[];
  /** Containers that ran but did not match --select (recorded, then left out). */
  notSelected: string[];
  startupMs: number;
}

const COMPOSE_SERVICE = 'com.docker.compose.service';

function docker(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = runTool('docker', args, { hint: 'apt-get install docker.io' });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** `LABEL=VALUE` or `LABEL` against a container's labels. */
export function matchesSelect(labels: Readonly<Record<string, string>>, select: readonly string[]): boolean {
  return select.every((s) => {
    const eq = s.indexOf('=');
    return eq < 0 ? s in labels : labels[s.slice(0, eq)] === s.slice(eq + 1);
  });
}

interface Inspected {
  Id: string;
  Name: string;
  Config: { Image: string; Labels: Record<string, string> | null };
  /** The image's ID. */
  Image?: string;
}

/** Docker's part: its cgroupfs parent `/docker`, `docker events` for starts, `docker inspect`. */
export function dockerWatcher(note?: (m: string) => void): ContainerWatcher {
  let events: ReturnType<typeof startProcess> | undefined;
  let parentDir = '';
  const seeDir = (see: (ino: bigint, id: string) => void, id: string) => {
    try {
      see(statSync(join(parentDir, id), { bigint: true }).ino, id);
    } catch {
      // already gone: its calls stay unattributed (said)
    }
  };
  return {
    source: 'ebpf-docker',
    async check() {
      const info = docker(['info', '--format', '{{.CgroupDriver}}']);
      if (info.status !== 0)
        throw new ToolError(
          'docker-unavailable',
          'docker',
          `the Docker engine does not answer: ${info.stderr.split('\n')[0] ?? ''}`,
        );
      if (info.stdout !== 'cgroupfs')
        throw new ToolError(
          'unsupported',
          'sysfence',
          `record --docker --select needs Docker's cgroupfs cgroup driver (this engine uses ${info.stdout})`,
          'record each container with record --docker instead',
        );
    },
    parent(cg2) {
      parentDir = join(cg2, 'docker');
      return parentDir;
    },
    async start(see) {
      // which cgroup is which container: from the start events (replayed from now) and, for the
      // containers already running, their cgroups now
      const since = Math.floor(Date.now() / 1000) - 1;
      const running = docker(['ps', '-q', '--no-trunc']).stdout.split('\n').filter(Boolean);
      for (const id of running) seeDir(see, id);
      if (running.length > 0)
        note?.(
          `${running.length} container${running.length === 1 ? ' was' : 's were'} already running: only what they do from now on is recorded`,
        );
      events = startProcess(
        'docker',
        [
          'events',
          '--since',
          String(since),
          '--filter',
          'type=container',
          '--filter',
          'event=start',
          '--format',
          '{{.ID}}',
        ],
        { stdio: ['ignore', 'pipe', 'ignore'] },
      );
      // if sysfence dies, the events follower goes too (Docker's own parent cgroup stays: it is Docker's)
      if (events.pid !== undefined) events.on('exit', undoOnDeath('tree', String(events.pid)));
      let buffered = '';
      events.stdout?.setEncoding('utf8').on('data', (d: string) => {
        buffered += d;
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          seeDir(see, buffered.slice(0, nl).trim());
          buffered = buffered.slice(nl + 1);
        }
      });
    },
    async settle(see) {
      // the containers still running now: their cgroups (a start event may still be on its way)
      if (existsSync(parentDir))
        for (const d of readdirSync(parentDir)) if (/^[0-9a-f]{64}$/.test(d)) seeDir(see, d);
    },
    async describe(id) {
      const r = docker(['inspect', id]);
      const [x] = r.status === 0 ? (JSON.parse(r.stdout) as Inspected[]) : [];
      const labels = x?.Config.Labels ?? {};
      const image = x?.Config.Image ?? 'unknown';
      return {
        name: (x?.Name ?? id.slice(0, 12)).replace(/^\//, ''),
        service: labels[COMPOSE_SERVICE] ?? image,
        image,
        labels,
        // its programs ran from the container's image: static reach reads them there
        ...(x?.Image ? { imageId: x.Image, root: imageRoot(DOCKER.id, x.Image) } : {}),
      };
    },
    stop() {
      events?.kill();
    },
  };
}

export async function recordApplication(o: AppRecordOptions): Promise<AppRecordResult> {
  if (o.select.length === 0 || o.select.some((s) => s === '' || s.startsWith('=')))
    throw new ToolError('bad-option', 'sysfence', '--select needs LABEL=VALUE (or LABEL)');
  const watcher = o.watcher ?? dockerWatcher(o.note);
  await watcher.check();
  const cg2 = findCgroup2();
  if (!cg2) throw new ToolError('cgroup2-missing', 'sysfence', 'record --select needs a cgroup v2 hierarchy');
  // every container's cgroup is made below the engine's parent: the recorder watches below it
  const parent = watcher.parent(cg2);
  mkdirSync(parent, { recursive: true });
  const level = relative(cg2, parent).split('/').length;
  const max = o.maxContainers ?? 32;
  if (!Number.isInteger(Math.log2(max)) || max < 2 || max > 64)
    throw new ToolError(
      'bad-option',
      'sysfence',
      `--max-containers must be a power of two from 2 to 64, not ${max}`,
    );
  const mapKeys = o.mapKeys ?? 65536;
  throwIfStopped('the recording');
  const cgroupOf = new Map<bigint, string>();
  const root = new Map<string, string>();
  const see = (ino: bigint, id: string) => {
    cgroupOf.set(ino, id);
  };
  let tracer: OwnTracer | undefined;
  let stop: () => void = () => {};
  const stopped = new Promise<void>((res) => {
    stop = res;
  });
  const offSignals = onStopSignal(() => stop());
  const unexpect = o.untilSignal ? expectSignal(o.untilSignal) : () => {};
  const onSignal = () => {
    o.note?.(`${o.untilSignal} received: the recording ends`);
    stop();
  };
  if (o.untilSignal) process.on(o.untilSignal, onSignal);
  let timer: NodeJS.Timeout | undefined;
  try {
    await watcher.start(see);
    tracer = await startRecorder({
      arch: o.arch,
      cgroupId: '0',
      afterExec: true,
      args: false,
      mapKeys,
      under: { id: statSync(parent, { bigint: true }).ino, level, max },
    });
    if (o.durationSeconds !== undefined)
      timer = setTimeout(() => {
        o.note?.(`${o.durationSeconds} s recorded`);
        stop();
      }, o.durationSeconds * 1000);
    o.onReady?.();
    await stopped;
    await watcher.settle(see);
    const maps = await tracer.stopAll();
    const containers = new Map<string, AppContainer>();
    const notSelected = new Set<string>();
    let unattributed = 0;
    for (const [index, cgid] of [...maps.cgroups].sort((a, b) => a[0] - b[0])) {
      const dump = maps.byIndex.get(index);
      const calls = (dump?.calls ?? []).reduce((n, c) => n + c.count, 0);
      const id = cgroupOf.get(cgid);
      if (!id) {
        unattributed += calls;
        continue;
      }
      let c = containers.get(id);
      if (!c) {
        const x = await watcher.describe(id);
        if (x?.ignore) continue;
        const name = x?.name ?? id.slice(0, 12);
        if (!matchesSelect(x?.labels ?? {}, o.select)) {
          notSelected.add(name);
          continue;
        }
        const image = x?.image ?? 'unknown';
        c = { id, name, service: x?.service ?? image, image, runs: [] };
        if (x?.imageId) c.imageId = x.imageId;
        if (x?.root) root.set(id, x.root);
        containers.set(id, c);
      }
      if (!dump) continue;
      const b = new RecordingBuilder();
      b.source(watcher.source, `${c.name} (${c.image})`);
      fill(b, o.arch, dump, -1, mapKeys, 'calls', true);
      const run = b.build();
      const where = root.get(id);
      if (where) placePrograms(run, where);
      c.runs.push(run);
    }
    if (unattributed > 0)
      o.note?.(
        `${unattributed} calls came from containers that were gone before sysfence could name them: they are in no profile`,
      );
    const byService = new Map<string, AppContainer[]>();
    for (const c of containers.values()) byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
    const services = [...byService]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([service, cs]) => ({
        service,
        containers: cs.map((c) => c.name).sort(),
        recording: mergeRecordings(
          cs.flatMap((c) => c.runs),
          true,
        ),
      }));
    return { services, notSelected: [...notSelected].sort(), startupMs: tracer.startupMs };
  } finally {
    if (timer) clearTimeout(timer);
    if (o.untilSignal) process.off(o.untilSignal, onSignal);
    offSignals();
    unexpect();
    tracer?.kill();
    watcher.stop();
  }
}
