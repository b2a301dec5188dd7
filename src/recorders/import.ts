/** `sysfence import`: logs of other tools -> a Recording. */
import { basename } from 'node:path';
import type { ArchDef } from '../arch/types.js';
import { readLineBatches } from '../exec/files.js';
import { type Recording, RecordingBuilder } from './recording.js';
import { StraceReader } from './strace.js';

export type ImportFormat = 'strace';

export interface ImportOptions {
  arch: ArchDef;
  format?: ImportFormat | 'auto';
}

/** Imports files into one Recording (lines are streamed; any size). */
export async function importLogs(files: string[], opts: ImportOptions): Promise<Recording> {
  const rec = new RecordingBuilder();
  for (const file of files) {
    rec.source('strace', file);
    // an `strace -ff -o NAME` file is NAME.PID: its lines carry no pid
    const ff = /\.(\d+)$/.exec(basename(file));
    const reader = new StraceReader(
      rec,
      file,
      ff ? { arch: opts.arch, filePid: Number(ff[1]) } : { arch: opts.arch },
    );
    let n = 0;
    for await (const batch of readLineBatches(file)) for (const line of batch) reader.line(line, ++n);
  }
  return rec.build();
}
