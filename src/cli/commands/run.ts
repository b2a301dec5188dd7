import type { Command } from 'commander';
import { DEFAULT_KERNEL } from '../../profile/resolve.js';

import { engineOptions } from '../engine-options.js';
import { runAction } from './run-action.js';

export function registerRun(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('run')
    .description('run a command under a profile and report every call the profile denied')
    .argument('<command...>', 'the command to run, after --')
    .requiredOption('--profile <file>', 'the profile (Docker/OCI JSON or SPO YAML)')
    .option('--via <how>', 'how the filter is installed: bwrap (bubblewrap --seccomp)', 'bwrap');
  engineOptions(
    cmd,
    (e) => `run a ${e.name} container: the arguments are \`${e.cli} run\` options, IMAGE and its command`,
  );
  cmd
    .option('--learn', 'write the profile with the unexpected denials allowed (to -o)')
    .option('-o, --output <file>', 'with --learn: where the updated profile goes (required)')
    .option('--kernel <version>', 'kernel version for minKernel rules', DEFAULT_KERNEL)
    .option(
      '--default-action <how>',
      "replace the profile's default action for this run: enosys | eperm | kill (KILL_PROCESS) | log",
    )
    .option('--as-root', 'under sudo, run the workload as root (by default it runs as the user who ran sudo)')
    .option('--report <file>', 'also write the run (exit status, every denial) as JSON here')
    .addHelpText(
      'after',
      `
The command's output and exit status pass through; the denial report goes to stderr. A denial the
profile makes by an explicit rule (say, mount) is shown as expected; one that only the default
action made is a finding. Seeing denials uses eBPF (root, bpftrace): a denied call reaches
raw_syscalls:sys_exit without passing sys_enter. A call killed by the filter ends the process
with SIGSYS instead.

Examples:
  sudo sysfence run --profile app.json -- ./app --serve
  sudo sysfence run --profile app.json --learn -o app.next.json -- ./app --selftest`,
    )
    .option('--exact', 'with --learn: only the denied calls, no call-family siblings')
    .option(
      '--allow-beyond-default <calls>',
      "with --learn: learn these calls as they ran even where Docker's default denies or restricts them",
    )
    .action((command: string[], opts: Record<string, string | boolean | undefined>) =>
      runAction(command, opts, setExit),
    );
}
