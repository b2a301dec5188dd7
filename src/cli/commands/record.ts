import { type Command, Option } from 'commander';
import { checkWritable } from '../../exec/files.js';
import { holdStopSignals } from '../../exec/signals.js';
import { ENGINES } from '../../recorders/container-engines.js';
import { BACKEND_CHOICES } from '../../recorders/record.js';
import { chosenEngine, engineFlags, engineOptions } from '../engine-options.js';
import { CliError } from '../errors.js';
import { profileOptions } from '../profile-options.js';

import { recordCommand } from './record-command.js';
import { recordSelected } from './record-compose.js';
import { recordDocker } from './record-container.js';
import { registryOptions } from './registry.js';

const HELP = `
The command's input, output and exit status pass through unchanged; sysfence's own messages go to
stderr. eBPF (sysfence's own program; --backend bpftrace for bpftrace's) needs root and tracefs;
it counts in the kernel for the workload's cgroup only. strace needs nothing but is slower (ptrace
stops every call).

Examples:
  sudo sysfence record -o ls.json -- ls -la /
  sysfence record --backend strace --recording app.rec.json -- ./app --serve
  sysfence record --docker --select com.docker.compose.project=shop --until-signal USR1 -o profiles/
  sysfence record --containerd --select io.kubernetes.pod.namespace=shop --duration 600 -o profiles/`;

export function registerRecord(program: Command, setExit: (code: number) => void): void {
  const cmd = profileOptions(program.command('record'), ' (--docker: docker)')
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
    .option('--map-keys <n>', 'eBPF: entries per kernel map (a full map is an error, never a silent loss)');
  engineOptions(
    cmd,
    (e) =>
      e.runs
        ? `record a ${e.name} container: the arguments are \`${e.cli} run\` options, IMAGE and its command (eBPF)`
        : `record the pods of this Kubernetes node that --select names, found through ${e.name}'s CRI (eBPF)`,
    undefined,
    ENGINES,
  );
  registryOptions(cmd) // --push's (as push's)
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
      '--docker or --containerd: record every container with these labels (a Compose project: com.docker.compose.project=NAME; pods: app=web, io.kubernetes.pod.namespace=shop), also those started later; -o names a directory',
    )
    .option(
      '--push <registry/prefix[:tag]>',
      '--select: also push each profile to an OCI registry as REGISTRY/PREFIX/NAME:TAG (as `push`; --username, --password-stdin, --plain-http)',
    )
    .option(
      '--cri-endpoint <socket>',
      '--containerd: the CRI socket (default: $CONTAINER_RUNTIME_ENDPOINT, else $CONTAINERD_ADDRESS, else /run/containerd/containerd.sock)',
    )
    .option(
      '--cgroup-parent <path>',
      "--containerd: kubelet's cgroup root below the cgroup2 mount (default: kubepods.slice, else kubepods)",
    )
    .option(
      '--max-containers <n>',
      '--select: containers and restarts one recording tells apart (2-64)',
      '32',
    )
    .option('--keep-strace-log <file>', "strace backend: also keep strace's raw log")
    .addHelpText('after', HELP)
    .action(async (command: string[], opts: Record<string, string | boolean | undefined>) =>
      recordAction(command, opts, setExit),
    );
}

/** The `record` command's action. */
async function recordAction(
  command: string[],
  opts: Record<string, string | boolean | undefined>,
  setExit: (code: number) => void,
): Promise<void> {
  // SIGINT/SIGTERM/SIGHUP stop the workload; what was recorded until then is still written
  holdStopSignals();
  // and so is an output that cannot be written: the workload's run would be lost
  for (const f of [opts.select === undefined ? opts.output : undefined, opts.recording, opts.keepStraceLog])
    if (typeof f === 'string') checkWritable(f);
  const engine = chosenEngine(opts);
  if (!engine && (opts.duration !== undefined || opts.untilSignal !== undefined))
    throw new CliError(
      'bad-option',
      `--duration and --until-signal stop a container: use them with ${engineFlags()}`,
    );
  if (opts.push !== undefined && opts.select === undefined)
    throw new CliError('bad-option', '--push pushes the profiles --select writes: give --select');
  if (opts.select !== undefined) {
    if (!engine?.selects)
      throw new CliError(
        'bad-option',
        `--select picks containers: use it with ${engineFlags(ENGINES.filter((e) => e.selects))}`,
      );
    if (command.length > 0)
      throw new CliError(
        'bad-option',
        '--select records running containers: give no command (start the application yourself)',
      );
    return recordSelected(opts, setExit, engine);
  }
  if (engine && !engine.runs)
    throw new CliError(
      'bad-option',
      `--${engine.id} records the pods kubelet runs: give --select LABEL=VALUE (app=web, io.kubernetes.pod.namespace=shop)`,
    );
  if (command.length === 0)
    throw new CliError(
      'no-command',
      'nothing to record: give a command after --',
      undefined,
      'sysfence record -o app.json -- ./app',
    );
  if (engine) return recordDocker(command, opts, setExit);
  return recordCommand(command, opts, setExit);
}
