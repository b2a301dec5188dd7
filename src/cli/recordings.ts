import { LIMITS, readText } from '../exec/files.js';
import { head } from '../recorders/import.js';
import { parseRecording, RecordingError } from '../recording/parse-recording.js';
import { normalize, type Recording } from '../recording/recording.js';
import { CliError } from './errors.js';

/** A recording file (from `sysfence record` or `import`), read strictly: a coded error says where it is wrong. */
export function readRecording(file: string): Recording {
  try {
    return normalize(parseRecording(readText(file, LIMITS.recording, 'recording'), file));
  } catch (e) {
    if (e instanceof RecordingError)
      throw new CliError(
        e.code,
        e.message,
        `${file} ${e.path}`,
        e.code === 'recording-invalid' ? undefined : 'make it with `sysfence import` or `sysfence record`',
      );
    throw e;
  }
}

/**
 * Whether a file is a sysfence recording rather than a profile or a log, from its first 64 KiB
 * (a JSON object with a numeric "version" and no "defaultAction"; keys in any order).
 */
export function isRecordingFile(file: string): boolean {
  const first = head(file);
  return /^\s*\{/.test(first) && /"version"\s*:\s*\d/.test(first) && !/"defaultAction"\s*:/.test(first);
}
