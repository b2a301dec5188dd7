// The one place tests start child processes and make temporary directories. Every child has a
// timeout (a hang fails its test with the command named, it never hangs the suite), runs in its own
// process group (so a timeout or the end of a test kills what it started, grandchildren included),
// and never blocks the worker's event loop (vitest's RPC to the main process times out after 60 s
// of a blocked loop and fails the run with every test green). `test/unit/harness.test.ts` fails on
// any other file in test/ that imports node:child_process.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach } from 'vitest';
import { loadProfileText } from '../../src/profile/load.js';
import { beyondDefault } from '../../src/review/baseline-proof.js';

/** The built CLI (npm run build), as users run it. */
export const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

/** Default time a child may take; a test that needs more says so. */
export const CHILD_TIMEOUT_MS = 120_000;

export interface RunOptions {
  /** Milliseconds before the child's whole process group is killed and the call throws. */
  timeout?: number;
  input?: string | Buffer;
  /** Added to (not replacing) the environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** What stdout and stderr are returned as (default utf8). */
  encoding?: 'utf8' | 'buffer';
  /** With `timeout`: return `timedOut: true` instead of throwing. */
  allowTimeout?: boolean;
  /** Stdio of the child (default pipes; 'inherit' for stderr shows a build's progress). */
  stderr?: 'pipe' | 'inherit' | 'ignore';
}

export interface RunResult<T = string> {
  /** Exit status, or null when a signal ended it. */
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: T;
  stderr: T;
  timedOut: boolean;
  /** The child could not start (ENOENT, ...). */
  error?: Error;
}

/** Children of the running test (killed after it) and of the file (killed after the file). */
const live = new Set<ChildProcess>();
const fileLong = new Set<ChildProcess>();
const dirs: string[] = [];

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Runs `cmd args` to its end (or its timeout), without blocking the event loop. */
export function run(
  cmd: string,
  args: readonly string[],
  o: RunOptions & { encoding: 'buffer' },
): Promise<RunResult<Buffer>>;
export function run(cmd: string, args: readonly string[], o?: RunOptions): Promise<RunResult<string>>;
export function run(
  cmd: string,
  args: readonly string[],
  o: RunOptions = {},
): Promise<RunResult<string | Buffer>> {
  const timeout = o.timeout ?? CHILD_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], {
      detached: true,
      stdio: ['pipe', 'pipe', o.stderr ?? 'pipe'],
      env: { ...process.env, ...o.env },
      ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
    });
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => err.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeout);
    const text = (b: Buffer[]) =>
      o.encoding === 'buffer' ? Buffer.concat(b) : Buffer.concat(b).toString('utf8');
    let startError: Error | undefined;
    child.on('error', (e) => {
      startError = e;
    });
    child.stdin?.on('error', () => {
      // the child closed its stdin early: what it wrote is still returned
    });
    if (o.input !== undefined) child.stdin?.end(o.input);
    else child.stdin?.end();
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      live.delete(child);
      const r: RunResult<string | Buffer> = {
        status,
        signal,
        stdout: text(out),
        stderr: text(err),
        timedOut,
        ...(startError ? { error: startError } : {}),
      };
      if (timedOut && !o.allowTimeout)
        reject(
          new Error(
            `timed out after ${timeout} ms: ${cmd} ${args.join(' ')}\n--- stderr ---\n${String(r.stderr).slice(-4000)}`,
          ),
        );
      else resolve(r);
    });
  });
}

/**
 * For module-level probes only (is docker running, does a tool exist): a short synchronous run
 * with a hard timeout (default 20 s). Never for the work of a test.
 */
export function probe(
  cmd: string,
  args: readonly string[],
  timeout = 20_000,
): { status: number | null; stdout: string } {
  const r = spawnSync(cmd, [...args], {
    encoding: 'utf8',
    timeout,
    killSignal: 'SIGKILL',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return { status: r.error ? null : r.status, stdout: r.stdout ?? '' };
}

/** `sysfence ARGS` as a user runs it (no colour). */
export function sysfence(
  args: readonly string[],
  o: Omit<RunOptions, 'encoding'> = {},
): Promise<RunResult<string>> {
  return run('node', [BIN, ...args], { ...o, env: { NO_COLOR: '1', ...o.env } });
}

export interface Started {
  child: ChildProcess;
  pid: number;
  /** Everything written so far. */
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal to the child alone, or with `group` to its process group (a terminal's Ctrl-C). */
  signal: (s: NodeJS.Signals, group?: boolean) => void;
}

/**
 * Starts `cmd args` in its own process group and returns at once; whatever is still running when
 * the test ends is killed (group and all). `timeout` bounds its life all the same.
 */
export function start(
  cmd: string,
  args: readonly string[],
  o: Omit<RunOptions, 'input' | 'encoding' | 'allowTimeout'> & {
    stdout?: 'pipe' | 'ignore';
    /** 'file': a server for the whole file (started in beforeAll), killed when the file ends. */
    scope?: 'test' | 'file';
  } = {},
): Started {
  const child = spawn(cmd, [...args], {
    detached: true,
    stdio: ['ignore', o.stdout ?? 'pipe', o.stderr ?? 'pipe'],
    env: { ...process.env, ...o.env },
    ...(o.cwd !== undefined ? { cwd: o.cwd } : {}),
  });
  const set = o.scope === 'file' ? fileLong : live;
  set.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  const timer = setTimeout(
    () => killGroup(child),
    o.timeout ?? (o.scope === 'file' ? 30 * 60_000 : CHILD_TIMEOUT_MS),
  );
  timer.unref();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => {
    child.on('error', () => r({ code: null, signal: null }));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      set.delete(child);
      r({ code, signal });
    });
  });
  return {
    child,
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exit,
    signal: (s, group = false) => {
      if (child.pid === undefined) return;
      try {
        process.kill(group ? -child.pid : child.pid, s);
      } catch {
        // gone
      }
    },
  };
}

/** `sysfence ARGS` started in the background (see start). */
export function startSysfence(args: readonly string[], o: Parameters<typeof start>[2] = {}): Started {
  return start('node', [BIN, ...args], { ...o, env: { NO_COLOR: '1', ...o.env } });
}

/** A fresh directory (under the system's temporary directory, or `parent`), removed when the test file ends. */
export function tempDir(prefix = 'sysfence-test-', parent = tmpdir()): string {
  const d = mkdtempSync(join(parent, prefix));
  dirs.push(d);
  return d;
}

/** Polls `check` every 50 ms until it holds, or throws naming `what` after `ms`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Lets other work (vitest's RPC among it) run: call between chunks of CPU-heavy work. */
export const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

async function killAll(set: Set<ChildProcess>): Promise<void> {
  const left = [...set];
  for (const c of left) killGroup(c);
  // wait for them to be gone so the next test starts clean
  await Promise.all(
    left.map(
      (c) =>
        new Promise<void>((r) => {
          if (c.exitCode !== null || c.signalCode !== null) r();
          else {
            c.once('close', () => r());
            setTimeout(r, 5_000);
          }
        }),
    ),
  );
}

afterEach(() => killAll(live));

/**
 * Every profile sysfence generates, learns or merges while this file's tests run (it appends each
 * to SYSFENCE_AUDIT_LOG; every child inherits the variable) is proven never weaker than Docker's
 * default once the file's tests are done: the semantic diff, except the calls named on purpose.
 */
const AUDIT_LOG = join(tmpdir(), `sysfence-audit-${process.pid}-${randomUUID()}.jsonl`);
process.env.SYSFENCE_AUDIT_LOG = AUDIT_LOG;

function proveAudited(): void {
  if (!existsSync(AUDIT_LOG)) return;
  const lines = readFileSync(AUDIT_LOG, 'utf8').split('\n').filter(Boolean);
  rmSync(AUDIT_LOG, { force: true });
  const weaker: string[] = [];
  let proven = 0;
  for (const line of lines) {
    const e = JSON.parse(line) as {
      command: string;
      what: string;
      exempt: string[];
      format: string;
      text: string;
      output?: string;
    };
    const loaded = loadProfileText(e.text);
    const profile = loaded.profiles[0]?.profile;
    if (!profile) {
      weaker.push(
        `${e.command} ${e.what} ${e.output ?? '(stdout)'}: the written ${e.format} profile does not read back`,
      );
      continue;
    }
    proven++;
    const b = beyondDefault(profile, { exempt: e.exempt });
    if (b.changes.length > 0)
      weaker.push(
        `${e.command} ${e.what} ${e.output ?? '(stdout)'}: allows more than Docker's default: ${b.changes.map((c) => `${c.arch} ${c.name}`).join(', ')}`,
      );
  }
  mkdirSync('test-results', { recursive: true });
  appendFileSync(join('test-results', 'never-weaker.txt'), `${proven}\n`);
  if (weaker.length > 0)
    throw new Error(`profiles sysfence wrote are weaker than Docker's default:\n${weaker.join('\n')}`);
}

afterAll(async () => {
  await killAll(live);
  await killAll(fileLong);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  proveAudited();
});

afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The stdout of a child that must succeed (exit 0); otherwise an error with its stderr. */
export async function ok(r: Promise<RunResult<string>>): Promise<string> {
  const x = await r;
  if (x.status !== 0)
    throw new Error(
      `exit ${x.status ?? x.signal}${x.error ? ` (${x.error.message})` : ''}\n${x.stderr.slice(-4000)}`,
    );
  return x.stdout;
}
