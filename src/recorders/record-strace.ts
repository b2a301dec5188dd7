/**
 * The ptrace backend: one `strace -f` process writing into a FIFO that is parsed as a stream (no
 * log file grows on disk). Arguments are printed raw (hex numbers: cheap for strace to format,
 * exact for argument rules), except execve/execveat whose path names the executable.
 */
import { closeSync, constants, createWriteStream, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArchDef } from '../arch/types.js';
import { userEnv, type WorkloadUser } from '../exec/as-user.js';
import { readLineChunks } from '../exec/files.js';
import { undoOnDeath } from '../exec/reaper.js';
import { findOnPath, runTool, startProcess, ToolError } from '../exec/run.js';
import { descendants, forwardAs, onStopSignal, signalAll, throwIfStopped } from '../exec/signals.js';
import type { RecordingBuilder } from '../recording/recording.js';
import { StraceReader } from './strace.js';
import type { WorkloadExit } from './workload.js';

export interface StraceRecordOptions {
  arch: ArchDef;
  command: readonly string[];
  args: boolean;
  /** Also keep strace's raw log here (for bug reports); by default nothing is written. */
  keepLog?: string;
  /** Run the workload as this user (strace -u: its uid, gid and groups), root otherwise. */
  user?: WorkloadUser;
}

/**
 * strace's flags for a recording: every call raw (numbers, as --args reads them) but execve (its
 * path names the program) and, without --args, open and openat (the shared objects a process
 * loads, dlopen'd ones included, named in the recording's programs for static reach).
 */
export function straceFlags(args: boolean): string[] {
  return [
    '-f',
    // keep "[ Process PID=N runs in 32 bit mode. ]" (which -q would hide), drop attach/exit chatter
    '-e',
    'quiet=attach,exit,path-resolution',
    '-e',
    'signal=none',
    '-e',
    args ? 'raw=!execve,execveat' : 'raw=!execve,execveat,open,openat',
  ];
}

export async function recordWithStrace(rec: RecordingBuilder, o: StraceRecordOptions): Promise<WorkloadExit> {
  if (findOnPath('strace') === undefined)
    throw new ToolError(
      'tool-missing',
      'strace',
      'strace is not installed: apt-get install strace (or use --backend ebpf)',
    );
  throwIfStopped('the workload');
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-strace-'));
  const forgetDir = undoOnDeath('path', dir);
  const fifo = join(dir, 'trace');
  runTool('mkfifo', ['-m', '600', fifo]);
  const where = o.keepLog ?? 'strace';
  rec.source('strace', o.command.join(' '));
  const reader = new StraceReader(rec, where, { arch: o.arch, args: o.args });
  const child = startProcess(
    'strace',
    [...straceFlags(o.args), ...(o.user ? ['-u', o.user.name] : []), '-o', fifo, '--', ...o.command],
    { stdio: 'inherit', env: userEnv(o.user) },
  );
  // if sysfence dies, strace and the workload it traces go too (its tracees would run on, detached)
  const forgetTree = child.pid !== undefined ? undoOnDeath('tree', String(child.pid)) : () => {};
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
  // strace with -o and a command blocks the stop signals itself (its -I3 default) and keeps
  // tracing until the workload ends; a stop signal goes on to the workload (strace's descendants),
  // a second one kills it, and sysfence reads the rest of the trace and writes the recording.
  const offSignals = onStopSignal((sig, count) => {
    const as = forwardAs(sig, count);
    if (as && child.pid) signalAll(descendants(child.pid), as);
  });
  let ended = false;
  void exited.then(
    () => {
      ended = true;
    },
    () => {
      ended = true;
    },
  );
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
    offSignals();
    // an error path (the trace could not be read): neither strace nor the workload outlives sysfence
    if (!ended && child.pid) {
      signalAll(descendants(child.pid), 'SIGKILL');
      signalAll([child.pid], 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
    forgetDir();
    forgetTree();
  }
}
