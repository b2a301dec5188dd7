import { type Command, Option } from 'commander';
import { ARCH_DEFS } from '../arch/defs.js';
import { findArch, KNOWN_SYSCALL_NAMES } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';
import { FOR_RUNTIMES, type Runtime, type RuntimeSet, runtimeSet } from '../knowledge/runtime-sets.js';
import type { DefaultDeny, GenerateOptions } from '../profile/generate.js';
import { closest } from '../profile/suggest.js';
import { CliError } from './errors.js';
import { profileFormatOption, spoVersionOption } from './formats.js';

export function runtimeOption(value: unknown): RuntimeSet {
  const v = String(value ?? 'none');
  if (!(FOR_RUNTIMES as readonly string[]).includes(v))
    throw new CliError('bad-option', `--for must be one of ${FOR_RUNTIMES.join(', ')}, not ${v}`);
  return runtimeSet(v as Runtime);
}

/** `--arch aarch64,arm`: known ABIs, said before anything is read. */
export function archListOption(v: string, args: boolean): ArchId[] {
  const out: ArchId[] = [];
  for (const name of v.split(',').map((x) => x.trim())) {
    const a = findArch(name);
    if (!a)
      throw new CliError(
        'bad-option',
        `--arch: unknown ABI "${name}" (${ARCH_DEFS.map((d) => d.id).join(', ')})`,
      );
    out.push(a.id);
  }
  if (args)
    throw new CliError(
      'bad-option',
      '--args with --arch: argument values recorded on one ABI (ioctl requests, flags) are not vouched for on another',
    );
  return out;
}

/** `--allow-beyond-default mount,unshare`: syscall names, each known somewhere, said before any work. */
export function beyondDefaultOption(v: unknown): string[] {
  if (v === undefined || v === false) return [];
  const out: string[] = [];
  for (const name of String(v)
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    if (!KNOWN_SYSCALL_NAMES.includes(name)) {
      const near = closest(name, KNOWN_SYSCALL_NAMES);
      throw new CliError(
        'unknown-syscall',
        `--allow-beyond-default: unknown syscall "${name}"${near ? `; did you mean "${near}"?` : ''}`,
      );
    }
    out.push(name);
  }
  return [...new Set(out)].sort();
}

/** The option that lets named calls past Docker's default, declared once. */
export function beyondDefaultFlag(cmd: Command): Command {
  return cmd.option(
    '--allow-beyond-default <calls>',
    "allow these calls (comma-separated) as recorded even where Docker's default denies them or restricts their arguments (clone with namespace flags, mount, ...); every other call stays inside Docker's default",
  );
}

export const DENY_CHOICES = ['enosys', 'eperm', 'kill'] as const;

/**
 * The options that shape a generated profile, declared once for `generate` and `record` (same
 * names, same help, same checks; commander refuses a value outside the choices before anything
 * runs). `forHelp` adds what a command does with --for by default.
 */
export function profileOptions(cmd: Command, forHelp = ''): Command {
  return beyondDefaultFlag(cmd)
    .addOption(
      new Option('--deny <how>', 'what unrecorded calls get (ENOSYS lets libraries fall back)')
        .choices(DENY_CHOICES)
        .default('enosys'),
    )
    .addOption(
      new Option(
        '--for <runtime>',
        `add what the container runtime calls after installing the filter${forHelp}`,
      )
        .choices(FOR_RUNTIMES)
        .default('none'),
    )
    .option(
      '--companions',
      'also allow the companion ABIs (x86_64: x86, x32; aarch64: arm) through an archMap',
    )
    .option('--exact', 'only what was recorded (and implied): no call-family siblings')
    .option(
      '--no-probed',
      'do not give the calls libraries probe (clone3, openat2, ...) an explicit ERRNO(ENOSYS) rule',
    )
    .option(
      '--no-reach',
      "the recording only: no static reach of the recorded programs' code (predicted calls)",
    )
    .addOption(
      new Option(
        '--predicted <action>',
        'what a call only static reach predicts gets: log (allowed, and the kernel logs each use), allow, or deny (named on stderr only)',
      )
        .choices(['log', 'allow', 'deny'])
        .default('log'),
    )
    .option(
      '--root <dir>',
      'read the recorded programs and their libraries under this directory (an unpacked image) instead of this machine',
    )
    .addOption(profileFormatOption('--format <fmt>', 'how the profile is written').default('docker'))
    .addOption(spoVersionOption())
    .option('--name <name>', 'metadata.name for --format spo', 'sysfence-generated');
}

/** What profileOptions gave, as generate()'s options (`runtime`: --for, or `defaultFor` when none). */
export function generateOptionsOf(
  opts: Record<string, unknown>,
  defaultFor: Runtime = 'none',
): Pick<GenerateOptions, 'deny' | 'companions' | 'runtime' | 'probed' | 'exact' | 'allowBeyondDefault'> {
  return {
    allowBeyondDefault: beyondDefaultOption(opts.allowBeyondDefault),
    deny: String(opts.deny) as DefaultDeny,
    companions: opts.companions === true,
    runtime: runtimeOption(opts.for === 'none' ? defaultFor : opts.for),
    probed: opts.probed !== false,
    exact: opts.exact === true,
  };
}
