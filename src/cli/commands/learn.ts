import type { Command } from 'commander';
import { DEFAULT_KERNEL } from '../../profile/resolve.js';

import { engineOptions } from '../engine-options.js';
import { runAction } from './run-action.js';

export function registerLearn(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('learn')
    .description(
      'run a command with nothing blocked while recording it, and propose the profile that allows every new call at once',
    )
    .argument('<profile>', 'the profile to extend (Docker/OCI JSON or SPO YAML)')
    .argument('<command...>', 'the command to run, after --')
    .requiredOption('-o, --output <file>', 'where the proposed profile goes');
  engineOptions(
    cmd,
    (e) => `run a ${e.name} container: the arguments are \`${e.cli} run\` options, IMAGE and its command`,
  );
  cmd
    .option('--exact', 'only the new calls, no call-family siblings')
    .option(
      '--allow-beyond-default <calls>',
      "learn these calls as they ran even where Docker's default denies or restricts them (clone with namespace flags, mount, ...)",
    )
    .option('--kernel <version>', 'kernel version for minKernel rules', DEFAULT_KERNEL)
    .option('--as-root', 'under sudo, run the workload as root (by default it runs as the user who ran sudo)')
    .option('--report <file>', 'also write the run (exit status, every new call) as JSON here')
    .addHelpText(
      'after',
      `
One pass: the workload runs under the profile with its default action set to LOG, so nothing the
default would deny is blocked and the program follows its real path (no fallback a denial would
cause, no server spinning on an ENOSYS). Every call the run made that the profile would deny by
default is proposed at once, with its call-family siblings (--exact: not), and the semantic diff
goes to stderr for the reviewer. The profile's own rules still apply (its explicit ENOSYS for the
probed calls, say), and the proposed profile keeps its own default action.
Same as: sysfence run --profile PROFILE --default-action log --learn -- CMD

Examples:
  sudo sysfence learn app.json -o app.next.json -- ./app --import big.csv
  sudo sysfence learn web.json -o web.next.json --docker -- --rm web:2 /serve --selftest`,
    )
    .action((file: string, command: string[], opts: Record<string, string | boolean | undefined>) =>
      runAction(
        command,
        { ...opts, profile: file, learn: true, defaultAction: 'log', via: 'bwrap', oneRound: true },
        setExit,
      ),
    );
}
