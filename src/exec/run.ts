/** The one seam for child processes: run a tool, collect its output, say clearly when it is missing. */

import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { SysfenceError } from '../errors.js';

/** Where execvp would find `tool` (an executable file in PATH), or undefined. */
export function findOnPath(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir === '' ? '.' : dir, tool);
    try {
      accessSync(p, constants.X_OK);
      if (statSync(p).isFile()) return p;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** A tool sysfence runs is missing, failed, or cannot be used here. */
export class ToolError extends SysfenceError {
  constructor(
    code: string,
    readonly tool: string,
    message: string,
    hint?: string,
  ) {
    super(code, message, undefined, hint);
    this.name = 'ToolError';
  }
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export interface RunToolOptions {
  input?: string;
  hint?: string;
  timeoutMs?: number;
}

function startError(cmd: string, e: NodeJS.ErrnoException, hint?: string): ToolError {
  if (e.code === 'ENOENT')
    return new ToolError('tool-missing', cmd, `${cmd} is not installed${hint ? ` (${hint})` : ''}`);
  if (e.code === 'ETIMEDOUT')
    return new ToolError('tool-timeout', cmd, `${cmd} did not finish in time and was stopped`);
  return new ToolError('tool-failed', cmd, `${cmd} could not run: ${e.message}`);
}

export function runTool(cmd: string, args: string[], opts: RunToolOptions = {}): RunResult {
  const r = spawnSync(cmd, args, {
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 600_000,
    killSignal: 'SIGKILL',
  });
  if (r.error) throw startError(cmd, r.error as NodeJS.ErrnoException, opts.hint);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** runTool without blocking the event loop (a library caller that does other work meanwhile). */
export function runToolAsync(cmd: string, args: string[], opts: RunToolOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failed: NodeJS.ErrnoException | undefined;
    const timer = setTimeout(() => {
      failed = Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 600_000);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {
      // the tool closed its input early; its answer says why
    });
    child.on('error', (e) => {
      failed = e;
    });
    child.stdin.end(opts.input ?? '');
    child.on('close', (status) => {
      clearTimeout(timer);
      if (failed) reject(startError(cmd, failed, opts.hint));
      else
        resolve({
          status: status ?? -1,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
    });
  });
}

/**
 * Starts a child that runs alongside sysfence (a workload, a tracer, a log follower). Every child
 * process sysfence makes starts here or in runTool: the seam tests and reviews look at.
 */
export function startProcess(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(cmd, [...args], options);
}

/** Resolves once `check()` holds (polled every 2 ms), or fails with `record-timeout` after `timeoutMs`. */
export function waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const start = Date.now();
  return new Promise((res, rej) => {
    const tick = () => {
      if (check()) res();
      else if (Date.now() - start > timeoutMs) rej(new ToolError('record-timeout', 'sysfence', what));
      else setTimeout(tick, 2);
    };
    tick();
  });
}
