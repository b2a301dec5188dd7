/**
 * SIGINT, SIGTERM and SIGHUP while sysfence runs a workload: whoever sends them (a terminal's
 * Ctrl-C, `kill`, a closed terminal, a CI runner stopping the job), sysfence stops the workload,
 * detaches its tracer, writes what was recorded and the report so far, and removes what it
 * created, instead of dying with everything left behind. A second signal kills the workload.
 * The command then exits 128 + the first signal's number (130, 143, 129), as a shell would.
 *
 * Commands that run no workload keep the default: the signal ends them (their outputs are written
 * through a temp file and a rename, so an interrupted write leaves the old file whole).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { ToolError } from './run.js';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

let first: StopSignal | undefined;
let count = 0;
let installed = false;
const listeners = new Set<(sig: StopSignal, count: number) => void>();
/** Signals a command asked for as its own ending (record --docker --until-signal TERM). */
const expected = new Set<NodeJS.Signals>();

let stopNote: ((line: string) => void) | undefined;

/** Where the first stop signal is said (the CLI's stderr): a workload that ignores it is waited for. */
export function setStopNote(note: (line: string) => void): void {
  stopNote = note;
}

function onSignal(sig: NodeJS.Signals): void {
  if (expected.has(sig)) return;
  first ??= sig as StopSignal;
  count++;
  if (count === 1 && listeners.size > 0)
    stopNote?.(`${sig}: stopping the workload and writing what was recorded (a second signal kills it)`);
  if (listeners.size === 0 && count > 1) {
    // nothing of a workload is running (sysfence is reading or writing): a second signal ends it
    process.exit(128 + (constants.signals[first] ?? 0));
  }
  for (const l of [...listeners]) l(sig as StopSignal, count);
}

/**
 * From now on the stop signals do not end sysfence: they are noted (the exit status says so) and
 * passed to whoever listens (the recorder running the workload). Commands that run a workload call
 * this first, so that a signal before the workload starts stops it from starting.
 */
export function holdStopSignals(): void {
  if (installed) return;
  installed = true;
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
}

/** `sig` is this command's own way to end (record --docker --until-signal): not a stop. */
export function expectSignal(sig: NodeJS.Signals): () => void {
  expected.add(sig);
  return () => expected.delete(sig);
}

/** The first stop signal sysfence received, if any. */
export function stopSignalReceived(): StopSignal | undefined {
  return first;
}

/** The exit status of a command a stop signal ended (128 + its number), if one did. */
export function stopExitStatus(): number | undefined {
  return first === undefined ? undefined : 128 + (constants.signals[first] ?? 0);
}

/** While installed, the stop signals call `handler` (with how many arrived) instead of ending sysfence. */
export function onStopSignal(handler: (sig: StopSignal, count: number) => void): () => void {
  holdStopSignals();
  listeners.add(handler);
  return () => {
    listeners.delete(handler);
  };
}

/** A stop signal arrived before the workload started: it is not started. */
export function throwIfStopped(what: string): void {
  if (first !== undefined)
    throw new ToolError(
      'interrupted',
      'sysfence',
      `${first} received before ${what} started: it was not started`,
    );
}

/**
 * The signal to pass on to the workload: SIGINT from a terminal already reached it (it shares the
 * terminal's foreground group), so it is passed on only when there is no terminal; a second signal
 * is SIGKILL.
 */
export function forwardAs(sig: StopSignal, n: number): NodeJS.Signals | undefined {
  if (n > 1) return 'SIGKILL';
  if (sig === 'SIGINT' && process.stdin.isTTY) return undefined;
  return sig;
}

/** Sends a signal to each pid, ignoring the ones already gone. */
export function signalAll(pids: Iterable<number>, sig: NodeJS.Signals): void {
  for (const p of pids)
    try {
      process.kill(p, sig);
    } catch {
      // gone
    }
}

/** Every descendant of `pid` (children, theirs, ...), from /proc; parents before children. */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    for (const c of children.get(p) ?? []) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}
