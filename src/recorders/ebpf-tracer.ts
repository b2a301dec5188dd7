/**
 * Runs sysfence's own eBPF recorder (ebpf-program.ts): the programs go into the kernel through the
 * Perl loader (src/ebpf/loader-perl.ts), and what the maps hold at the end comes back in the shape
 * the bpftrace program printed (`MapDump`: @c, @e, @f, @a), so one `fill` makes the recording
 * whichever backend ran.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { bpfObjectLines } from '../ebpf/lines.js';
import { LOADER_PERL } from '../ebpf/loader-perl.js';
import { undoOnDeath } from '../exec/reaper.js';
import { findOnPath, startProcess, ToolError } from '../exec/run.js';
import { ERRORS, INDEX_SHIFT, MAPS, type MapName, type RecorderProgram, SLOT } from './ebpf-layout.js';
import { type MapDump, PROGRESS_SECONDS, RUNTIME_REEXEC, type Tracer } from './ebpf-maps.js';
import { recorderProgram } from './ebpf-program.js';
import { kernelLayout } from './kernel-layout.js';

/** The loader's argument, so `ps` and `pgrep -f` show what it is. */
export const LOADER_NAME = 'sysfence-ebpf-loader';

const hexLE = (hex: string, from: number, bytes: number): bigint => {
  let v = 0n;
  for (let i = bytes - 1; i >= 0; i--)
    v = (v << 8n) | BigInt(Number.parseInt(hex.slice((from + i) * 2, (from + i) * 2 + 2), 16));
  return v;
};

/** Loads and attaches the recorder; resolves once every program runs. */
/** sysfence's recorder: also every container's maps apart (`stopAll`). */
export interface OwnTracer extends Tracer {
  stopAll(): Promise<RecorderMaps>;
}

export async function startOwnTracer(
  arch: ArchDef,
  program: RecorderProgram,
  mapKeys: number,
  progress?: (maps: MapDump) => void,
): Promise<OwnTracer> {
  const perl = findOnPath('perl');
  if (!perl)
    throw new ToolError(
      'tool-missing',
      'perl',
      'perl is not installed: it loads the eBPF recorder (apt-get install perl-base)',
    );
  const t = syscallTable(arch);
  const nr = (n: string) => {
    const v = t.number(n);
    if (v === undefined)
      throw new ToolError('ebpf-unavailable', 'sysfence', `${arch.id} has no ${n} syscall`);
    return v;
  };
  const started = performance.now();
  // its own process group: Ctrl-C reaches the workload, not the loader (it dies with sysfence);
  // named on its command line for ps and the tests
  const p = startProcess(perl, ['-e', LOADER_PERL, LOADER_NAME], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  // it dies with sysfence by itself (PR_SET_PDEATHSIG); the reaper is the second line
  const forget = p.pid !== undefined ? undoOnDeath('tree', String(p.pid)) : () => {};
  p.on('exit', forget);
  let out = '';
  let stderr = '';
  let wake: (() => void) | undefined;
  p.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    wake?.();
  });
  p.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  let done = false;
  const exited = new Promise<void>((res, rej) => {
    p.on('error', (e) => rej(new ToolError('tool-missing', 'perl', `perl could not start: ${e.message}`)));
    p.on('exit', () => {
      done = true;
      wake?.();
      res();
    });
  });
  exited.catch(() => undefined);
  const send = (line: string) => p.stdin?.write(`${line}\n`);
  /** The loader's answer up to a line starting with `until` (or its error). */
  const answer = async (until: string): Promise<string> => {
    for (;;) {
      const at = out.indexOf(`${until}\n`);
      const err = /^error (.*)$/m.exec(out);
      if (err)
        throw new ToolError(
          'ebpf-load-failed',
          'sysfence',
          `the eBPF recorder could not be loaded: ${err[1]}`,
        );
      if (at === 0 || (at > 0 && out[at - 1] === '\n')) {
        const text = out.slice(0, at);
        out = out.slice(at + until.length + 1);
        return text;
      }
      if (done)
        throw new ToolError(
          'ebpf-load-failed',
          'perl',
          `the eBPF loader ended: ${stderr.trim() || 'no message'}`,
        );
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
  };
  send(`sys ${nr('bpf')} ${nr('perf_event_open')} ${nr('ioctl')} ${nr('prctl')} ${nr('close')}`);
  for (const line of bpfObjectLines(program)) send(line);
  send('go');
  try {
    await answer('ready');
  } catch (e) {
    p.kill('SIGKILL');
    throw e;
  }
  const startupMs = performance.now() - started;
  // one request at a time on the loader's pipe (the progress reads and the final ones)
  let queue: Promise<unknown> = Promise.resolve();
  const dump = (map: MapName, keys?: readonly string[]): Promise<[string, string][]> => {
    const next = queue.then(() => dumpNow(map, keys));
    queue = next.catch(() => undefined);
    return next;
  };
  const dumpNow = async (map: MapName, keys?: readonly string[]): Promise<[string, string][]> => {
    if (keys?.length === 0) return [];
    send(keys ? `get ${MAPS.indexOf(map)} ${keys.join(' ')}` : `dump ${MAPS.indexOf(map)}`);
    return (await answer('end'))
      .split('\n')
      .filter((l) => l.startsWith('e '))
      .map((l) => {
        const [, k, v] = l.split(' ');
        return [k ?? '', v ?? ''];
      });
  };
  // the denials so far, while the workload runs (a server spinning on a denied call never ends)
  const timer =
    progress && program.maps.some((m) => m.name === 'denied')
      ? setInterval(() => {
          void dump('denied').then(
            (entries) => {
              const d: Record<string, number> = {};
              addCalls(entries, () => d);
              progress({ '@d': d });
            },
            () => undefined,
          );
        }, PROGRESS_SECONDS * 1000)
      : undefined;
  const tracer: OwnTracer = {
    startupMs,
    async stop() {
      const all = await tracer.stopAll();
      return all.byIndex.get(0) ?? {};
    },
    async stopAll() {
      if (timer) clearInterval(timer);
      send('detach');
      await answer('detached');
      const maps = await readMaps(dump, mapKeys);
      send('quit');
      p.stdin?.end();
      await exited;
      return maps;
    },
    kill() {
      if (timer) clearInterval(timer);
      if (!done) p.kill('SIGKILL');
    },
  };
  return tracer;
}

/** What the recorder's maps hold, per container index (one workload: index 0 only). */
export interface RecorderMaps {
  byIndex: Map<number, MapDump>;
  /** The cgroup id each container index was given to (several containers). */
  cgroups: Map<number, bigint>;
}

async function readMaps(
  dump: (m: MapName, keys?: readonly string[]) => Promise<[string, string][]>,
  mapKeys: number,
): Promise<RecorderMaps> {
  const errors = (await dump('errors'))
    .map(([k, v]) => [Number(hexLE(k, 0, 4)), hexLE(v, 0, 8)] as const)
    .filter(([, n]) => n > 0n);
  if (errors.length > 0)
    throw new ToolError(
      'map-overflow',
      'sysfence',
      `the recorder's ${errors.map(([i, n]) => `${ERRORS[i] ?? i} map was full ${n} time${n === 1n ? '' : 's'}`).join(', ')} (${mapKeys} entries): calls were lost; record again with --map-keys ${mapKeys * 4}`,
    );
  const bySlot = new Map<number, number[]>();
  for (const [k] of await dump('pairs')) {
    const key = hexLE(k, 0, 8);
    const slot = Number(key & 0xffffffffn);
    const list = bySlot.get(slot) ?? [];
    list.push(Number(key >> 32n));
    bySlot.set(slot, list);
  }
  // totals per slot, the per-CPU values summed: only the slots some process made (each counted
  // call made a pair unless a map was full, which failed above)
  const slotKey = (slot: number) => Buffer.from(new Uint32Array([slot]).buffer).toString('hex');
  const totals = new Map<number, bigint>();
  for (const [k, v] of await dump('counts', [...bySlot.keys()].sort((a, b) => a - b).map(slotKey))) {
    let sum = 0n;
    for (let i = 0; i < v.length / 16; i++) sum += hexLE(v, i * 8, 8);
    if (sum > 0n) totals.set(Number(hexLE(k, 0, 4)), sum);
  }
  const byIndex = new Map<number, MapDump>();
  const maps = (index: number): MapDump => {
    let m = byIndex.get(index);
    if (!m) {
      m = { '@c': {}, '@d': {} };
      byIndex.set(index, m);
    }
    return m;
  };
  maps(0);
  for (const [slot, total] of [...totals].sort((a, b) => a[0] - b[0])) {
    const nr = (slot & SLOT.nrMask) | (slot & SLOT.x32 ? 0x40000000 : 0);
    const compat = (slot & SLOT.compat) !== 0;
    const gen = (slot & SLOT.gen) !== 0;
    const c = maps(slot >>> 13)['@c'] ?? {};
    const pids = (bySlot.get(slot) ?? []).sort((a, b) => a - b);
    // the counts are per call, the pairs per process: the first process carries the rest (a
    // recording keeps totals and the set of processes, not counts per process)
    pids.forEach((pid, i) => {
      c[callKey(pid, compat, nr, gen)] = i === 0 ? Math.max(1, Number(total) - (pids.length - 1)) : 1;
    });
  }
  for (const [which, map] of [
    ['other', '@c'],
    ['denied', '@d'],
  ] as const)
    addCalls(await dump(which), (index) => maps(index)[map] ?? {});
  // which program each process ran, and its parent: shared by every container (host pids)
  const e: Record<string, number> = {};
  for (const [k, v] of await dump('execs')) {
    const pid = Number(hexLE(k, 0, 4));
    const file = Buffer.from(k.slice(16), 'hex').toString('utf8').replace(/\0.*$/s, '');
    e[`${pid},${file}`] = Number(hexLE(v, 0, 8));
  }
  const f: Record<string, number> = {};
  for (const [k, v] of await dump('parents')) f[`${Number(hexLE(k, 0, 4))},${Number(hexLE(v, 0, 4))}`] = 1;
  const a: Record<string, number> = {};
  for (const [k, v] of await dump('args'))
    a[`${Number(hexLE(k, 0, 4))},${Number(hexLE(k, 4, 4))},${hexLE(k, 8, 8)}`] = Number(hexLE(v, 0, 8));
  const l: Record<string, number> = {};
  for (const [k, v] of await dump('loads')) {
    const pid = Number(hexLE(k, 0, 4));
    const file = Buffer.from(k.slice(16), 'hex').toString('utf8').replace(/\0.*$/s, '');
    l[`${pid},${file}`] = Number(hexLE(v, 0, 8));
  }
  for (const m of byIndex.values()) Object.assign(m, { '@e': e, '@f': f, '@a': a, '@l': l });
  const cgroups = new Map<number, bigint>();
  for (const [k, v] of await dump('scopes')) cgroups.set(Number(hexLE(v, 0, 4)), hexLE(k, 0, 8));
  return { byIndex, cgroups };
}

/** The bpftrace program's key for a call: pid << 32 | compat << 31 | number | gen << 62. */
function callKey(pid: number, compat: boolean, nr: number, gen: boolean): string {
  return (
    (BigInt(pid) << 32n) |
    (BigInt(compat) << 31n) |
    BigInt(nr & 0x7fffffff) |
    (BigInt(gen) << 62n)
  ).toString();
}

/**
 * Entries of `other` or `denied` ({pid, number, flags} -> count) added, in the bpftrace program's
 * key, to the map of their container index (`target`).
 */
function addCalls(
  entries: readonly [string, string][],
  target: (index: number) => Record<string, number>,
): void {
  for (const [k, v] of entries) {
    const flags = Number(hexLE(k, 8, 4));
    const id = callKey(
      Number(hexLE(k, 0, 4)),
      (flags & SLOT.compat) !== 0,
      Number(hexLE(k, 4, 4)),
      (flags & SLOT.gen) !== 0,
    );
    const t = target(flags >>> INDEX_SHIFT);
    t[id] = (t[id] ?? 0) + Number(hexLE(v, 0, 8));
  }
}

/** Which eBPF program records: sysfence's own (the default) or the bpftrace one (the fallback). */
export type EbpfEngine = 'sysfence' | 'bpftrace';

/** Builds sysfence's recorder for one cgroup and attaches it. */
export function startRecorder(o: {
  arch: ArchDef;
  cgroupId: string;
  afterExec: boolean;
  args: boolean;
  mapKeys: number;
  denials?: boolean;
  /** Record the shared objects the workload opens (RecorderProgramOptions.loads). */
  loads?: boolean;
  underFiltersAbove?: number;
  progress?: (maps: MapDump) => void;
  /** Several containers: every cgroup below this one (see RecorderProgramOptions.under). */
  under?: { id: bigint; level: number; max: number };
}): Promise<OwnTracer> {
  const layout = kernelLayout();
  if (o.underFiltersAbove !== undefined && layout.seccompFilterCount === undefined)
    throw new ToolError(
      'ebpf-unavailable',
      'sysfence',
      "this kernel's BTF has no task_struct.seccomp.filter_count: the calls under the new filter cannot be told apart",
      'use --backend bpftrace',
    );
  const program = recorderProgram({
    arch: o.arch,
    cgroupId: BigInt(o.cgroupId),
    afterExec: o.afterExec,
    reexecPrefixes: RUNTIME_REEXEC,
    args: o.args,
    mapKeys: o.mapKeys,
    layout,
    ...(o.denials ? { denials: true } : {}),
    ...(o.loads ? { loads: true } : {}),
    ...(o.underFiltersAbove !== undefined ? { underFiltersAbove: o.underFiltersAbove } : {}),
    ...(o.under ? { under: o.under } : {}),
  });
  return startOwnTracer(o.arch, program, o.mapKeys, o.progress);
}
