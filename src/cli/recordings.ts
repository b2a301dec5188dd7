import { LIMITS, readText } from '../exec/files.js';
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
