import type { Command } from 'commander';
import { workloadUser } from '../../exec/as-user.js';
import { checkWritable, writeOutput } from '../../exec/files.js';
import { holdStopSignals, stopSignalReceived } from '../../exec/signals.js';
import { runtimeSet } from '../../knowledge/runtime-sets.js';
import type { Profile } from '../../profile/model.js';
import { DEFAULT_KERNEL, resolve } from '../../profile/resolve.js';
import { serializeDocker } from '../../profile/serialize-docker.js';
import { DOCKER, PODMAN } from '../../recorders/container-engines.js';
import { ebpfProblems } from '../../recorders/record.js';
import { exitStatus } from '../../recorders/workload.js';
import { formatPids, type Recording } from '../../recording/recording.js';
import { beyondDefault } from '../../review/baseline-proof.js';
import { diffProfiles, formatDiffText } from '../../review/diff.js';
import { explainDenials, learn, wouldDeny } from '../../runners/denials.js';
import { runContainerUnderProfile, runUnderProfile } from '../../runners/run-profile.js';
import { runtimeTarget } from '../../targets/target.js';
import { auditProfile } from '../audit-log.js';
import { CliError } from '../errors.js';
import { exactForRuntimes } from '../exact.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';
import { beyondDefaultOption } from '../profile-options.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { requireWithinDefault } from '../within-default.js';

const DEFAULT_ACTIONS: Record<string, Pick<Profile, 'defaultAction' | 'defaultErrnoRet'>> = {
  enosys: { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38 },
  eperm: { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1 },
  kill: { defaultAction: 'SCMP_ACT_KILL_PROCESS' },
  log: { defaultAction: 'SCMP_ACT_LOG' },
};

/** `--default-action`: checked before anything runs; then applied to the profile as read. */
function defaultActionOption(how: string | undefined): (p: Profile) => Profile {
  if (how === undefined) return (p) => p;
  const d = DEFAULT_ACTIONS[how];
  if (!d)
    throw new CliError(
      'bad-option',
      `--default-action takes ${Object.keys(DEFAULT_ACTIONS).join(', ')}, not ${how}`,
    );
  return ({ defaultErrnoRet: _, ...rest }) => ({ ...rest, ...d });
}

export function registerRun(program: Command, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('run a command under a profile and report every call the profile denied')
    .argument('<command...>', 'the command to run, after --')
    .requiredOption('--profile <file>', 'the profile (Docker/OCI JSON or SPO YAML)')
    .option('--via <how>', 'how the filter is installed: bwrap (bubblewrap --seccomp)', 'bwrap')
    .option('--docker', 'run a container: the arguments are `docker run` options, IMAGE and its command')
    .option(
      '--podman',
      'run a Podman container: the arguments are `podman run` options, IMAGE and its command',
    )
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

export function registerLearn(program: Command, setExit: (code: number) => void): void {
  program
    .command('learn')
    .description(
      'run a command with nothing blocked while recording it, and propose the profile that allows every new call at once',
    )
    .argument('<profile>', 'the profile to extend (Docker/OCI JSON or SPO YAML)')
    .argument('<command...>', 'the command to run, after --')
    .requiredOption('-o, --output <file>', 'where the proposed profile goes')
    .option('--docker', 'run a container: the arguments are `docker run` options, IMAGE and its command')
    .option(
      '--podman',
      'run a Podman container: the arguments are `podman run` options, IMAGE and its command',
    )
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

async function runAction(
  command: string[],
  opts: Record<string, string | boolean | undefined>,
  setExit: (code: number) => void,
): Promise<void> {
  // SIGINT/SIGTERM/SIGHUP stop the workload; the report and --learn are still written
  holdStopSignals();
  const ce = opts.podman ? PODMAN : opts.docker ? DOCKER : undefined;
  if (opts.docker && opts.podman) throw new CliError('bad-option', 'give --docker or --podman, not both');
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
  const setDefault = defaultActionOption(opts.defaultAction as string | undefined);
  const beyond = beyondDefaultOption(opts.allowBeyondDefault);
  // the profile as written (what --learn changes) and as run (--default-action applied)
  const written = requireOneProfile(readProfile(file)).profile;
  const original = setDefault(written);
  const profile = resolve(original, { arch, kernelVersion: String(opts.kernel) });
  if (opts.oneRound)
    err(
      `sysfence: learn: the profile's default (${written.defaultAction}) is LOG for this run: nothing it would deny is blocked, so the workload follows its real path; the profile's own rules still apply`,
    );
  else if (original.defaultAction === 'SCMP_ACT_ALLOW' || original.defaultAction === 'SCMP_ACT_LOG')
    err(
      `sysfence: WARNING: nothing is enforced by default: the default action is ${original.defaultAction}${opts.defaultAction ? ` (--default-action ${String(opts.defaultAction)})` : ''}, so calls the profile does not list ${original.defaultAction === 'SCMP_ACT_LOG' ? 'run and are logged' : 'run'}, not denied`,
    );
  const note = (m: string) => err(`sysfence: ${m}`);
  const user = ce ? undefined : workloadUser(opts.asRoot === true, note);
  const target = ce ? runtimeTarget(ce.id, { native: arch.id }) : undefined;
  // denials are said as they appear, not only at the end (a server may spin on a denied call)
  const started = Date.now();
  const said = new Set<string>();
  const progress = (denied: Recording) => {
    for (const d of explainDenials(profile, denied, target)) {
      const key = `${d.abi} ${d.name}`;
      if (said.has(key)) continue;
      said.add(key);
      err(
        `sysfence: [${((Date.now() - started) / 1000).toFixed(0)} s] ${d.expected ? 'expected' : 'DENIED'} ${key} (${d.verdict}), ${formatPids(d.pids)}`,
      );
    }
  };
  const r = ce
    ? await runContainerUnderProfile({
        profile: original,
        resolved: profile,
        arch,
        runArgs: command,
        containerEngine: ce,
        note,
        target: target!,
        progress,
      })
    : await runUnderProfile({
        profile,
        arch,
        command,
        note,
        progress,
        ...(user ? { user } : {}),
      });
  const stoppedBy = stopSignalReceived();
  if (stoppedBy) err(`sysfence: stopped by ${stoppedBy}: the report covers the run until then`);
  // under --default-action log nothing the default covers is denied: what it would have denied
  // comes from the recording of the whole run (the kernel drops SECCOMP log records under load)
  if (opts.defaultAction === 'log') {
    const resolvedWritten = resolve(written, { arch, kernelVersion: String(opts.kernel) });
    r.denials = [
      ...r.denials.filter((d) => !d.verdict.startsWith('LOG')),
      ...wouldDeny(resolvedWritten, r.recording),
    ];
  }
  const findings = r.denials.filter((d) => !d.expected);
  if (r.denials.length === 0) err('sysfence: no call was denied');
  for (const d of r.denials) {
    err(
      `sysfence: ${d.expected ? 'expected' : d.verdict.startsWith('ran under LOG') ? 'LOGGED' : 'DENIED'} ${d.abi} ${d.name}: ${d.count} call${d.count === 1 ? '' : 's'}, ${d.verdict}; ${formatPids(d.pids)}${d.executables.length ? ` (${d.executables.join(', ')})` : ''}`,
    );
    if (d.runtime)
      err(
        `sysfence:     [${d.runtime.label}] ${d.runtime.reason} (--learn cannot fix this: see sysfence lint)`,
      );
  }
  // bubblewrap passes its child's signal death on as 128+n
  if (exitStatus(r.exit) === 128 + 31) err('sysfence: the workload was killed by its filter (SIGSYS)');
  if (r.killLogProblem) err(`sysfence: warning: ${r.killLogProblem}`);
  if (opts.report)
    writeOutput(
      String(opts.report),
      `${JSON.stringify(
        {
          sysfenceRun: 1,
          profile: file,
          defaultAction: original.defaultAction,
          exit: { code: r.exit.code, signal: r.exit.signal, status: exitStatus(r.exit) },
          stoppedBy: stoppedBy ?? null,
          denials: r.denials,
          findings: findings.length,
          killLogProblem: r.killLogProblem ?? null,
          calls: Object.fromEntries(
            Object.entries(r.recording.syscalls).map(([abi, calls]) => [
              abi,
              Object.keys(calls ?? {}).length,
            ]),
          ),
        },
        null,
        2,
      )}\n`,
    );
  if (opts.learn) {
    // learning changes the profile as written: --default-action was for this run only
    const l = learn(written, r.denials, {
      exact: opts.exact === true,
      resolved: resolve(written, { arch, kernelVersion: String(opts.kernel) }),
      ran: r.recording,
      // the runtime's own calls after it installs the filter are not in a container's recording
      ...(ce ? { runtime: { set: runtimeSet(ce.id), abi: arch.id } } : {}),
      allowBeyondDefault: beyond,
    });
    if (l.runtime.length > 0)
      err(
        `sysfence: the profile lacked what ${ce?.id === 'podman' ? "Podman's runtime" : "Docker's runtime (runc)"} calls after installing the filter: ${l.runtime.join(', ')}; added (generate --for ${ce?.id ?? 'docker'} adds them)`,
      );
    const sibling = new Map(l.families.map((f) => [f.name, f]));
    for (const f of l.families.filter((x) => x.unless))
      err(`+ allow ${f.name} only without CLONE_NEW* flags (family ${f.family}, with ${f.trigger})`);
    for (const name of l.added) {
      const f = sibling.get(name);
      err(`+ allow ${name}${f ? ` (family ${f.family}, with ${f.trigger})` : ''}`);
    }
    const familyRestricted = new Set(l.families.filter((x) => x.unless).map((x) => x.name));
    for (const c of l.baseline.changes) {
      if (c.kind === 'narrowed' && !familyRestricted.has(c.name))
        err(
          `+ allow ${c.name} only as Docker's default allows it: ${c.why.replace(/^Docker's default allows it only for /, '')}`,
        );
      if (c.kind === 'denied')
        err(`sysfence: not learned: ${c.name}: ${c.why}; --allow-beyond-default ${c.name} learns it anyway`);
    }
    if (l.baseline.beyond.length > 0)
      err(
        `sysfence: WARNING: learned beyond Docker's default because --allow-beyond-default named them: ${l.baseline.beyond.join(', ')}`,
      );
    if (l.families.length > 0) {
      err(
        `sysfence: ${l.families.length} of them are call-family siblings of what ran (--exact: only what ran):`,
      );
      for (const [family, why] of new Map(l.families.map((f) => [f.family, f.why])))
        err(`sysfence:   family ${family}: ${why}`);
    }
    // what a reviewer approves: the semantic diff of the change, on this machine's ABI
    const changed = l.profile !== written;
    if (changed)
      for (const line of formatDiffText(diffProfiles(written, l.profile, { arches: [arch] }))
        .trimEnd()
        .split('\n'))
        err(`sysfence: diff: ${line}`);
    if (changed && opts.defaultAction && !opts.oneRound)
      err(
        `sysfence: the learned profile keeps its own default action (${written.defaultAction}), not --default-action`,
      );
    if (!changed) err('sysfence: nothing to learn: the profile stays as it is');
    // what the profile already allowed past Docker's default is the user's; nothing learned is
    const own = beyondDefault(written).changes.map((c) => c.name);
    requireWithinDefault(l.profile, [...own, ...beyond], 'the learned profile');
    const text = serializeDocker(exactForRuntimes(l.profile));
    writeOutput(String(opts.output), text);
    auditProfile({
      what: 'learned',
      exempt: [...own, ...beyond],
      format: 'docker',
      text,
      output: String(opts.output),
    });
    err(`sysfence: wrote ${String(opts.output)}`);
  } else if (findings.length > 0)
    err(
      `sysfence: ${findings.length} finding${findings.length === 1 ? '' : 's'}; --learn proposes the profile that allows them`,
    );
  setExit(exitStatus(r.exit));
}
