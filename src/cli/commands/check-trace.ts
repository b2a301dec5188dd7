import type { ArchDef } from '../../arch/types.js';
import { workloadUser } from '../../exec/as-user.js';
import { holdStopSignals } from '../../exec/signals.js';
import { importLogs } from '../../recorders/import.js';
import { ebpfProblems, record } from '../../recorders/record.js';
import { exitStatus } from '../../recorders/workload.js';
import type { Recording } from '../../recording/recording.js';
import { CliError } from '../errors.js';
import { err } from '../output.js';
import { isRecordingFile, readRecording } from '../recordings.js';

/**
 * A sysfence recording (a JSON object with "version", keys in any order) or a log any importer
 * reads (strace, audit, bpftrace, sysdig, falco). Nothing read from it is an error: check never
 * passes what it could not read.
 */
export async function readTrace(file: string, arch: ArchDef, archGiven: boolean): Promise<Recording> {
  if (isRecordingFile(file)) {
    const r = readRecording(file);
    if (Object.values(r.syscalls).every((c) => Object.keys(c ?? {}).length === 0))
      throw new CliError(
        'empty-recording',
        `${file} is a recording with no call in it: there is nothing to check, and no pass`,
        file,
        'record the workload again (sysfence record --recording FILE -- CMD)',
      );
    return r;
  }
  const rec = await importLogs([file], { arch, archGiven, format: 'auto', args: true });
  const calls = Object.values(rec.syscalls).reduce((n, c) => n + Object.keys(c ?? {}).length, 0);
  // (an empty or binary file is refused by the importer: empty-input, binary-input)
  if (calls === 0) {
    throw new CliError(
      'unreadable-trace',
      `no syscall could be read from ${file}${rec.malformed.count > 0 ? ` (${rec.malformed.count} lines not understood; first: ${rec.malformed.samples[0]?.where} ${rec.malformed.samples[0]?.code})` : ''}`,
      file,
      'give a sysfence recording, or a strace, audit, bpftrace, sysdig or falco log',
    );
  }
  return rec;
}

/** `check ... -- CMD`: records CMD (its arguments too); a failed command is not judged. */
export async function recordForCheck(
  inputs: string[],
  opts: Record<string, string | undefined>,
  arch: ArchDef,
): Promise<Recording> {
  holdStopSignals(); // a stopped command is written up as failed, never as a pass
  const backend = opts.backend ?? 'auto';
  const engine = backend === 'bpftrace' ? 'bpftrace' : 'sysfence';
  if ((backend === 'ebpf' || backend === 'bpftrace') && ebpfProblems(arch, undefined, engine).length > 0)
    throw new CliError(
      'ebpf-unavailable',
      `eBPF cannot run here: ${ebpfProblems(arch, undefined, engine).join('; ')}`,
    );
  const note = (m: string) => err(`sysfence: ${m}`);
  const user = workloadUser(opts.asRoot !== undefined, note);
  const r = await record({
    backend: backend as 'auto',
    command: inputs,
    arch,
    args: true,
    note,
    ...(user ? { user } : {}),
  });
  if (exitStatus(r.exit) !== 0 && !opts.allowFailure)
    throw new CliError(
      'command-failed',
      `the command exited ${exitStatus(r.exit)}${r.exit.signal ? ` (${r.exit.signal})` : ''}: what it did is not what it does when it works, so check does not judge it`,
      inputs.join(' '),
      'make the command succeed, or pass --allow-failure to judge its calls anyway',
    );
  return r.recording;
}
