/**
 * Runs sysfence's own eBPF recorder (ebpf-program.ts): the programs go into the kernel through the
 * Perl loader (src/ebpf/loader-perl.ts), and what the maps hold at the end comes back typed
 * (`RecorderResult`, decoded here from the map layout of ebpf-layout.ts; `decodeMaps` reads the
 * loader's answer, so it is tested without a kernel), so one `fill` makes the recording whichever
 * backend ran.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { bpfObjectLines } from '../ebpf/lines.js';
import { LOADER_PERL } from '../ebpf/loader-perl.js';
import { undoOnDeath } from '../exec/reaper.js';
import { findOnPath, startProcess, ToolError } from '../exec/run.js';
import { ERRORS, INDEX_SHIFT, MAPS, type MapName, type RecorderProgram, SLOT } from './ebpf-layout.js';
import { PROGRESS_SECONDS, RUNTIME_REEXEC, type Tracer } from './ebpf-maps.js';
import { recorderProgram } from './ebpf-program.js';
import { kernelLayout } from './kernel-layout.js';
import { type CallCount, emptyResult, type RecorderResult } from './recorder-result.js';

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
  progress?: (r: RecorderResult) => void,
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
            (entries) => progress({ ...emptyResult(), denied: entries.map(([k, v]) => countOf(k, v).call) }),
            () => undefined,
          );
        }, PROGRESS_SECONDS * 1000)
      : undefined;
  const tracer: OwnTracer = {
    startupMs,
    async stop() {
      const all = await tracer.stopAll();
      return all.byIndex.get(0) ?? emptyResult();
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
  byIndex: Map<number, RecorderResult>;
  /** The cgroup id each container index was given to (several containers). */
  cgroups: Map<number, bigint>;
}

async function readMaps(
  dump: (m: MapName, keys?: readonly string[]) => Promise<[string, string][]>,
  mapKeys: number,
): Promise<RecorderMaps> {
  const errors = await dump('errors');
  const pairs = await dump('pairs');
  const slots = [...new Set(pairs.map(([k]) => Number(hexLE(k, 0, 8) & 0xffffffffn)))].sort((a, b) => a - b);
  const slotKey = (slot: number) => Buffer.from(new Uint32Array([slot]).buffer).toString('hex');
  return decodeMaps(
    {
      errors,
      pairs,
      counts: await dump('counts', slots.map(slotKey)),
      other: await dump('other'),
      denied: await dump('denied'),
      execs: await dump('execs'),
      parents: await dump('parents'),
      args: await dump('args'),
      loads: await dump('loads'),
      scopes: await dump('scopes'),
    },
    mapKeys,
  );
}

/** The loader's answer for each map: [key hex, value hex] entries. */
export type MapEntries = Partial<Record<MapName, readonly [string, string][]>>;

/**
 * The recorder's maps (as the loader prints them: little-endian hex) into typed results, one per
 * container index. The layout is ebpf-layout.ts's: `pairs` {u32 slot; u32 pid}, `counts` per-CPU
 * u64 per slot, `other`/`denied` {u32 pid; u32 nr; u32 flags; u32 0}, `execs`/`loads` {u32 pid;
 * u32 0; char path[248]}, X
 * number in the value's map key, see ebpf-hot-path.ts), `scopes` u64 cgroup id -> u32 index.
 */
export function decodeMaps(m: MapEntries, mapKeys: number): RecorderMaps {
  const errors = (m.errors ?? [])
    .map(([k, v]) => [Number(hexLE(k, 0, 4)), hexLE(v, 0, 8)] as const)
    .filter(([, n]) => n > 0n);
  if (errors.length > 0)
    throw new ToolError(
      'map-overflow',
      'sysfence',
      `the recorder's ${errors.map(([i, n]) => `${ERRORS[i] ?? i} map was full ${n} time${n === 1n ? '' : 's'}`).join(', ')} (${mapKeys} entries): calls were lost; record again with --map-keys ${mapKeys * 4}`,
    );
  const bySlot = new Map<number, number[]>();
  for (const [k] of m.pairs ?? []) {
    const key = hexLE(k, 0, 8);
    const slot = Number(key & 0xffffffffn);
    const list = bySlot.get(slot) ?? [];
    list.push(Number(key >> 32n));
    bySlot.set(slot, list);
  }
  // totals per slot, the per-CPU values summed: only the slots some process made (each counted
  // call made a pair unless a map was full, which failed above)
  const totals = new Map<number, bigint>();
  for (const [k, v] of m.counts ?? []) {
    let sum = 0n;
    for (let i = 0; i < v.length / 16; i++) sum += hexLE(v, i * 8, 8);
    if (sum > 0n) totals.set(Number(hexLE(k, 0, 4)), sum);
  }
  const byIndex = new Map<number, RecorderResult>();
  const at = (index: number): RecorderResult => {
    let r = byIndex.get(index);
    if (!r) {
      r = emptyResult();
      byIndex.set(index, r);
    }
    return r;
  };
  at(0);
  for (const [slot, total] of [...totals].sort((a, b) => a[0] - b[0])) {
    const nr = (slot & SLOT.nrMask) | (slot & SLOT.x32 ? 0x40000000 : 0);
    const compat = (slot & SLOT.compat) !== 0;
    const workload = (slot & SLOT.gen) !== 0;
    const pids = (bySlot.get(slot) ?? []).sort((a, b) => a - b);
    // the counts are per call, the pairs per process: the first process carries the rest (a
    // recording keeps totals and the set of processes, not counts per process)
    pids.forEach((pid, i) => {
      at(slot >>> 13).calls.push({
        pid,
        compat,
        nr,
        workload,
        count: i === 0 ? Math.max(1, Number(total) - (pids.length - 1)) : 1,
      });
    });
  }
  for (const [which, entries] of [
    ['calls', m.other ?? []],
    ['denied', m.denied ?? []],
  ] as const)
    for (const [k, v] of entries) {
      const { index, call } = countOf(k, v);
      at(index)[which].push(call);
    }
  // which program each process ran, its parent, its arguments and opened objects: shared by every
  // container (host pids)
  const pathOf = (k: string) => Buffer.from(k.slice(16), 'hex').toString('utf8').replace(/\0.*$/s, '');
  const execs = (m.execs ?? []).map(([k]) => ({ pid: Number(hexLE(k, 0, 4)), file: pathOf(k) }));
  const loads = (m.loads ?? []).map(([k]) => ({ pid: Number(hexLE(k, 0, 4)), file: pathOf(k) }));
  const parents = (m.parents ?? []).map(([k, v]) => ({
    child: Number(hexLE(k, 0, 4)),
    parent: Number(hexLE(v, 0, 4)),
  }));
  const args = (m.args ?? []).map(([k, v]) => ({
    nr: Number(hexLE(k, 0, 4)),
    index: Number(hexLE(k, 4, 4)),
    value: hexLE(k, 8, 8),
    count: Number(hexLE(v, 0, 8)),
  }));
  for (const r of byIndex.values()) Object.assign(r, { execs, loads, parents, args });
  const cgroups = new Map<number, bigint>();
  for (const [k, v] of m.scopes ?? []) cgroups.set(Number(hexLE(v, 0, 4)), hexLE(k, 0, 8));
  return { byIndex, cgroups };
}

/** An entry of `other` or `denied` ({u32 pid; u32 nr; u32 flags; u32 0} -> u64 count): the call and its container index. */
function countOf(k: string, v: string): { index: number; call: CallCount } {
  const flags = Number(hexLE(k, 8, 4));
  return {
    index: (flags >>> INDEX_SHIFT) & 0xff,
    call: {
      pid: Number(hexLE(k, 0, 4)),
      nr: Number(hexLE(k, 4, 4)),
      compat: (flags & SLOT.compat) !== 0,
      workload: (flags & SLOT.gen) !== 0,
      count: Number(hexLE(v, 0, 8)),
    },
  };
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
  progress?: (r: RecorderResult) => void;
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
