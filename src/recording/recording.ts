/**
 * Recording: what a trace saw, per ABI and syscall: how often, where first seen, which processes
 * and executables made it. Versioned JSON on disk, deterministic (sorted keys), merge-able.
 */
import type { ArchId } from '../arch/types.js';

export const RECORDING_VERSION = 1;

export interface SyscallStats {
  count: number;
  /** In a recording of several runs (`runs` > 1): how many of them made this call (absent: all). */
  runs?: number;
  /** Where the call was first seen: "file:line" for imported logs. */
  first?: string;
  /** Timestamps of the first and last call, in seconds, when the trace had them. */
  firstTime?: number;
  lastTime?: number;
  pids: number[];
  executables: string[];
  /** The user-space stack of the first call (strace -k), innermost frame first. */
  stack?: string[];
  /**
   * Observed values of the arguments a profile can check (see ARG_SPECS), when asked for:
   * argument index -> value (unsigned decimal, or "?" when the trace showed it symbolically or
   * not at all) -> count.
   */
  args?: Record<string, Record<string, number>>;
}

export interface Recording {
  version: typeof RECORDING_VERSION;
  /**
   * What produced it ("strace", "ebpf", "audit", ...) and the input; `skipped`: lines that were
   * not syscall events (other audit records, context switches, ...), counted, not read.
   */
  sources: { format: string; file: string; skipped?: number }[];
  /** How many runs (recordings of separate inputs) were merged into this one; absent: 1. */
  runs?: number;
  /** ABI -> syscall name -> stats. Unknown numbers appear as "syscall_0x1b9". */
  syscalls: Partial<Record<ArchId, Record<string, SyscallStats>>>;
  /** Lines that could not be read, counted, with the first few for the report. */
  malformed: { count: number; samples: { where: string; code: string; text: string }[] };
  /** What the reader had to infer, in words (an ABI from an executable's ELF header, ...). */
  notes?: string[];
  /**
   * The programs that ran: each executable, where its files are (`root`: "host" for this machine,
   * an image reference, or a directory), and the shared objects its processes opened to load
   * (`loaded`: the strace backend records them, DT_NEEDED ones and dlopen'd ones alike: NSS
   * modules, Python extensions, perl XS; static reach adds the ones it would not find itself).
   * Static reach reads these programs (cli/static-reach.ts).
   */
  programs?: RecordedProgram[];
}

export interface RecordedProgram {
  path: string;
  root?: string;
  loaded?: string[];
  /**
   * The name exec was given when it was not absolute ("./tool"): `path` is that name resolved
   * against the directory the recorded command started in (a process that changed directory
   * before such an exec may have run another file: `record` checks the file exists).
   */
  ranAs?: string;
}

/** `RecordedProgram.root` of a program that ran on this machine. */
export const HOST_ROOT = 'host';
/** `RecordedProgram.root` of a program that ran from a container image: recorders/container-engines.ts (imageRoot). */

/**
 * Names every executable of the recording as a program whose files are at `root`. A name exec
 * was given relative ("./tool") is placed only with `relative`, which says where it is (the
 * command's starting directory joined with the name, when that file exists); otherwise it stays
 * unplaced and static reach says so.
 */
export function placePrograms(
  recording: Recording,
  root: string,
  relative?: (name: string) => string | undefined,
): void {
  const paths = new Set<string>();
  const ranAs: RecordedProgram[] = [];
  for (const calls of Object.values(recording.syscalls))
    for (const s of Object.values(calls ?? {}))
      for (const e of s.executables)
        if (e.startsWith('/')) paths.add(e);
        else if (relative && !ranAs.some((p) => p.ranAs === e)) {
          const abs = relative(e);
          if (abs !== undefined) ranAs.push({ path: abs, root, ranAs: e });
        }
  const placed = (recording.programs ?? []).map((p) => (p.root === undefined ? { ...p, root } : p));
  const programs = mergePrograms([placed, [...paths].map((path) => ({ path, root })), ranAs]);
  if (programs) recording.programs = programs;
}

/** Programs of several recordings as one list: by path and root, loaded objects united, sorted. */
export function mergePrograms(
  lists: readonly (readonly RecordedProgram[] | undefined)[],
): RecordedProgram[] | undefined {
  const by = new Map<string, RecordedProgram>();
  for (const list of lists)
    for (const p of list ?? []) {
      const key = `${p.root ?? ''}\0${p.path}`;
      const t = by.get(key) ?? { path: p.path, ...(p.root !== undefined ? { root: p.root } : {}) };
      by.set(key, t);
      if (p.ranAs !== undefined) t.ranAs ??= p.ranAs;
      if (p.loaded?.length) t.loaded = [...new Set([...(t.loaded ?? []), ...p.loaded])].sort();
    }
  if (by.size === 0) return undefined;
  return [...by.values()].sort((a, b) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : (a.root ?? '') < (b.root ?? '') ? -1 : 1,
  );
}

export interface CallSite {
  pid?: number;
  executable?: string;
  /** Where the call was seen (or a function giving it: only called for a syscall's first call). */
  where?: string | (() => string);
  time?: number;
  stack?: string[];
  /** Argument index -> value ("?" when unknown), for the calls ARG_SPECS lists. */
  args?: [number, string][];
}

const MAX_PIDS = 64;

/** "pid 12, 13" or, for many, "pids 12, 13, 14, 15 and 60 more (a recording keeps 64)". */
export function formatPids(pids: readonly number[], shown = 4): string {
  if (pids.length === 0) return 'no pid';
  if (pids.length <= shown + 1) return `pid ${pids.join(', ')}`;
  return `pids ${pids.slice(0, shown).join(', ')} and ${pids.length - shown} more${pids.length >= MAX_PIDS ? ` (a recording keeps ${MAX_PIDS})` : ''}`;
}
const MAX_SAMPLES = 20;

/**
 * A dictionary keyed by names from untrusted input (syscall names, argument values): no prototype,
 * so that a name like "__proto__" or "constructor" is a key like any other.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Accumulates calls into a Recording. */
export class RecordingBuilder {
  private readonly rec: Recording = {
    version: RECORDING_VERSION,
    sources: [],
    syscalls: {},
    malformed: { count: 0, samples: [] },
  };

  source(format: string, file: string, skipped?: number): void {
    this.rec.sources.push(skipped ? { format, file, skipped } : { format, file });
  }

  call(abi: ArchId, name: string, site: CallSite = {}, count = 1): SyscallStats {
    // the readers check what a log says before it becomes a call: this is the last line of defence
    if (!Number.isSafeInteger(count) || count < 0)
      throw new RangeError(`bad call count ${count} for ${name}`);
    this.rec.syscalls[abi] ??= dict<SyscallStats>();
    const byName = this.rec.syscalls[abi];
    let s = byName[name];
    if (!s) {
      s = { count: 0, pids: [], executables: [] };
      if (site.where !== undefined) s.first = typeof site.where === 'function' ? site.where() : site.where;
      if (site.time !== undefined) s.firstTime = site.time;
      if (site.stack) s.stack = site.stack;
      byName[name] = s;
    }
    s.count += count;
    if (site.time !== undefined) s.lastTime = site.time;
    if (site.pid !== undefined && !s.pids.includes(site.pid) && s.pids.length < MAX_PIDS)
      s.pids.push(site.pid);
    if (site.executable !== undefined && !s.executables.includes(site.executable))
      s.executables.push(site.executable);
    if (site.args) addArgs(s, site.args, count);
    return s;
  }

  /** Argument values seen for a call already recorded (a backend that counts them apart). */
  argValues(abi: ArchId, name: string, index: number, value: string, count: number): void {
    const s = this.rec.syscalls[abi]?.[name];
    if (s) addArgs(s, [[index, value]], count);
  }

  /** Something inferred rather than read, said once. */
  note(text: string): void {
    this.rec.notes ??= [];
    if (!this.rec.notes.includes(text) && this.rec.notes.length < 100) this.rec.notes.push(text);
  }

  malformed(where: string, code: string, text: string): void {
    this.rec.malformed.count++;
    if (this.rec.malformed.samples.length < MAX_SAMPLES)
      this.rec.malformed.samples.push({ where, code, text: text.slice(0, 200) });
  }

  /**
   * A shared object `executable`'s process opened to load (a successful open of `*.so*`): with
   * DT_NEEDED ones too, static reach reads only those it would not have found itself.
   */
  loaded(executable: string, path: string): void {
    if (!this.rec.programs) this.rec.programs = [];
    const programs = this.rec.programs;
    let p = programs.find((x) => x.path === executable && x.root === undefined);
    if (!p) {
      p = { path: executable };
      programs.push(p);
    }
    const loaded = p.loaded ?? [];
    p.loaded = loaded;
    if (!loaded.includes(path)) loaded.push(path);
  }

  build(): Recording {
    return normalize(this.rec);
  }
}

function addValue(to: Record<string, Record<string, number>>, index: string, value: string, n: number): void {
  const byValue = to[index] ?? dict<number>();
  byValue[value] = (byValue[value] ?? 0) + n;
  to[index] = byValue;
}

function addArgs(s: SyscallStats, args: readonly [number, string][], count: number): void {
  s.args ??= dict<Record<string, number>>();
  for (const [index, value] of args) addValue(s.args, String(index), value, count);
}

function sortArgs(a: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  const out = dict<Record<string, number>>();
  for (const index of Object.keys(a).sort()) {
    const values = a[index]!;
    const sorted = dict<number>();
    // numeric order, "?" last
    for (const v of Object.keys(values).sort((x, y) =>
      x === '?' ? 1 : y === '?' ? -1 : BigInt(x) < BigInt(y) ? -1 : BigInt(x) > BigInt(y) ? 1 : 0,
    ))
      sorted[v] = values[v]!;
    out[index] = sorted;
  }
  return out;
}

/** Sorted keys and lists: the same recording always serialises to the same bytes. */
export function normalize(r: Recording): Recording {
  const syscalls: Recording['syscalls'] = {};
  for (const abi of Object.keys(r.syscalls).sort() as ArchId[]) {
    const src = r.syscalls[abi]!;
    const out = dict<SyscallStats>();
    for (const name of Object.keys(src).sort()) {
      const s = src[name]!;
      // one key order whatever built it (the builder, the parser, a merge): same input, same bytes
      const o: SyscallStats = {
        count: s.count,
        pids: [...s.pids].sort((a, b) => a - b),
        executables: [...s.executables].sort(),
      };
      // a call every run made says nothing more than the recording's own count of runs
      if (s.runs !== undefined && s.runs < (r.runs ?? 1)) o.runs = s.runs;
      if (s.first !== undefined) o.first = s.first;
      if (s.firstTime !== undefined) o.firstTime = s.firstTime;
      if (s.lastTime !== undefined) o.lastTime = s.lastTime;
      if (s.stack !== undefined) o.stack = s.stack;
      if (s.args) o.args = sortArgs(s.args);
      out[name] = o;
    }
    syscalls[abi] = out;
  }
  const out: Recording = { version: r.version } as Recording;
  if (r.runs !== undefined && r.runs > 1) out.runs = r.runs;
  Object.assign(out, { sources: [...r.sources], syscalls, malformed: r.malformed });
  if (r.notes?.length) out.notes = [...r.notes];
  const programs = mergePrograms([r.programs]);
  if (programs) out.programs = programs;
  return out;
}

export function serializeRecording(r: Recording): string {
  return `${JSON.stringify(normalize(r), null, 2)}\n`;
}

/** Adds what `s` saw of a call to `t` (the same call seen elsewhere): counts, pids, programs, values. */
export function mergeStatsInto(t: SyscallStats, s: SyscallStats): void {
  t.count += s.count;
  if (t.first === undefined && s.first !== undefined) t.first = s.first;
  if (s.firstTime !== undefined && (t.firstTime === undefined || s.firstTime < t.firstTime))
    t.firstTime = s.firstTime;
  if (s.lastTime !== undefined && (t.lastTime === undefined || s.lastTime > t.lastTime))
    t.lastTime = s.lastTime;
  for (const p of s.pids) if (!t.pids.includes(p) && t.pids.length < MAX_PIDS) t.pids.push(p);
  for (const e of s.executables) if (!t.executables.includes(e)) t.executables.push(e);
  if (t.stack === undefined && s.stack !== undefined) t.stack = [...s.stack];
  for (const [index, values] of Object.entries(s.args ?? {}))
    for (const [v, n] of Object.entries(values)) {
      t.args ??= dict<Record<string, number>>();
      addValue(t.args, index, v, n);
    }
}

/**
 * Several recordings as one: counts add up, first/last times and sites are kept, lists united.
 * `asRuns`: each input is a separate run (another input to the program), so the result counts the
 * runs and, per call, how many of them made it; otherwise the inputs are parts of one run (the
 * processes of one workload recorded apart).
 */
export function mergeRecordings(recs: readonly Recording[], asRuns = false): Recording {
  const b = new RecordingBuilder();
  const out = b.build();
  const total = asRuns ? recs.reduce((n, r) => n + (r.runs ?? 1), 0) : 1;
  const callRuns = new Map<string, number>();
  for (const r of recs) {
    out.sources.push(...r.sources);
    if (asRuns) {
      const inThis = new Map<string, number>();
      for (const [abi, calls] of Object.entries(r.syscalls))
        for (const [name, s] of Object.entries(calls ?? {}))
          inThis.set(`${abi} ${name}`, s.runs ?? r.runs ?? 1);
      for (const [k, n] of inThis) callRuns.set(k, (callRuns.get(k) ?? 0) + n);
    }
    out.malformed.count += r.malformed.count;
    for (const n of r.notes ?? []) {
      out.notes ??= [];
      if (!out.notes.includes(n)) out.notes.push(n);
    }
    for (const m of r.malformed.samples)
      if (out.malformed.samples.length < MAX_SAMPLES) out.malformed.samples.push(m);
    for (const [abi, calls] of Object.entries(r.syscalls) as [ArchId, Record<string, SyscallStats>][]) {
      const into = out.syscalls[abi] ?? dict<SyscallStats>();
      out.syscalls[abi] = into;
      for (const [name, s] of Object.entries(calls)) {
        const t = into[name];
        if (!t) into[name] = structuredClone(s);
        else mergeStatsInto(t, s);
      }
    }
  }
  const programs = mergePrograms(recs.map((r) => r.programs));
  if (programs) out.programs = programs;
  if (asRuns && total > 1) {
    out.runs = total;
    for (const [abi, calls] of Object.entries(out.syscalls))
      for (const [name, s] of Object.entries(calls ?? {})) {
        const n = callRuns.get(`${abi} ${name}`) ?? total;
        if (n < total) s.runs = n;
        else delete s.runs;
      }
  }
  return normalize(out);
}
