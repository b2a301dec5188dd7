import { existsSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { workloadUser } from '../../exec/as-user.js';
import { writeOutput } from '../../exec/files.js';
import { stopSignalReceived } from '../../exec/signals.js';
import { generate } from '../../profile/generate.js';
import type { SpoVersion } from '../../profile/spo.js';
import { type BackendChoice, record } from '../../recorders/record.js';
import { exitStatus } from '../../recorders/workload.js';
import { HOST_ROOT, placePrograms, serializeRecording } from '../../recording/recording.js';
import { CliError } from '../errors.js';
import { reportGenerated, writeGenerated } from '../generated.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';
import { generateOptionsOf } from '../profile-options.js';
import { predictionFor } from '../static-reach.js';
import { adviseNext, sayStopped } from './record-helpers.js';

/** record -- CMD: a command on this machine, with eBPF or strace; then its profile. */
export async function recordCommand(
  command: string[],
  opts: Record<string, string | boolean | undefined>,
  setExit: (code: number) => void,
): Promise<void> {
  const backend = String(opts.backend);
  const arch = hostArch();
  const ro: Parameters<typeof record>[0] = {
    backend: backend as BackendChoice,
    command,
    arch,
    args: opts.args === true,
    note: (m) => err(`sysfence: ${m}`),
  };
  const user = workloadUser(opts.asRoot === true, ro.note);
  if (user) ro.user = user;
  if (opts.mapKeys !== undefined) {
    const n = Number(opts.mapKeys);
    if (!Number.isInteger(n) || n < 1024)
      throw new CliError('bad-option', `--map-keys must be an integer >= 1024, not ${String(opts.mapKeys)}`);
    ro.mapKeys = n;
  }
  if (opts.keepStraceLog) ro.keepLog = String(opts.keepStraceLog);
  const r = await record(ro);
  sayStopped();
  // a program exec'd by a relative name ("./tool") is looked for where the command started
  const started = process.cwd();
  placePrograms(r.recording, HOST_ROOT, (name) => {
    const abs = resolvePath(started, name);
    return existsSync(abs) ? abs : undefined;
  });
  if (opts.recording) writeOutput(String(opts.recording), serializeRecording(r.recording));
  const counts = Object.entries(r.recording.syscalls).map(
    ([abi, m]) =>
      `${abi}: ${Object.keys(m ?? {}).length} syscalls, ${Object.values(m ?? {}).reduce((n, s) => n + s.count, 0)} calls`,
  );
  err(
    `sysfence: recorded with ${r.backend}${r.ebpf ? ` (${r.ebpf.engine === 'sysfence' ? "sysfence's program" : 'bpftrace'}, attached in ${r.ebpf.startupMs.toFixed(0)} ms, scoped by ${r.ebpf.scope})` : ''}: ${counts.join('; ') || 'no syscalls'}`,
  );
  if (opts.output) {
    const predicted = await predictionFor([r.recording], opts, (l) => err(`sysfence: ${l}`));
    const g = generate([r.recording], {
      ...generateOptionsOf(opts),
      ...(predicted ? { predicted } : {}),
      args: opts.args === true,
    });
    reportGenerated(g, true);
    writeGenerated(
      g,
      String(opts.format),
      String(opts.name),
      String(opts.output),
      opts.spoVersion as SpoVersion,
    );
    err(`sysfence: wrote ${String(opts.output)}`);
  } else if (!opts.recording) err('sysfence: nothing written: give -o PROFILE and/or --recording FILE');
  if ((opts.output || opts.recording) && !stopSignalReceived())
    adviseNext(opts.output as string | undefined, command);
  setExit(exitStatus(r.exit));
}
