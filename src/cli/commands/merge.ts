import type { Command } from 'commander';
import { checkWritable, writeOutput } from '../../exec/files.js';
import { serializeDocker } from '../../profile/serialize-docker.js';
import { mergeRecordings, serializeRecording } from '../../recording/recording.js';
import { beyondDefault } from '../../review/baseline-proof.js';
import { diffProfiles } from '../../review/diff.js';
import { mergeProfiles } from '../../review/merge.js';
import { auditProfile } from '../audit-log.js';
import { CliError, EXIT_OK } from '../errors.js';
import { exactForRuntimes } from '../exact.js';
import { err } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { isRecordingFile, readRecording } from '../recordings.js';
import { requireWithinDefault } from '../within-default.js';

import { parseReviewOptions, reviewOptionsHelp } from './resolve-options.js';

export function registerMerge(program: Command, setExit: (code: number) => void): void {
  reviewOptionsHelp(program.command('merge'))
    .description(
      'the least profile that allows everything any input allows; or recordings of several runs as one',
    )
    .argument('<inputs...>', 'two or more profiles (Docker/OCI JSON or SPO YAML), or two or more recordings')
    .option('-o, --output <file>', 'write the merged profile here instead of stdout')
    .addHelpText(
      'after',
      `
Per architecture and syscall: allowed by any input -> allowed; allowed for some argument values
-> every input's allowing argument rules; denied by all -> the least strict denial (ERRNO before
TRAP before KILL, ENOSYS first). Each conflict and how it was resolved goes to stderr. The inputs'
includes/excludes are resolved for --capabilities and --kernel. The result is checked: it must
allow everything each input allows.

Example:
  sysfence merge web.json worker.json cron.json -o app.json

Recordings (from record or import) of separate runs merge into one recording that counts the runs
and, per call, how many of them made it: generate, explain --recording and report then name the
calls only some runs needed (the fragile ones: another input may need a call no run made).
  sysfence merge small.rec.json large.rec.json error.rec.json -o app.rec.json`,
    )
    .action((files: string[], opts: Record<string, string | undefined>) => {
      checkWritable(opts.output, files);
      if (files.length < 2) throw new CliError('no-input', 'merge takes two or more profiles');
      const recs = files.map(isRecordingFile);
      if (recs.some(Boolean)) {
        const other = files.find((_, i) => !recs[i]);
        if (other !== undefined)
          throw new CliError(
            'merge-mixed',
            `${other} is not a recording, the others are: merge takes either profiles or recordings`,
            other,
          );
        const merged = mergeRecordings(files.map(readRecording), true);
        const text = serializeRecording(merged);
        if (opts.output) writeOutput(opts.output, text);
        else process.stdout.write(text);
        err(`sysfence: ${merged.runs ?? 1} runs merged`);
        setExit(EXIT_OK);
        return;
      }
      const inputs = files.map((f) => ({ name: f, profile: requireOneProfile(readProfile(f)).profile }));
      const o = parseReviewOptions(opts);
      const m = mergeProfiles(inputs, o);
      for (const c of m.conflicts) err(`sysfence: conflict: ${c}`);
      m.profile = exactForRuntimes(m.profile);
      // the merged profile allows past Docker's default only what an input already did (said)
      const own = [
        ...new Set(inputs.flatMap((i) => beyondDefault(i.profile).changes.map((c) => c.name))),
      ].sort();
      if (own.length > 0)
        err(
          `sysfence: warning[beyond-default]: the inputs allow more than Docker's default for ${own.join(', ')}: the merged profile does too`,
        );
      requireWithinDefault(m.profile, own, 'the merged profile');
      for (const i of inputs) {
        const lost = diffProfiles(i.profile, m.profile, o).changes.filter((c) => c.allowsLess);
        if (lost.length > 0)
          throw new CliError(
            'merge-incomplete',
            `the merged profile denies what ${i.name} allows: ${lost.map((c) => `${c.arch} ${c.name}`).join(', ')}`,
            i.name,
          );
      }
      const text = serializeDocker(m.profile);
      if (opts.output) writeOutput(opts.output, text);
      else process.stdout.write(text);
      auditProfile({ what: 'merged', exempt: own, format: 'docker', text, output: opts.output });
      setExit(EXIT_OK);
    });
}
