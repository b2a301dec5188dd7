import { checkWritable } from '../../exec/files.js';
import type { Profile } from '../../profile/model.js';
import { ebpfProblems } from '../../recorders/record.js';
import { chosenEngine } from '../engine-options.js';
import { CliError } from '../errors.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';

const DEFAULT_ACTIONS: Record<string, Pick<Profile, 'defaultAction' | 'defaultErrnoRet'>> = {
  enosys: { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38 },
  eperm: { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1 },
  kill: { defaultAction: 'SCMP_ACT_KILL_PROCESS' },
  log: { defaultAction: 'SCMP_ACT_LOG' },
};

/** `--default-action`: checked before anything runs; then applied to the profile as read. */
export function defaultActionOption(how: string | undefined): (p: Profile) => Profile {
  if (how === undefined) return (p) => p;
  const d = DEFAULT_ACTIONS[how];
  if (!d)
    throw new CliError(
      'bad-option',
      `--default-action takes ${Object.keys(DEFAULT_ACTIONS).join(', ')}, not ${how}`,
    );
  return ({ defaultErrnoRet: _, ...rest }) => ({ ...rest, ...d });
}

/** What run and learn check before anything runs: the engine, eBPF, where outputs go. */
export function checkRun(opts: Record<string, string | boolean | undefined>) {
  const ce = chosenEngine(opts);
  if (opts.via !== 'bwrap' && !ce)
    throw new CliError('bad-option', `--via ${String(opts.via)} is not supported yet (bwrap)`);
  const arch = hostArch();
  const problems = ebpfProblems(arch, (m) => err(`sysfence: ${m}`));
  if (problems.length > 0)
    throw new CliError('ebpf-unavailable', `run needs eBPF to see denials: ${problems.join('; ')}`);
  // the workload's own output is on stdout: the learned profile never shares it
  if (opts.learn && !opts.output)
    throw new CliError(
      'bad-option',
      `${opts.oneRound ? 'learn' : '--learn'} writes a profile: give -o NEW.json (the workload's output is on stdout)`,
    );
  const file = String(opts.profile);
  for (const f of [opts.output, opts.report]) if (typeof f === 'string') checkWritable(f, [file]);
  return { ce, arch, file };
}
