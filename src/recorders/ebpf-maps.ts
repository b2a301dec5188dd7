/**
 * What the eBPF recorder's bpftrace program printed, into a Recording: the JSON map dump, the key
 * layout of record-ebpf's program (pid << 32 | compat << 31 | number, bit 62 for "runs the
 * workload"), and which program each process ran (exec and fork events).
 */
import { archById, syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { ToolError } from '../exec/run.js';
import { callName } from '../recording/numbers.js';
import type { RecordingBuilder } from '../recording/recording.js';

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

/** A running eBPF recorder (sysfence's program or bpftrace's), whose maps come back as a MapDump. */
export interface Tracer {
  /** From starting the tracer until every program was attached. */
  startupMs: number;
  /** SIGINT (repeated: see below), then the maps bpftrace printed. */
  stop(note?: (m: string) => void): Promise<MapDump>;
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
export function pidsSeen(maps: MapDump): Set<number> {
  const pids = new Set<number>();
  for (const map of ['@c', '@d'])
    for (const key of Object.keys(maps[map] ?? {})) pids.add(Number((BigInt(key) >> 32n) & 0x3fffffffn));
  for (const key of Object.keys(maps['@f'] ?? {})) for (const p of key.split(',')) pids.add(Number(p));
  return pids;
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

export function fill(
  rec: RecordingBuilder,
  arch: ArchDef,
  maps: MapDump,
  wrapperPid: number,
  mapKeys: number,
  map: '@c' | '@d',
  onlyWorkload = false,
  skipped = { count: 0 },
  /** Whether an opened shared object is there (host commands: the host's file). */
  loadedExists?: (path: string) => boolean,
): void {
  const execs = new Map<number, string[]>();
  for (const key of Object.keys(maps['@e'] ?? {}).sort()) {
    const [pid, file] = splitKey(key, 1);
    const list = execs.get(Number(pid)) ?? [];
    list.push(file!);
    execs.set(Number(pid), list);
  }
  // in a container, a process the runtime re-executed and that then exec'd the workload runs the
  // workload (its runtime exec is not a program of the workload)
  if (onlyWorkload)
    for (const [pid, files] of execs) {
      const own = files.filter((f) => !RUNTIME_REEXEC.some((p) => f.startsWith(p)));
      if (own.length > 0 && own.length < files.length) execs.set(pid, own);
    }
  const parent = new Map<number, number>();
  for (const key of Object.keys(maps['@f'] ?? {})) {
    const [child, by] = key.split(',').map(Number);
    if (child !== by) parent.set(child!, by!);
  }
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
  const calls = maps[map] ?? {};
  const entries = Object.entries(calls);
  if (entries.length >= mapKeys)
    throw new ToolError(
      'map-overflow',
      'bpftrace',
      `the syscall map is full (${mapKeys} entries): calls were lost; record again with --map-keys ${mapKeys * 4}`,
    );
  const sorted = entries
    .map(([key, count]) => {
      const k = BigInt(key);
      return {
        pid: Number((k >> 32n) & 0x3fffffffn),
        compat: ((k >> 31n) & 1n) === 1n,
        nr: Number(k & 0x7fffffffn),
        workload: ((k >> 62n) & 1n) === 1n,
        count,
      };
    })
    .sort((a, b) => a.pid - b.pid || a.nr - b.nr || Number(a.compat) - Number(b.compat));
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
  if (map === '@d') return;
  // the shared objects each program's processes opened (sysfence's recorder, host commands):
  // candidates, kept when the file is there to be read (a failed open of a search path is not)
  for (const key of Object.keys(maps['@l'] ?? {}).sort()) {
    const [pid, file] = splitKey(key, 1);
    if (!file?.startsWith('/') || (loadedExists && !loadedExists(file))) continue;
    for (const x of exeOf(Number(pid))) if (x.startsWith('/')) rec.loaded(x, file);
  }
  const t = syscallTable(arch);
  for (const [key, count] of Object.entries(maps['@a'] ?? {})) {
    const [nr, index, value] = key.split(',');
    const name = t.name(Number(nr));
    if (name === undefined) continue;
    rec.argValues(arch.id, name, Number(index), BigInt.asUintN(64, BigInt(value!)).toString(), count);
  }
}
