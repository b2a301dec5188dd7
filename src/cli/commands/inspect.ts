import type { Command } from 'commander';
import { syscallTable } from '../../arch/tables.js';
import { decode } from '../../bpf/encode.js';
import { readSeccompFilters, seccompStatus, threadsOf } from '../../exec/seccomp-filters.js';
import { referenceProfile } from '../../profile/reference-profiles.js';
import { resolve } from '../../profile/resolve.js';
import { RUNNING_ENGINES } from '../../recorders/container-engines.js';
import { compareLoaded } from '../../targets/loaded.js';
import { engineOptions, engineValue } from '../engine-options.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { hostArch } from '../host.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { containerPid } from './inspect-pid.js';
import { printInspection } from './inspect-print.js';
import { parseReviewOptions, reviewOptionsHelp } from './resolve-options.js';
import { parseRuntimeTarget, runtimeOptions } from './runtime-options.js';

export function registerInspect(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('inspect')
    .description(
      'read the seccomp filters the kernel holds for a process or container, and prove them equal to a profile (or say every call that differs)',
    )
    .option('--pid <pid>', 'a process (its main thread)');
  engineOptions(cmd, (e) => `a running ${e.name} container (its pid 1)`, 'container');
  cmd
    .option(
      '--profile <file>',
      "compare with this profile as the runtime builds it (default: Docker's default)",
    )
    .option('--unconfined', 'compare with no filter at all (everything allowed)')
    .option('--disasm', 'print each loaded filter disassembled')
    .option(
      '--interrupt',
      'read the filters even of a process whose every thread sleeps in a call the kernel resumes through restart_syscall (a filter that denies it makes that sleep fail)',
    )
    .option('--json', 'the result as JSON');
  runtimeOptions(reviewOptionsHelp(cmd), 'docker').addHelpText(
    'after',
    `
The filters are read back from the kernel (ptrace PTRACE_SECCOMP_GET_FILTER: root, and a kernel with
CONFIG_CHECKPOINT_RESTORE); the process goes on untouched. Every filter in the stack is read, and the
stack is compared as the kernel runs it (the strictest answer wins) with what --runtime builds from
the profile (libseccomp's program and runc's ENOSYS stub for docker, runc, podman and crun; sysfence's
own program for sysfence): on every syscall number of the host's ABIs, with every argument value
(a constraint search, not samples), and every other architecture. Exit 0: equal; 1: they differ
(each call that differs is listed with a witness); 2: an error.

Examples:
  sudo sysfence inspect --docker web --profile web.json
  sudo sysfence inspect --docker web                 # against Docker's default
  sudo sysfence inspect --pid 4242 --profile app.json --runtime sysfence --disasm`,
  );
  cmd.action((opts: Record<string, string | boolean | undefined>) => inspectAction(opts, setExit));
}

/** The `inspect` command's action. */
function inspectAction(
  opts: Record<string, string | boolean | undefined>,
  setExit: (code: number) => void,
): void {
  const given = ['pid', ...RUNNING_ENGINES.map((e) => e.id)].filter((k) => opts[k] !== undefined);
  if (given.length !== 1)
    throw new CliError(
      'bad-option',
      `give one of --pid PID, ${RUNNING_ENGINES.map((e) => `--${e.id} CONTAINER`).join(', ')}`,
    );
  if (opts.profile && opts.unconfined)
    throw new CliError('bad-option', 'give --profile or --unconfined, not both');
  const host = hostArch();
  const pid =
    opts.pid !== undefined
      ? Number(opts.pid)
      : (() => {
          const c = engineValue(opts) as NonNullable<ReturnType<typeof engineValue>>;
          return containerPid(c.engine.cli, c.value);
        })();
  if (!Number.isInteger(pid) || pid <= 0)
    throw new CliError('bad-option', `--pid takes a process id, not ${opts.pid}`);
  const ptrace = syscallTable(host).number('ptrace');
  if (ptrace === undefined) throw new CliError('host-arch-unknown', `${host.id} has no ptrace syscall`);
  // the thread read is stopped for a moment: a sleep the kernel resumes through restart_syscall
  // (nanosleep, clock_nanosleep, poll, futex with a timeout) would need that call allowed; such
  // threads are left alone, and a process with no other thread is refused unless told
  const sleepers = new Set(
    ['nanosleep', 'clock_nanosleep', 'clock_nanosleep_time64', 'poll', 'futex', 'futex_time64'].flatMap(
      (n) => syscallTable(host).number(n) ?? [],
    ),
  );
  if (!seccompStatus(pid)) throw new CliError('no-such-process', `no process ${pid}`, String(pid));
  const threads = threadsOf(pid);
  const calm = threads.find((t) => t.syscall === undefined || !sleepers.has(t.syscall));
  if (!calm && !opts.interrupt)
    throw new CliError(
      'inspect-would-interrupt',
      `every thread of process ${pid} sleeps in a call the kernel resumes through restart_syscall after a stop (${threads.map((t) => syscallTable(host).name(t.syscall ?? -1) ?? t.syscall).join(', ')}): reading its filters stops it for a moment, and a filter that denies restart_syscall would end that sleep with an error`,
      String(pid),
      'run it again in a moment, or pass --interrupt to read it anyway (profiles sysfence generates allow restart_syscall for sleeping programs)',
    );
  const tid = calm?.tid ?? pid;
  const read = readSeccompFilters(tid, ptrace);
  const programs = read.filters.map((f) => decode(f));
  const target = parseRuntimeTarget(opts, host.id);
  const ro = { ...parseReviewOptions(opts), arch: host };
  const against = opts.unconfined
    ? undefined
    : opts.profile
      ? {
          name: String(opts.profile),
          profile: requireOneProfile(readProfile(String(opts.profile))).profile,
        }
      : { name: "Docker's default", profile: referenceProfile('docker-default') };
  const c = compareLoaded(
    programs,
    against ? resolve(against.profile, ro) : undefined,
    target,
    host,
    against?.name ?? 'no filter (unconfined)',
  );
  printInspection({
    pid,
    tid,
    who: engineValue(opts)?.value,
    read,
    programs,
    c,
    json: opts.json === true,
    disasm: opts.disasm === true,
  });
  setExit('unsupported' in c ? 2 : c.equal ? EXIT_OK : EXIT_FINDINGS);
}
