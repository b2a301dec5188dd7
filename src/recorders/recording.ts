/**
 * Recording: what a trace saw, per ABI and syscall: how often, where first seen, which processes
 * and executables made it. Versioned JSON on disk, deterministic (sorted keys), merge-able.
 */
import type { ArchId } from '../arch/types.js';

export const RECORDING_VERSION = 1;

export interface SyscallStats {
  count: number;
  /** Where the call was first seen: "file:line" for imported logs. */
  first?: string;
  /** Timestamps of the first and last call, in seconds, when the trace had them. */
  firstTime?: number;
  lastTime?: number;
  pids: number[];
  executables: string[];
  /** The user-space stack of the first call (strace -k), innermost frame first. */
  stack?: string[];
}

export interface Recording {
  version: typeof RECORDING_VERSION;
  /** What produced it: "strace", "strace-summary", ... and the inputs. */
  sources: { format: string; file: string }[];
  /** ABI -> syscall name -> stats. Unknown numbers appear as "syscall_0x1b9". */
  syscalls: Partial<Record<ArchId, Record<string, SyscallStats>>>;
  /** Lines that could not be read, counted, with the first few for the report. */
  malformed: { count: number; samples: { where: string; code: string; text: string }[] };
}

export interface CallSite {
  pid?: number;
  executable?: string;
  /** Where the call was seen (or a function giving it: only called for a syscall's first call). */
  where?: string | (() => string);
  time?: number;
  stack?: string[];
}

const MAX_PIDS = 64;
const MAX_SAMPLES = 20;

/** Accumulates calls into a Recording. */
export class RecordingBuilder {
  private readonly rec: Recording = {
    version: RECORDING_VERSION,
    sources: [],
    syscalls: {},
    malformed: { count: 0, samples: [] },
  };

  source(format: string, file: string): void {
    this.rec.sources.push({ format, file });
  }

  call(abi: ArchId, name: string, site: CallSite = {}, count = 1): SyscallStats {
    this.rec.syscalls[abi] ??= {};
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
    return s;
  }

  malformed(where: string, code: string, text: string): void {
    this.rec.malformed.count++;
    if (this.rec.malformed.samples.length < MAX_SAMPLES)
      this.rec.malformed.samples.push({ where, code, text: text.slice(0, 200) });
  }

  build(): Recording {
    return normalize(this.rec);
  }
}

/** Sorted keys and lists: the same recording always serialises to the same bytes. */
export function normalize(r: Recording): Recording {
  const syscalls: Recording['syscalls'] = {};
  for (const abi of Object.keys(r.syscalls).sort() as ArchId[]) {
    const src = r.syscalls[abi]!;
    const out: Record<string, SyscallStats> = {};
    for (const name of Object.keys(src).sort()) {
      const s = src[name]!;
      out[name] = { ...s, pids: [...s.pids].sort((a, b) => a - b), executables: [...s.executables].sort() };
    }
    syscalls[abi] = out;
  }
  return { version: r.version, sources: [...r.sources], syscalls, malformed: r.malformed };
}

export function serializeRecording(r: Recording): string {
  return `${JSON.stringify(normalize(r), null, 2)}\n`;
}
