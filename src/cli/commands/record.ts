import { mkdirSync } from 'node:fs';
import { basename, join, resolve as resolvePath } from 'node:path';
import { type Command, Option } from 'commander';
import { workloadUser } from '../../exec/as-user.js';
import { checkWritable, writeOutput } from '../../exec/files.js';
import { holdStopSignals, stopSignalReceived } from '../../exec/signals.js';
import { generate } from '../../profile/generate.js';
import type { SpoVersion } from '../../profile/spo.js';
import { DOCKER, PODMAN } from '../../recorders/container-engines.js';
import { BACKEND_CHOICES, type BackendChoice, ebpfProblems, record } from '../../recorders/record.js';
import { recordApplication } from '../../recorders/record-app.js';
import { recordContainer } from '../../recorders/record-docker.js';
import { exitStatus } from '../../recorders/workload.js';
import {
  formatPids,
  HOST_ROOT,
  imageRoot,
  placePrograms,
  RecordingBuilder,
  serializeRecording,
} from '../../recording/recording.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { reportGenerated, writeGenerated } from '../generated.js';
import { hostArch } from '../host.js';
import { err, shellLine } from '../output.js';
import { generateOptionsOf, profileOptions } from '../profile-options.js';
import { predictionFor } from '../static-reach.js';

function durationOption(v: unknown): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError('bad-option', `--duration takes seconds (> 0), not ${String(v)}`);
  return n;
}

/** A run a stop signal ended is written, and said to be partial. */
function sayStopped(): void {
  const sig = stopSignalReceived();
  if (sig)
    err(
      `sysfence: stopped by ${sig}: the recording covers the run until then (a profile from it may miss calls the rest would make)`,
    );
}

/**
 * What to do next, once, after a recording: one run shows one path through the program. Said in a
 * short paragraph, not per call; which streams were a terminal is said because programs choose
 * calls by it (cat copies with copy_file_range only into a regular file, xz polls a full pipe).
 */
function adviseNext(profile: string | undefined, command: readonly string[], engineFlag?: string): void {
  const tty = (['stdin', 'stdout'] as const).filter((s) => process[s].isTTY);
  const next = shellLine([
    'sysfence',
    'learn',
    profile ?? 'PROFILE',
    '-o',
    profile ? profile.replace(/(\.json)?$/, '.next.json') : 'NEXT',
    ...(engineFlag ? [engineFlag] : []),
    '--',
  ]);
  const cmd = command.length > 0 ? shellLine(command) : 'CMD';
  err(
    `sysfence: next: a recording shows the path this one input took. ${tty.length > 0 ? `Its ${tty.join(' and ')} ${tty.length === 1 ? 'was a terminal' : 'were terminals'}: record it with the redirections it really runs with (files, pipes, sockets), since programs pick calls by them. ` : ''}Record each kind of input (sysfence merge a.rec.json b.rec.json: one recording, with the calls only some runs made named), and before enforcing, run more inputs with nothing blocked: ${next} ${cmd}`,
  );
}

function signalOption(v: unknown): NodeJS.Signals {
  const name = String(v).toUpperCase();
  const sig = (name.startsWith('SIG') ? name : `SIG${name}`) as NodeJS.Signals;
  if (!['SIGUSR1', 'SIGUSR2', 'SIGHUP', 'SIGTERM'].includes(sig))
    throw new CliError('bad-option', `--until-signal takes USR1, USR2, HUP or TERM, not ${String(v)}`);
  return sig;
}

/**
 * --docker --select: every matching container, one profile per service in the -o directory, with
 * its recording and SeccompProfile, and a Compose override file that applies them.
 */
async function recordSelected(
  opts: Record<string, string | boolean | string[] | undefined>,
  setExit: (code: number) => void,
): Promise<void> {
  const dir = opts.output;
  if (typeof dir !== 'string')
    throw new CliError('bad-option', '--select writes one profile per service: give -o DIRECTORY');
  if (opts.duration === undefined && opts.untilSignal === undefined)
    err('sysfence: recording until Ctrl-C (or SIGTERM); --duration or --until-signal end it otherwise');
  const select = Array.isArray(opts.select) ? opts.select : [String(opts.select)];
  const arch = hostArch();
  const problems = ebpfProblems(arch, (m) => err(`sysfence: ${m}`));
  if (problems.length > 0)
    throw new CliError('ebpf-unavailable', `record --docker --select needs eBPF: ${problems.join('; ')}`);
  mkdirSync(dir, { recursive: true });
  const r = await recordApplication({
    arch,
    select,
    maxContainers: Number(opts.maxContainers),
    note: (m) => err(`sysfence: ${m}`),
    onReady: () =>
      err(`sysfence: recording every container with ${select.join(', ')}: start the application`),
    ...(opts.duration !== undefined ? { durationSeconds: durationOption(opts.duration) } : {}),
    ...(opts.untilSignal !== undefined ? { untilSignal: signalOption(opts.untilSignal) } : {}),
  });
  sayStopped();
  if (r.notSelected.length > 0) err(`sysfence: not selected (other labels): ${r.notSelected.join(', ')}`);
  if (r.services.length === 0) {
    err(`sysfence: no container with ${select.join(', ')} ran while recording: nothing written`);
    setExit(EXIT_FINDINGS);
    return;
  }
  const override: string[] = [];
  for (const s of r.services) {
    const name = s.service.toLowerCase().replace(/[^a-z0-9-]+/g, '-');
    const file = resolvePath(join(dir, `${name}.json`));
    writeOutput(join(dir, `${name}.rec.json`), serializeRecording(s.recording));
    const predicted = await predictionFor([s.recording], opts, (l) => err(`sysfence: ${s.service}: ${l}`));
    const g = generate([s.recording], {
      ...generateOptionsOf(opts as Record<string, string | boolean | undefined>, 'docker'),
      ...(predicted ? { predicted } : {}),
    });
    reportGenerated(g, true);
    writeGenerated(g, String(opts.format), name, file, opts.spoVersion as SpoVersion);
    writeGenerated(g, 'spo', name, join(dir, `${name}.spo.yaml`), opts.spoVersion as SpoVersion);
    const calls = Object.values(s.recording.syscalls).reduce((n, m) => n + Object.keys(m ?? {}).length, 0);
    err(
      `sysfence: ${s.service}: ${s.containers.join(', ')} (${s.recording.runs ?? 1} run${(s.recording.runs ?? 1) === 1 ? '' : 's'}): ${calls} syscalls -> ${file}`,
    );
    override.push(
      `  ${JSON.stringify(s.service)}:`,
      '    security_opt:',
      `      - ${JSON.stringify(`seccomp=${file}`)}`,
    );
  }
  const composeFile = join(dir, 'docker-compose.seccomp.yml');
  writeOutput(
    composeFile,
    [
      `# Written by sysfence record --docker --select ${select.join(' ')}: each service's recorded`,
      "# profile. Apply it over the application's own file:",
      `#   docker-compose -f docker-compose.yml -f ${composeFile} up`,
      'services:',
      ...override,
      '',
    ].join('\n'),
  );
  err(
    `sysfence: wrote ${composeFile} (the Compose override) and, per service, NAME.json, NAME.rec.json, NAME.spo.yaml`,
  );
  setExit(EXIT_OK);
}

async function recordDocker(
  runArgs: string[],
  opts: Record<string, string | boolean | undefined>,
  setExit: (code: number) => void,
): Promise<void> {
  if (opts.args)
    throw new CliError(
      'bad-option',
      '--args is not recorded for containers yet (record --docker counts calls, not argument values)',
    );
  const ce = opts.podman ? PODMAN : DOCKER;
  const arch = hostArch();
  if (opts.backend === 'strace')
    throw new CliError(
      'bad-option',
      `--${ce.id} records with eBPF only (strace cannot follow the runtime into the container)`,
    );
  const engine = opts.backend === 'bpftrace' ? 'bpftrace' : 'sysfence';
  const problems = ebpfProblems(arch, (m) => err(`sysfence: ${m}`), engine);
  if (problems.length > 0)
    throw new CliError('ebpf-unavailable', `record --${ce.id} needs eBPF: ${problems.join('; ')}`);
  const b = new RecordingBuilder();
  b.source(ce.source, runArgs.join(' '));
  // --show-denied: also watch for calls the container's own filter denies (a second probe, on
  // every syscall's exit: it costs throughput while recording, so it is asked for)
  const denied = opts.showDenied ? new RecordingBuilder() : undefined;
  const r = await recordContainer(b, {
    arch,
    runArgs,
    engine,
    containerEngine: ce,
    ...(denied ? { denials: denied } : {}),
    note: (m) => err(`sysfence: ${m}`),
    ...(opts.mapKeys !== undefined ? { mapKeys: Number(opts.mapKeys) } : {}),
    ...(opts.duration !== undefined ? { durationSeconds: durationOption(opts.duration) } : {}),
    ...(opts.untilSignal !== undefined ? { untilSignal: signalOption(opts.untilSignal) } : {}),
  });
  sayStopped();
  const recording = b.build();
  // the programs ran from the image: static reach reads them there (never this machine's files)
  if (r.image) placePrograms(recording, imageRoot(ce.id, r.image));
  if (opts.recording) writeOutput(String(opts.recording), serializeRecording(recording));
  const calls = recording.syscalls[arch.id] ?? {};
  err(
    `sysfence: recorded container ${r.containerId.slice(0, 12)} (attached in ${r.startupMs.toFixed(0)} ms): ${Object.keys(calls).length} syscalls, ${Object.values(calls).reduce((n, s) => n + s.count, 0)} calls by the workload; ${r.runtimeSetupCalls} calls of the runtime before the workload's exec are left to the runtime set`,
  );
  // the container ran under its own filter (Docker's default unless the run options say otherwise):
  // what that filter denied is not in the recording, and the new profile denies it too
  for (const [abi, cs] of Object.entries(denied?.build().syscalls ?? {}))
    for (const [name, s] of Object.entries(cs ?? {}))
      err(
        `sysfence: note: the container's own filter denied ${abi} ${name} (${s.count} call${s.count === 1 ? '' : 's'}, ${s.executables.join(', ') || formatPids(s.pids)}); it stays denied`,
      );
  // a container that never ran its workload has no profile to give (its start failed: said above
  // by the engine), and an empty one would deny everything the workload does
  if (Object.keys(calls).length === 0)
    throw new CliError(
      'container-failed',
      `the container never ran its workload (${ce.cli} exited ${exitStatus(r.exit)}): nothing recorded, nothing written`,
      undefined,
      `run it with ${ce.cli} run first; ${ce.cli}'s own message is above`,
    );
  if (opts.output) {
    // a container profile needs what the runtime calls after installing it
    const predicted = await predictionFor([recording], opts, (l) => err(`sysfence: ${l}`));
    const g = generate([recording], {
      ...generateOptionsOf(opts, ce.id),
      ...(predicted ? { predicted } : {}),
    });
    reportGenerated(g, true);
    const out = String(opts.output);
    writeGenerated(g, String(opts.format), String(opts.name), out, opts.spoVersion as SpoVersion);
    err(`sysfence: wrote ${out}; run it with: ${ce.cli} run --security-opt seccomp=${out} ...`);
    // for Kubernetes (asked with --kubernetes): the same profile as an SPO SeccompProfile, and the
    // securityContext that points a pod at it as a Localhost profile (the file copied to the nodes)
    if (opts.kubernetes) writeKubernetesFiles(g, out, opts);
  }
  if (opts.output || opts.recording) adviseNext(opts.output as string | undefined, runArgs, `--${ce.id}`);
  if (r.stoppedAsAsked !== undefined && r.exit.code !== 0)
    err(
      `sysfence: the recording ended as ${r.stoppedAsAsked} asked (the container's own status: ${exitStatus(r.exit)}): exit 0`,
    );
  setExit(r.stoppedAsAsked !== undefined ? EXIT_OK : exitStatus(r.exit));
}

function writeKubernetesFiles(
  g: ReturnType<typeof generate>,
  out: string,
  opts: Record<string, string | boolean | undefined>,
): void {
  {
    const base = basename(out).replace(/\.(json|ya?ml)$/, '');
    const name =
      opts.name === 'sysfence-generated'
        ? base.toLowerCase().replace(/[^a-z0-9-]+/g, '-')
        : String(opts.name);
    const stem = out.replace(/\.(json|ya?ml)$/, '');
    writeGenerated(g, 'spo', name, `${stem}.spo.yaml`, opts.spoVersion as SpoVersion);
    writeOutput(
      `${stem}.securitycontext.yaml`,
      `# the pod (or container) securityContext for a Localhost profile: copy ${basename(out)} to\n` +
        `# /var/lib/kubelet/seccomp/profiles/ on every node (or let the Security Profiles Operator\n` +
        `# install ${basename(stem)}.spo.yaml and use localhostProfile: operator/<namespace>/${name}.json)\n` +
        `securityContext:\n  seccompProfile:\n    type: Localhost\n    localhostProfile: profiles/${basename(out)}\n`,
    );
    err(
      `sysfence: also wrote ${stem}.spo.yaml (SeccompProfile) and ${stem}.securitycontext.yaml (Kubernetes)`,
    );
  }
}

export function registerRecord(program: Command, setExit: (code: number) => void): void {
  profileOptions(program.command('record'), ' (--docker: docker)')
    .description(
      'run a command and record every syscall of it (threads, children, exec), then generate its profile',
    )
    .argument('[command...]', 'the command to run, after -- (none with --select)')
    .addOption(
      new Option(
        '--backend <b>',
        "auto (eBPF when it can run here, else strace) | ebpf (sysfence's own program) | bpftrace (the eBPF backend with bpftrace's program) | strace",
      )
        .choices(BACKEND_CHOICES)
        .default('auto'),
    )
    .option('-o, --output <file>', 'write the generated profile here')
    .option('--as-root', 'under sudo, run the workload as root (by default it runs as the user who ran sudo)')
    .option('--recording <file>', 'write the recording here (for `generate`, `check`, `merge`)')
    .option(
      '--args',
      'also record argument values (socket families, ioctl requests, ...) and write argument rules',
    )
    .option('--map-keys <n>', 'eBPF: entries per kernel map (a full map is an error, never a silent loss)')
    .option(
      '--docker',
      'record a Docker container: the arguments are `docker run` options, IMAGE and its command (eBPF)',
    )
    .option(
      '--podman',
      'record a Podman container: the arguments are `podman run` options, IMAGE and its command (eBPF)',
    )
    .option('--duration <seconds>', '--docker: stop the container (docker stop) after this long')
    .option(
      '--kubernetes',
      '--docker with -o NAME.json: also write NAME.spo.yaml (SeccompProfile) and NAME.securitycontext.yaml',
    )
    .option(
      '--show-denied',
      "--docker: also name the calls the container's own filter (Docker's default) denies while recording",
    )
    .option(
      '--until-signal <sig>',
      '--docker: stop the container when sysfence gets this signal (USR1, USR2, HUP, TERM)',
    )
    .option(
      '--select <label=value...>',
      '--docker: record every container with these labels (a Compose project: com.docker.compose.project=NAME), also those started later; -o names a directory',
    )
    .option(
      '--max-containers <n>',
      '--select: containers and restarts one recording tells apart (2-64)',
      '32',
    )
    .option('--keep-strace-log <file>', "strace backend: also keep strace's raw log")
    .addHelpText(
      'after',
      `
The command's input, output and exit status pass through unchanged; sysfence's own messages go to
stderr. eBPF (sysfence's own program; --backend bpftrace for bpftrace's) needs root and tracefs;
it counts in the kernel for the workload's cgroup only. strace needs nothing but is slower (ptrace
stops every call).

Examples:
  sudo sysfence record -o ls.json -- ls -la /
  sysfence record --backend strace --recording app.rec.json -- ./app --serve
  sysfence record --docker --select com.docker.compose.project=shop --until-signal USR1 -o profiles/`,
    )
    .action(async (command: string[], opts: Record<string, string | boolean | undefined>) => {
      // SIGINT/SIGTERM/SIGHUP stop the workload; what was recorded until then is still written
      holdStopSignals();
      // and so is an output that cannot be written: the workload's run would be lost
      for (const f of [
        opts.select === undefined ? opts.output : undefined,
        opts.recording,
        opts.keepStraceLog,
      ])
        if (typeof f === 'string') checkWritable(f);
      if (!opts.docker && !opts.podman && (opts.duration !== undefined || opts.untilSignal !== undefined))
        throw new CliError(
          'bad-option',
          '--duration and --until-signal stop a container: use them with --docker or --podman',
        );
      if (opts.docker && opts.podman) throw new CliError('bad-option', 'give --docker or --podman, not both');
      if (opts.select !== undefined) {
        if (!opts.docker) throw new CliError('bad-option', '--select picks containers: use it with --docker');
        if (command.length > 0)
          throw new CliError(
            'bad-option',
            '--select records running containers: give no command (start the application yourself)',
          );
        return recordSelected(opts, setExit);
      }
      if (command.length === 0)
        throw new CliError(
          'no-command',
          'nothing to record: give a command after --',
          undefined,
          'sysfence record -o app.json -- ./app',
        );
      if (opts.docker || opts.podman) return recordDocker(command, opts, setExit);
      const backend = String(opts.backend);
      const arch = hostArch();
      const ro: Parameters<typeof record>[0] = {
        backend: backend as BackendChoice,
        command,
        arch,
        args: opts.args === true,
        note: (m) => err(`sysfence: ${m}`),
      };
      const user = workloadUser(opts.asRoot === true, ro.note);
      if (user) ro.user = user;
      if (opts.mapKeys !== undefined) {
        const n = Number(opts.mapKeys);
        if (!Number.isInteger(n) || n < 1024)
          throw new CliError(
            'bad-option',
            `--map-keys must be an integer >= 1024, not ${String(opts.mapKeys)}`,
          );
        ro.mapKeys = n;
      }
      if (opts.keepStraceLog) ro.keepLog = String(opts.keepStraceLog);
      const r = await record(ro);
      sayStopped();
      placePrograms(r.recording, HOST_ROOT);
      if (opts.recording) writeOutput(String(opts.recording), serializeRecording(r.recording));
      const counts = Object.entries(r.recording.syscalls).map(
        ([abi, m]) =>
          `${abi}: ${Object.keys(m ?? {}).length} syscalls, ${Object.values(m ?? {}).reduce((n, s) => n + s.count, 0)} calls`,
      );
      err(
        `sysfence: recorded with ${r.backend}${r.ebpf ? ` (${r.ebpf.engine === 'sysfence' ? "sysfence's program" : 'bpftrace'}, attached in ${r.ebpf.startupMs.toFixed(0)} ms, scoped by ${r.ebpf.scope})` : ''}: ${counts.join('; ') || 'no syscalls'}`,
      );
      if (opts.output) {
        const predicted = await predictionFor([r.recording], opts, (l) => err(`sysfence: ${l}`));
        const g = generate([r.recording], {
          ...generateOptionsOf(opts),
          ...(predicted ? { predicted } : {}),
          args: opts.args === true,
        });
        reportGenerated(g, true);
        writeGenerated(
          g,
          String(opts.format),
          String(opts.name),
          String(opts.output),
          opts.spoVersion as SpoVersion,
        );
        err(`sysfence: wrote ${String(opts.output)}`);
      } else if (!opts.recording) err('sysfence: nothing written: give -o PROFILE and/or --recording FILE');
      if ((opts.output || opts.recording) && !stopSignalReceived())
        adviseNext(opts.output as string | undefined, command);
      setExit(exitStatus(r.exit));
    });
}
