/** `sysfence import`: logs of other tools -> a Recording. Any number of files, any size, any mix. */
import { basename } from 'node:path';
import type { ArchDef } from '../arch/types.js';
import { SysfenceError } from '../errors.js';
import { peek, readLineBatches, readLineChunks } from '../exec/files.js';
import { type Recording, RecordingBuilder } from '../recording/recording.js';
import { AuditReader } from './audit.js';
import { BpftraceDumpReader } from './bpftrace-dump.js';
import { StraceReader } from './strace.js';
import { SysdigReader } from './sysdig.js';

/** How a format's reader consumes a file: whole byte chunks (strace's fast path) or lines. */
type Reading =
  | { readonly bytes: (chunk: Buffer, start: number, end: number, lineNo: number) => number }
  | { readonly line: (text: string, lineNo: number) => void; readonly skipped?: number };

interface ImportFormatRow {
  readonly id: string;
  /** True when the first lines (up to 50, blank ones dropped) are this format; rows are tried in order. */
  readonly detect: (lines: readonly string[]) => boolean;
  readonly open: (rec: RecordingBuilder, file: string, opts: ImportOptions) => Reading;
}

function straceReader(rec: RecordingBuilder, file: string, opts: ImportOptions, qemu: boolean): Reading {
  // an `strace -ff -o NAME` file is NAME.PID: its lines carry no pid
  const ff = /\.(\d+)$/.exec(basename(file));
  const r = new StraceReader(rec, file, {
    arch: opts.arch,
    ...(ff ? { filePid: Number(ff[1]) } : {}),
    ...(opts.args ? { args: true } : {}),
    ...(qemu ? { qemu: true } : {}),
  });
  return { bytes: (chunk, start, end, n) => r.bytes(chunk, start, end, n) };
}

/**
 * Every log format `import` reads, in detection order (the first whose `detect` holds wins; strace
 * is last, the fallback). Adding a format: a reader module and one row here.
 */
const FORMATS = [
  {
    id: 'audit',
    detect: (ls) => ls.some((l) => /\btype=(?:1326|SECCOMP|1300|SYSCALL)\b/.test(l)),
    open: (rec, file) => new AuditReader(rec, file),
  },
  {
    id: 'bpftrace',
    detect: (ls) => ls.some((l) => /^@[A-Za-z_0-9]*\[/.test(l.trim()) || l.startsWith('{"type": "map"')),
    open: (rec, file, o) => new BpftraceDumpReader(rec, file, o.arch),
  },
  {
    id: 'sysdig',
    detect: (ls) => ls.some((l) => /^\d+ \S+ \d+ .+ \(\d+(?::\d+)?\) [<>] [a-z_0-9]+/.test(l)),
    open: (rec, file, o) => new SysdigReader(rec, file, o.arch),
  },
  {
    id: 'falco',
    detect: (ls) => ls.some((l) => /(?:evt\.type|evt_type|syscall\.type)[=:]/.test(l)),
    open: (rec, file, o) => new SysdigReader(rec, file, o.arch),
  },
  {
    // `sysdig -p "%evt.type"`: one name per line, read as sysdig
    id: 'sysdig-names',
    detect: (ls) => ls.length > 0 && ls.every((l) => /^[a-z_][a-z_0-9]*$/.test(l.trim())),
    open: (rec, file, o) => new SysdigReader(rec, file, o.arch),
  },
  {
    // qemu-user -strace: "= -1 errno=2 (...)", results on lines of their own, "Unknown syscall N"
    id: 'qemu-strace',
    detect: (ls) => ls.some((l) => / = -1 errno=\d+ \(|^ = -?\d|^\d+ Unknown syscall \d+$/.test(l)),
    open: (rec, file, o) => straceReader(rec, file, o, true),
  },
  {
    // `strace -c` / `-C` tables are read by the strace reader too
    id: 'strace-summary',
    detect: () => false,
    open: (rec, file, o) => straceReader(rec, file, o, false),
  },
  { id: 'strace', detect: () => true, open: (rec, file, o) => straceReader(rec, file, o, false) },
] as const satisfies readonly ImportFormatRow[];

/** Formats `--format` accepts (sysdig-names is detected only: it is read as sysdig). */
export const IMPORT_FORMATS = FORMATS.map((f) => f.id).filter(
  (id): id is Exclude<(typeof FORMATS)[number]['id'], 'sysdig-names'> => id !== 'sysdig-names',
);
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportOptions {
  arch: ArchDef;
  /**
   * Whether `arch` was said by the user (not this machine's by default). A qemu-user trace has no
   * ABI in it: without one said, it is refused rather than read as this machine's.
   */
  archGiven?: boolean;
  format?: ImportFormat | 'auto';
  /** strace logs: record checkable argument values (for `generate --args`). */
  args?: boolean;
}

/** The first 64 KiB of a file (for format detection), or a clear error when it cannot be read. */
export function head(file: string): string {
  return peek(file).toString('utf8');
}

/** The format of a log, from its first lines. */
export function detectFormat(text: string): ImportFormat {
  const lines = text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, 50);
  const id = FORMATS.find((f) => f.detect(lines))?.id ?? 'strace';
  return id === 'sysdig-names' ? 'sysdig' : id;
}

/** What is wrong with a file as a log before any line is read (empty, binary), or undefined. */
function unreadableLog(file: string, start: string): SysfenceError | undefined {
  if (start.trim() === '')
    return new SysfenceError(
      'empty-input',
      `${file} is empty: there is no call in it`,
      file,
      'give a strace, qemu -strace, audit, bpftrace, sysdig or falco log',
    );
  // text logs have no NUL bytes; a binary file read as lines would give nothing but errors
  if (start.includes('\u0000'))
    return new SysfenceError(
      'binary-input',
      `${file} is not a text log (it holds NUL bytes): a compressed or binary trace?`,
      file,
      'decompress it first, or for a sysdig capture: sysdig -r FILE > FILE.txt',
    );
  return undefined;
}

/** Imports files into one Recording (lines are streamed; any size). */
export async function importLogs(files: string[], opts: ImportOptions): Promise<Recording> {
  const rec = new RecordingBuilder();
  for (const file of files) {
    const start = head(file);
    const bad = unreadableLog(file, start);
    if (bad) throw bad;
    const format = !opts.format || opts.format === 'auto' ? detectFormat(start) : opts.format;
    if (format === 'qemu-strace' && opts.archGiven === false)
      throw new SysfenceError(
        'qemu-abi-unknown',
        `${file} is a qemu-user -strace log, which does not say which ABI it traced: its numbers and names cannot be judged as this machine's (${opts.arch.id})`,
        file,
        'give the guest ABI: --arch aarch64 (or arm, riscv64, ...)',
      );
    const row: ImportFormatRow = FORMATS.find((f) => f.id === format) ?? FORMATS[FORMATS.length - 1]!;
    const reading = row.open(rec, file, opts);
    let n = 0;
    if ('bytes' in reading) {
      for await (const chunk of readLineChunks(file)) n = reading.bytes(chunk, 0, chunk.length, n);
      rec.source(format, file);
    } else {
      for await (const batch of readLineBatches(file)) for (const line of batch) reading.line(line, ++n);
      rec.source(format, file, reading.skipped);
    }
  }
  return rec.build();
}
