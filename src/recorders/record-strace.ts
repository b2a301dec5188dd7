/**
 * The ptrace backend: one `strace -f` process writing into a FIFO that is parsed as a stream (no
 * log file grows on disk). Arguments are printed raw (hex numbers: cheap for strace to format,
 * exact for argument rules), except execve/execveat whose path names the executable.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, createWriteStream, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArchDef } from '../arch/types.js';
import { readLineChunks } from '../exec/files.js';
import { findOnPath, runTool, ToolError } from '../exec/run.js';
import type { RecordingBuilder } from './recording.js';
import { StraceReader } from './strace.js';
import type { WorkloadExit } from './workload.js';

export interface StraceRecordOptions {
  arch: ArchDef;
  command: readonly string[];
  args: boolean;
  /** Also keep strace's raw log here (for bug reports); by default nothing is written. */
  keepLog?: string;
}

export const STRACE_FLAGS = [
  '-f',
  // keep "[ Process PID=N runs in 32 bit mode. ]" (which -q would hide), drop attach/exit chatter
  '-e',
  'quiet=attach,exit,path-resolution',
  '-e',
  'signal=none',
  '-e',
  'raw=!execve,execveat',
];

export async function recordWithStrace(rec: RecordingBuilder, o: StraceRecordOptions): Promise<WorkloadExit> {
  if (findOnPath('strace') === undefined)
    throw new ToolError(
      'tool-missing',
      'strace',
      'strace is not installed: apt-get install strace (or use --backend ebpf)',
    );
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-strace-'));
  const fifo = join(dir, 'trace');
  runTool('mkfifo', ['-m', '600', fifo]);
  const where = o.keepLog ?? 'strace';
  rec.source('strace', o.command.join(' '));
  const reader = new StraceReader(rec, where, { arch: o.arch, args: o.args });
  const child = spawn('strace', [...STRACE_FLAGS, '-o', fifo, '--', ...o.command], { stdio: 'inherit' });
  const exited = new Promise<WorkloadExit>((res, rej) => {
    child.on('error', (e) =>
      rej(new ToolError('tool-failed', 'strace', `strace could not start: ${e.message}`)),
    );
    child.on('exit', (code, signal) => {
      // strace never opened the FIFO (bad arguments, ...): open its write end so the reader ends
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // no reader waiting: nothing to unblock
      }
      res({ code, signal });
    });
  });
  // SIGINT goes to the whole foreground group (strace and the workload); sysfence keeps going
  // to read the rest of the trace and write the recording.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  try {
    let n = 0;
    const keep = o.keepLog ? createWriteStream(o.keepLog) : undefined;
    // 5 ms between short reads: the pipe (64 KiB) holds ~25 ms of strace's fastest output
    for await (const chunk of readLineChunks(fifo, { pauseMs: 5 })) {
      n = reader.bytes(chunk, 0, chunk.length, n);
      if (keep) keep.write(Buffer.concat([chunk, Buffer.from('\n')]));
    }
    keep?.end();
    return await exited;
  } finally {
    process.off('SIGINT', ignore);
    rmSync(dir, { recursive: true, force: true });
  }
}
