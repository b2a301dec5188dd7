/** `sysfence import`: logs of other tools -> a Recording. Any number of files, any size, any mix. */
import { basename } from 'node:path';
import type { ArchDef } from '../arch/types.js';
import { peek, readLineBatches, readLineChunks } from '../exec/files.js';
import { type Recording, RecordingBuilder } from '../recording/recording.js';
import { AuditReader } from './audit.js';
import { BpftraceDumpReader } from './bpftrace-dump.js';
import { StraceReader } from './strace.js';
import { SysdigReader } from './sysdig.js';

/** Formats `--format` accepts (strace-summary, a -c/-C table, is read by the strace reader). */
export const IMPORT_FORMATS = [
  'strace-summary',
  'strace',
  'qemu-strace',
  'sysdig',
  'falco',
  'audit',
  'bpftrace',
] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportOptions {
  arch: ArchDef;
  format?: ImportFormat | 'auto';
  /** strace logs: record checkable argument values (for `generate --args`). */
  args?: boolean;
}

interface LineReader {
  line(text: string, lineNo: number): void;
  skipped?: number;
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
  if (lines.some((l) => /\btype=(?:1326|SECCOMP|1300|SYSCALL)\b/.test(l))) return 'audit';
  if (lines.some((l) => /^@[A-Za-z_0-9]*\[/.test(l.trim()) || l.startsWith('{"type": "map"')))
    return 'bpftrace';
  if (lines.some((l) => /^\d+ \S+ \d+ .+ \(\d+(?::\d+)?\) [<>] [a-z_0-9]+/.test(l))) return 'sysdig';
  if (lines.some((l) => /(?:evt\.type|evt_type|syscall\.type)[=:]/.test(l))) return 'falco';
  if (lines.length > 0 && lines.every((l) => /^[a-z_][a-z_0-9]*$/.test(l.trim()))) return 'sysdig';
  // qemu-user -strace: "= -1 errno=2 (...)", results on lines of their own, "Unknown syscall N"
  if (lines.some((l) => / = -1 errno=\d+ \(|^ = -?\d|^\d+ Unknown syscall \d+$/.test(l)))
    return 'qemu-strace';
  return 'strace';
}

/** Imports files into one Recording (lines are streamed; any size). */
export async function importLogs(files: string[], opts: ImportOptions): Promise<Recording> {
  const rec = new RecordingBuilder();
  for (const file of files) {
    const format = !opts.format || opts.format === 'auto' ? detectFormat(head(file)) : opts.format;
    let n = 0;
    if (format === 'strace' || format === 'strace-summary' || format === 'qemu-strace') {
      // an `strace -ff -o NAME` file is NAME.PID: its lines carry no pid
      const ff = /\.(\d+)$/.exec(basename(file));
      const reader = new StraceReader(rec, file, {
        arch: opts.arch,
        ...(ff ? { filePid: Number(ff[1]) } : {}),
        ...(opts.args ? { args: true } : {}),
        ...(format === 'qemu-strace' ? { qemu: true } : {}),
      });
      for await (const chunk of readLineChunks(file)) n = reader.bytes(chunk, 0, chunk.length, n);
      rec.source(format, file);
      continue;
    }
    let reader: LineReader;
    if (format === 'audit') reader = new AuditReader(rec, file);
    else if (format === 'bpftrace') reader = new BpftraceDumpReader(rec, file, opts.arch);
    else reader = new SysdigReader(rec, file, opts.arch);
    for await (const batch of readLineBatches(file)) for (const line of batch) reader.line(line, ++n);
    rec.source(format, file, reader.skipped);
  }
  return rec.build();
}
