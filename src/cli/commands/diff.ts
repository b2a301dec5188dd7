import { type Command, Option } from 'commander';
import { diffProfiles, formatDiffMarkdown, formatDiffText } from '../../review/diff.js';
import { EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { out, toJsonText } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { parseReviewOptions, reviewOptionsHelp } from './resolve-options.js';
import { parseRuntimeTarget, runtimeOptions } from './runtime-options.js';

export function registerDiff(program: Command, setExit: (code: number) => void): void {
  runtimeOptions(reviewOptionsHelp(program.command('diff')), 'docker')
    .description('semantic diff of two profiles: which verdicts changed, per architecture and syscall')
    .argument('<old>', 'the profile before (Docker/OCI JSON or SPO YAML)')
    .argument('<new>', 'the profile after')
    .addOption(
      new Option('--format <fmt>', 'the output format').choices(['text', 'json', 'markdown']).default('text'),
    )
    .addHelpText(
      'after',
      `
Both profiles are resolved and built into the policy the filter enforces, so reordering,
regrouping or rewriting rules shows no change. Argument rules are compared on the boundary values
of every constant either side uses; a change is shown with argument values that witness it.
Under the --runtime (Docker/runc by default), where a profile's enforced verdicts differ from what
it says (libseccomp's order or miscompilation, runc's stub, unknown names), both are listed.
Exit status: 0 when NEW allows nothing that OLD denied, 1 when it allows more or the runtime
refuses NEW, 2 on error.

Examples:
  sysfence diff web.json web.next.json
  sysfence diff --format markdown main.json pr.json >> "$GITHUB_STEP_SUMMARY"`,
    )
    .action((oldFile: string, newFile: string, opts: Record<string, string | undefined>) => {
      const format = opts.format ?? 'text';
      const a = requireOneProfile(readProfile(oldFile)).profile;
      const b = requireOneProfile(readProfile(newFile)).profile;
      const d = diffProfiles(a, b, { ...parseReviewOptions(opts), target: parseRuntimeTarget(opts) });
      if (format === 'json') out(toJsonText({ old: oldFile, new: newFile, ...d }).trimEnd());
      else if (format === 'markdown') out(formatDiffMarkdown(d).trimEnd());
      else out(formatDiffText(d).trimEnd());
      setExit(d.allowsMore || d.runtime?.new?.refused ? EXIT_FINDINGS : EXIT_OK);
    });
}
