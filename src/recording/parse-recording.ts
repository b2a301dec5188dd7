/**
 * Reads a recording file strictly: a hand-edited or damaged recording is refused with the JSON path
 * of the first problem and a code, never half-read (a syscall silently lost) and never a crash.
 * Names are checked against the ABI's table (`__proto__` and friends are names like any other: not
 * syscalls), counts are non-negative integers, argument values unsigned 64-bit decimals.
 */
import { ARCH_DEFS } from '../arch/defs.js';
import { syscallTable } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';
import { SysfenceError } from '../errors.js';
import { callNumber, isNumberedName } from './numbers.js';
import {
  dict,
  mergeStatsInto,
  RECORDING_VERSION,
  type RecordedProgram,
  type Recording,
  type SyscallStats,
} from './recording.js';

export class RecordingError extends SysfenceError {
  constructor(
    override readonly code: 'recording-syntax' | 'recording-version' | 'recording-invalid',
    readonly path: string,
    message: string,
  ) {
    super(code, message, path);
    this.name = 'RecordingError';
  }
}

const ABIS = new Set<string>(ARCH_DEFS.map((a) => a.id));
const U64 = (1n << 64n) - 1n;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: Record<string, unknown>, k: string) => Object.hasOwn(o, k);

function fail(path: string, message: string): never {
  throw new RecordingError('recording-invalid', path, message);
}

function count(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    fail(path, `a count must be a non-negative integer, not ${JSON.stringify(v)}`);
  return v;
}

function runs(v: unknown, path: string): number {
  const n = count(v, path);
  if (n < 1) fail(path, 'runs counts the runs merged into this recording: at least 1');
  return n;
}

function strings(v: unknown, path: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(path, 'expected a list of strings');
  return [...(v as string[])];
}

function stats(v: unknown, path: string): SyscallStats {
  if (!isObject(v)) fail(path, 'expected an object with count, pids and executables');
  const known = new Set([
    'count',
    'runs',
    'first',
    'firstTime',
    'lastTime',
    'pids',
    'executables',
    'stack',
    'args',
  ]);
  for (const k of Object.keys(v)) if (!known.has(k)) fail(`${path}.${k}`, `unknown field "${k}"`);
  const s: SyscallStats = {
    count: count(v.count, `${path}.count`),
    pids: [],
    executables: own(v, 'executables') ? strings(v.executables, `${path}.executables`) : [],
  };
  if (own(v, 'pids')) {
    if (!Array.isArray(v.pids)) fail(`${path}.pids`, 'expected a list of process ids');
    s.pids = (v.pids as unknown[]).map((p, i) => count(p, `${path}.pids[${i}]`));
  }
  if (own(v, 'runs')) s.runs = runs(v.runs, `${path}.runs`);
  if (own(v, 'first')) {
    if (typeof v.first !== 'string') fail(`${path}.first`, 'expected a string');
    s.first = v.first;
  }
  for (const k of ['firstTime', 'lastTime'] as const)
    if (own(v, k)) {
      const t = v[k];
      if (typeof t !== 'number' || !Number.isFinite(t) || t < 0)
        fail(`${path}.${k}`, 'expected a time in seconds');
      s[k] = t;
    }
  if (own(v, 'stack')) s.stack = strings(v.stack, `${path}.stack`);
  if (own(v, 'args')) {
    if (!isObject(v.args)) fail(`${path}.args`, 'expected argument index -> value -> count');
    const args = dict<Record<string, number>>();
    for (const [index, values] of Object.entries(v.args)) {
      if (!/^[0-5]$/.test(index)) fail(`${path}.args.${index}`, 'an argument index is 0..5');
      if (!isObject(values)) fail(`${path}.args.${index}`, 'expected value -> count');
      const out = dict<number>();
      for (const [value, n] of Object.entries(values)) {
        if (value !== '?' && (!/^\d{1,20}$/.test(value) || BigInt(value) > U64))
          fail(`${path}.args.${index}`, `"${value}" is not an unsigned 64-bit value (or "?")`);
        out[value] = count(n, `${path}.args.${index}.${value}`);
      }
      args[index] = out;
    }
    s.args = args;
  }
  return s;
}

/** Parses a recording's text; `file` names it in messages. */
export function parseRecording(text: string, file: string): Recording {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new RecordingError('recording-syntax', '$', `${file} is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw) || raw.version !== RECORDING_VERSION)
    throw new RecordingError(
      'recording-version',
      '$.version',
      `${file} is not a sysfence recording of version ${RECORDING_VERSION}`,
    );
  const known = new Set(['version', 'runs', 'sources', 'syscalls', 'malformed', 'notes', 'programs']);
  for (const k of Object.keys(raw)) if (!known.has(k)) fail(`$.${k}`, `unknown field "${k}"`);
  if (!isObject(raw.syscalls)) fail('$.syscalls', 'expected ABI -> syscall name -> stats');
  const syscalls: Recording['syscalls'] = {};
  for (const [abi, calls] of Object.entries(raw.syscalls)) {
    const path = `$.syscalls.${abi}`;
    if (!ABIS.has(abi)) fail(path, `"${abi}" is not an ABI sysfence knows (x86_64, x86, aarch64, ...)`);
    if (!isObject(calls)) fail(path, 'expected syscall name -> stats');
    const table = syscallTable(abi as ArchId);
    const out = dict<SyscallStats>();
    for (const [key, s] of Object.entries(calls)) {
      const nr = callNumber(abi as ArchId, key);
      if (nr === undefined)
        fail(
          `${path}.${key}`,
          isNumberedName(key)
            ? `"${key}" is not a syscall number (0 to 2^31-1 within the ABI)`
            : `${abi} has no syscall "${key}" (an unknown number is written syscall_0x1b9)`,
        );
      // a number the table names is that name (a hand-edited or older recording): one entry
      const name = table.name(nr) ?? key;
      const st = stats(s, `${path}.${key}`);
      const prev = out[name];
      if (prev) mergeStatsInto(prev, st);
      else out[name] = st;
    }
    syscalls[abi as ArchId] = out;
  }
  const sources: Recording['sources'] = [];
  if (own(raw, 'sources')) {
    if (!Array.isArray(raw.sources)) fail('$.sources', 'expected a list');
    (raw.sources as unknown[]).forEach((src, i) => {
      if (!isObject(src) || typeof src.format !== 'string' || typeof src.file !== 'string')
        fail(`$.sources[${i}]`, 'expected { format, file }');
      const one: Recording['sources'][number] = { format: src.format, file: src.file };
      if (own(src, 'skipped')) one.skipped = count(src.skipped, `$.sources[${i}].skipped`);
      sources.push(one);
    });
  }
  const malformed: Recording['malformed'] = { count: 0, samples: [] };
  if (own(raw, 'malformed')) {
    const m = raw.malformed;
    if (!isObject(m)) fail('$.malformed', 'expected { count, samples }');
    malformed.count = count(m.count, '$.malformed.count');
    if (own(m, 'samples')) {
      if (!Array.isArray(m.samples)) fail('$.malformed.samples', 'expected a list');
      (m.samples as unknown[]).forEach((x, i) => {
        if (
          !isObject(x) ||
          typeof x.where !== 'string' ||
          typeof x.code !== 'string' ||
          typeof x.text !== 'string'
        )
          fail(`$.malformed.samples[${i}]`, 'expected { where, code, text }');
        malformed.samples.push({ where: x.where, code: x.code, text: x.text });
      });
    }
  }
  const out: Recording = { version: RECORDING_VERSION, sources, syscalls, malformed };
  if (own(raw, 'runs')) {
    out.runs = runs(raw.runs, '$.runs');
    for (const [abi, calls] of Object.entries(syscalls))
      for (const [name, s] of Object.entries(calls ?? {}))
        if ((s.runs ?? 1) > out.runs)
          fail(`$.syscalls.${abi}.${name}.runs`, `seen in ${s.runs} runs of a recording of ${out.runs}`);
  }
  if (own(raw, 'notes')) out.notes = strings(raw.notes, '$.notes');
  if (own(raw, 'programs')) out.programs = programs(raw.programs);
  return out;
}

function programs(v: unknown): RecordedProgram[] {
  if (!Array.isArray(v)) fail('$.programs', 'expected a list of { path, root?, loaded?, ranAs? }');
  return (v as unknown[]).map((p, i) => {
    const path = `$.programs[${i}]`;
    if (!isObject(p) || typeof p.path !== 'string' || !p.path.startsWith('/'))
      fail(path, 'expected { path: an absolute path, root?, loaded?, ranAs? }');
    const q = p as Record<string, unknown>;
    for (const k of Object.keys(q))
      if (!['path', 'root', 'loaded', 'ranAs'].includes(k)) fail(`${path}.${k}`, `unknown field "${k}"`);
    const out: RecordedProgram = { path: q.path as string };
    if (own(q, 'root')) {
      if (typeof q.root !== 'string') fail(`${path}.root`, 'expected a string');
      out.root = q.root as string;
    }
    if (own(q, 'loaded')) out.loaded = strings(q.loaded, `${path}.loaded`);
    if (own(q, 'ranAs')) {
      if (typeof q.ranAs !== 'string' || q.ranAs === '' || q.ranAs.startsWith('/'))
        fail(`${path}.ranAs`, 'expected the relative name exec was given ("./tool")');
      out.ranAs = q.ranAs as string;
    }
    return out;
  });
}
