import { type Command, Option } from 'commander';
import { findArch } from '../../arch/tables.js';
import { checkWritable, writeOutput } from '../../exec/files.js';
import { BACKEND_CHOICES } from '../../recorders/record.js';
import { mergeRecordings, type Recording } from '../../recording/recording.js';
import { checkRecording, formatCheckText } from '../../review/check.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { renderReport, reportFormatOption } from '../formats.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { readTrace, recordForCheck } from './check-trace.js';
import { parseReviewOptions, reviewOptionsHelp } from './resolve-options.js';
import { parseRuntimeTarget, runtimeOptions } from './runtime-options.js';

export function registerCheck(program: Command, setExit: (code: number) => void): void {
  runtimeOptions(reviewOptionsHelp(program.command('check')), 'docker')
    .description('would the profile deny anything this trace shows? (a CI gate against syscall drift)')
    .argument(
      '[inputs...]',
      'recordings or logs (strace, audit, sysdig, bpftrace), or after --: a command to record',
    )
    .requiredOption('--profile <file>', 'the profile (Docker/OCI JSON or SPO YAML)')
    .addOption(reportFormatOption())
    .option('-o, --output <file>', 'write the report here (stdout by default)')
    .addOption(
      new Option('--backend <b>', 'with -- CMD: how to record (as record --backend)')
        .choices(BACKEND_CHOICES)
        .default('auto'),
    )
    .option('--allow-failure', 'with -- CMD: judge the calls even when the command fails')
    .option(
      '--ignore-unreadable',
      'pass even when trace lines could not be read (by default that fails the check)',
    )
    .option('--as-root', 'with -- CMD under sudo: run it as root (by default as the user who ran sudo)')
    .option(
      '--arch <arch>',
      'ABI of the traced processes in logs (as import --arch; default: this machine; qemu-user -strace logs need it said)',
    )
    .addHelpText(
      'after',
      `
Every recorded call is judged as the --runtime enforcing the profile would (Docker/runc and
Podman/crun build the filter with libseccomp, whose answer can differ from the profile's: both are
shown, with the cause): allowed, DENIED (verdict, count, processes, first stack when the trace has
one) or depends (argument rules the trace has no values for). A profile the runtime refuses
denies everything.
Exit status: 1 when a call would be denied, 0 otherwise, 2 on error.

Examples:
  sysfence check --profile web.json web.rec.json
  sysfence check --profile web.json --format junit -o check.xml -- npm test
  sysfence check --profile web.json --format sarif -o check.sarif strace.log`,
    )
    .action(async (inputs: string[], opts: Record<string, string | undefined>, cmd: Command) =>
      checkAction(inputs, opts, cmd, setExit),
    );
}

/** The `check` command's action. */
async function checkAction(
  inputs: string[],
  opts: Record<string, string | undefined>,
  cmd: Command,
  setExit: (code: number) => void,
): Promise<void> {
  // `check ... -- CMD` records CMD; without `--` the inputs are files (commander keeps the
  // parsed argv as rawArgs on the program, untyped)
  const raw = (cmd.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs ?? [];
  const isCommand = raw.includes('--');
  const format = opts.format ?? 'text';
  const arch = hostArch();
  const profileFile = String(opts.profile);
  const profile = requireOneProfile(readProfile(profileFile)).profile;
  if (inputs.length === 0)
    throw new CliError('no-input', 'give recordings or logs to check, or a command after --');
  checkWritable(opts.output, [profileFile, ...(isCommand ? [] : inputs)]);
  // the command's own output is on stdout: sysfence's never shares it
  if (isCommand && !opts.output && format !== 'text')
    throw new CliError(
      'bad-option',
      `with -- CMD, the command's output is on stdout: give -o FILE for the ${format} report`,
    );
  let rec: Recording;
  if (isCommand) {
    rec = await recordForCheck(inputs, opts, arch);
  } else {
    const traced = opts.arch !== undefined ? findArch(opts.arch) : arch;
    if (!traced)
      throw new CliError(
        'unknown-arch',
        `unknown architecture "${opts.arch}"`,
        undefined,
        'e.g. x86_64, aarch64',
      );
    rec = mergeRecordings(
      await Promise.all(inputs.map((f) => readTrace(f, traced, opts.arch !== undefined))),
    );
  }
  const r = checkRecording(profile, rec, {
    ...parseReviewOptions(opts),
    target: parseRuntimeTarget(opts, arch.id),
  });
  const text = renderReport(format, r, { profileFile, recording: rec });
  if (opts.output) {
    writeOutput(opts.output, text);
    err(formatCheckText(r, profileFile).trimEnd().split('\n').at(-1)!);
  } else if (isCommand) process.stderr.write(text);
  else process.stdout.write(text);
  // a line that could not be read may be a call the profile denies: no pass over it (fail closed)
  const unreadable = rec.malformed.count > 0 && !opts.ignoreUnreadable;
  if (rec.malformed.count > 0)
    err(
      `sysfence: ${unreadable ? 'error' : 'warning'}: ${rec.malformed.count} trace line${rec.malformed.count === 1 ? '' : 's'} could not be read (first: ${rec.malformed.samples[0]?.where} ${rec.malformed.samples[0]?.code}): the verdict does not cover ${rec.malformed.count === 1 ? 'it' : 'them'}${unreadable ? ', so the check fails (--ignore-unreadable judges the rest)' : ''}`,
    );
  setExit(r.denied.length > 0 || unreadable ? EXIT_FINDINGS : EXIT_OK);
}
