import { stopSignalReceived } from '../../exec/signals.js';
import { CliError } from '../errors.js';
import { err, shellLine } from '../output.js';

export function durationOption(v: unknown): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError('bad-option', `--duration takes seconds (> 0), not ${String(v)}`);
  return n;
}

/** A run a stop signal ended is written, and said to be partial. */
export function sayStopped(): void {
  const sig = stopSignalReceived();
  if (sig)
    err(
      `sysfence: stopped by ${sig}: the recording covers the run until then (a profile from it may miss calls the rest would make)`,
    );
}

/**
 * What to do next, once, after a recording: one run shows one path through the program. Said in a
 * short paragraph, not per call; which streams were a terminal is said because programs choose
 * calls by it (cat copies with copy_file_range only into a regular file, xz polls a full pipe).
 */
export function adviseNext(
  profile: string | undefined,
  command: readonly string[],
  engineFlag?: string,
): void {
  const tty = (['stdin', 'stdout'] as const).filter((s) => process[s].isTTY);
  const next = shellLine([
    'sysfence',
    'learn',
    profile ?? 'PROFILE',
    '-o',
    profile ? profile.replace(/(\.json)?$/, '.next.json') : 'NEXT',
    ...(engineFlag ? [engineFlag] : []),
    '--',
  ]);
  const cmd = command.length > 0 ? shellLine(command) : 'CMD';
  err(
    `sysfence: next: a recording shows the path this one input took. ${tty.length > 0 ? `Its ${tty.join(' and ')} ${tty.length === 1 ? 'was a terminal' : 'were terminals'}: record it with the redirections it really runs with (files, pipes, sockets), since programs pick calls by them. ` : ''}Record each kind of input (sysfence merge a.rec.json b.rec.json: one recording, with the calls only some runs made named), and before enforcing, run more inputs with nothing blocked: ${next} ${cmd}`,
  );
}

export function signalOption(v: unknown): NodeJS.Signals {
  const name = String(v).toUpperCase();
  const sig = (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals;
  if (!['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGTERM'].includes(sig))
    throw new CliError('bad-option', `--until-signal takes USR1, USR2, HUP or TERM, not ${String(v)}`);
  return sig;
}
