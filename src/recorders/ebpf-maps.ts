/**
 * An eBPF recorder's result into a Recording (`fill`), and the bpftrace program's printed JSON
 * into that result (`decodeBpftrace`: its call key is pid << 32 | compat << 31 | number, bit 62
 * for "runs the workload"; exec, fork, argument and open keys are comma-separated).
 */
import { archById, syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { ToolError } from '../exec/run.js';
import { callName } from '../recording/numbers.js';
import type { RecordingBuilder } from '../recording/recording.js';
import type { CallCount, RecorderResult } from './recorder-result.js';

/**
 * Paths a container runtime re-executes itself through before the workload's exec (runc 1.1 from a
 * memfd as /dev/fd/N; others as /proc/self/exe or /proc/self/fd/N): not the workload's programs.
 */
export const RUNTIME_REEXEC = ['/dev/fd/', '/proc/self/'];

export interface MapDump {
  [map: string]: Record<string, number>;
}

/** How often a run's denials so far are read while the workload runs. */
export const PROGRESS_SECONDS = 2;

/** A running eBPF recorder (sysfence's program or bpftrace's), whose maps come back typed. */
export interface Tracer {
  /** From starting the tracer until every program was attached. */
  startupMs: number;
  /** Detaches and reads what was recorded (bpftrace: SIGINT, repeated, then its printed maps). */
  stop(note?: (m: string) => void): Promise<RecorderResult>;
  /** Ends bpftrace at once if it still runs (error paths). */
  kill(): void;
}

export function parseMaps(stdout: string): MapDump {
  const maps: MapDump = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const o = JSON.parse(line) as { type: string; data: Record<string, Record<string, number>> };
    if (o.type !== 'map') continue;
    for (const [name, entries] of Object.entries(o.data)) maps[name] = entries;
  }
  return maps;
}

/** Splits "a,b,c,rest" into the first `n` fields and the rest (which may contain commas). */
function splitKey(key: string, n: number): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    const comma = key.indexOf(',', start);
    out.push(key.slice(start, comma));
    start = comma + 1;
  }
  out.push(key.slice(start));
  return out;
}

/** Every process the program saw: callers (@c, @d) and forked children (@f). */
/** bpftrace's call key (a decimal u64): pid << 32 | compat << 31 | number | workload << 62. */
function callOf(key: string, count: number): CallCount {
  const k = BigInt(key);
  return {
    pid: Number((k >> 32n) & 0x3fffffffn),
    compat: ((k >> 31n) & 1n) === 1n,
    nr: Number(k & 0x7fffffffn),
    workload: ((k >> 62n) & 1n) === 1n,
    count,
  };
}

/** What the bpftrace program printed (its maps @c, @d, @e, @f, @a, @l), typed. */
export function decodeBpftrace(maps: MapDump): RecorderResult {
  const calls = (m: string) => Object.entries(maps[m] ?? {}).map(([k, n]) => callOf(k, n));
  const pidFile = (m: string) =>
    Object.keys(maps[m] ?? {})
      .sort()
      .map((key) => {
        const [pid, file] = splitKey(key, 1);
        return { pid: Number(pid), file: file ?? '' };
      });
  return {
    calls: calls('@c'),
    denied: calls('@d'),
    execs: pidFile('@e'),
    parents: Object.keys(maps['@f'] ?? {}).map((key) => {
      const [child, parent] = key.split(',').map(Number);
      return { child: child as number, parent: parent as number };
    }),
    args: Object.entries(maps['@a'] ?? {}).map(([key, count]) => {
      const [nr, index, value] = key.split(',');
      return { nr: Number(nr), index: Number(index), value: BigInt(value ?? '0'), count };
    }),
    loads: pidFile('@l'),
  };
}

function abiOf(native: ArchDef, compat: boolean, nr: number): { abi: ArchId; nr: number } {
  if (compat) {
    const companion = native.companions.find((c) => archById(c).bits === 32 && !archById(c).nrBit);
    return { abi: companion ?? native.id, nr };
  }
  for (const c of native.companions) {
    const bit = archById(c).nrBit;
    if (bit?.set && (nr & bit.bit) !== 0) return { abi: c, nr };
  }
  return { abi: native.id, nr };
}

/**
 * A recorder's result into the recording: its `calls` (or, with `which`, its `denied` ones), each
 * named with the program its process ran, the argument values and the shared objects opened.
 */
export function fill(
  rec: RecordingBuilder,
  arch: ArchDef,
  r: RecorderResult,
  wrapperPid: number,
  mapKeys: number,
  which: 'calls' | 'denied',
  onlyWorkload = false,
  skipped = { count: 0 },
  /** Whether an opened shared object is there (host commands: the host's file). */
  loadedExists?: (path: string) => boolean,
): void {
  const execs = new Map<number, string[]>();
  for (const { pid, file } of [...r.execs].sort((a, b) => a.pid - b.pid || (a.file < b.file ? -1 : 1))) {
    const list = execs.get(pid) ?? [];
    list.push(file);
    execs.set(pid, list);
  }
  // in a container, a process the runtime re-executed and that then exec'd the workload runs the
  // workload (its runtime exec is not a program of the workload)
  if (onlyWorkload)
    for (const [pid, files] of execs) {
      const own = files.filter((f) => !RUNTIME_REEXEC.some((p) => f.startsWith(p)));
      if (own.length > 0 && own.length < files.length) execs.set(pid, own);
    }
  const parent = new Map<number, number>();
  for (const { child, parent: by } of r.parents) if (child !== by) parent.set(child, by);
  // a process runs what it exec'd; one that never exec'd runs what its parent ran
  const exeOf = (pid: number): string[] => {
    for (
      let p: number | undefined = pid, hops = 0;
      p !== undefined && hops < 1000;
      p = parent.get(p), hops++
    ) {
      const own = execs.get(p);
      if (own) return own;
      if (p === wrapperPid) return ['/bin/sh'];
    }
    return [];
  };
  const entries = r[which];
  if (entries.length >= mapKeys)
    throw new ToolError(
      'map-overflow',
      'bpftrace',
      `the syscall map is full (${mapKeys} entries): calls were lost; record again with --map-keys ${mapKeys * 4}`,
    );
  const sorted = [...entries].sort(
    (a, b) => a.pid - b.pid || a.nr - b.nr || Number(a.compat) - Number(b.compat),
  );
  for (const e of sorted) {
    if (onlyWorkload && !e.workload) {
      skipped.count += e.count;
      continue;
    }
    const { abi, nr } = abiOf(arch, e.compat, e.nr);
    const name = nr === 0x7fffffff ? 'syscall_-1' : (callName(abi, nr) ?? 'syscall_-1');
    const exes = exeOf(e.pid);
    rec.call(abi, name, exes.length > 0 ? { pid: e.pid, executable: exes[0]! } : { pid: e.pid }, e.count);
    for (const x of exes.slice(1)) rec.call(abi, name, { executable: x }, 0);
  }
  if (which === 'denied') return;
  // the shared objects each program's processes opened (sysfence's recorder, host commands):
  // candidates, kept when the file is there to be read (a failed open of a search path is not)
  for (const { pid, file } of [...r.loads].sort((a, b) => a.pid - b.pid || (a.file < b.file ? -1 : 1))) {
    if (!file.startsWith('/') || (loadedExists && !loadedExists(file))) continue;
    for (const x of exeOf(pid)) if (x.startsWith('/')) rec.loaded(x, file);
  }
  const t = syscallTable(arch);
  for (const { nr, index, value, count } of r.args) {
    const name = t.name(nr);
    if (name === undefined) continue;
    rec.argValues(arch.id, name, index, BigInt.asUintN(64, value).toString(), count);
  }
}
