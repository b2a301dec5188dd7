import type { ArchDef } from '../../arch/types.js';
import { importLogs } from '../../recorders/import.js';
import type { Recording } from '../../recording/recording.js';
import { CliError } from '../errors.js';
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
