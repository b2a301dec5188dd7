import { basename } from 'node:path';
import type { Command } from 'commander';
import { checkWritable, writeOutput } from '../../exec/files.js';
import {
  isReferenceName,
  REFERENCE_PROFILES,
  type ReferenceName,
  referenceProfile,
} from '../../profile/reference-profiles.js';
import { buildReport } from '../../review/report.js';
import { renderReport } from '../../review/report-html.js';
import { CliError, EXIT_OK } from '../errors.js';
import { err, toJsonText } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { readRecording } from '../recordings.js';
import { parseReviewOptions, reviewOptionsHelp } from './resolve-options.js';
import { parseRuntimeTarget, runtimeOptions } from './runtime-options.js';

const DEFAULT_BASELINE: ReferenceName = 'docker-default';

const collect = (v: string, all: string[] = []) => [...all, v];

export function registerReport(program: Command, setExit: (code: number) => void): void {
  runtimeOptions(reviewOptionsHelp(program.command('report')), 'docker')
    .description(
      'one self-contained HTML page to review a profile: summary, charts, every allowed call, findings, diff',
    )
    .argument('<profile>', 'the profile (Docker/OCI JSON or SPO YAML)')
    .option('--recording <file>', 'a recording that shows who needed each call (repeat for more)', collect)
    .option(
      '--against <baseline>',
      `${Object.keys(REFERENCE_PROFILES).join(' | ')} | a profile file`,
      DEFAULT_BASELINE,
    )
    .option('-o, --output <file>', 'where the HTML goes (report.html)')
    .option('--json', 'print the report data as JSON instead (the numbers the page shows)')
    .option('--title <text>', 'the page title (default: the profile file name)')
    .addHelpText(
      'after',
      `
The page has no script and loads nothing: it can be attached to a review, archived, printed.

Example:
  sysfence report web.json --recording web.rec.json -o web.html`,
    )
    .action((file: string, opts: Record<string, string | string[] | boolean | undefined>) => {
      if (!opts.json && !opts.output) throw new CliError('bad-option', 'give -o report.html (or --json)');
      checkWritable(opts.output as string | undefined, [
        file,
        ...((opts.recording as string[] | undefined) ?? []),
      ]);
      const profile = requireOneProfile(readProfile(file)).profile;
      const against = String(opts.against);
      const baseline = isReferenceName(against)
        ? referenceProfile(against)
        : requireOneProfile(readProfile(against)).profile;
      const recordings = ((opts.recording as string[] | undefined) ?? []).map(readRecording);
      const data = buildReport({
        title: typeof opts.title === 'string' ? opts.title : basename(file),
        profile,
        recordings,
        baselineName: isReferenceName(against) ? REFERENCE_PROFILES[against] : basename(against),
        baseline,
        ...parseReviewOptions(opts),
        target: parseRuntimeTarget(opts),
      });
      if (opts.json) process.stdout.write(toJsonText(data));
      if (opts.output) {
        writeOutput(String(opts.output), renderReport(data));
        err(`sysfence: wrote ${String(opts.output)}`);
      }
      setExit(EXIT_OK);
    });
}
