import { basename } from 'node:path';
import { writeOutput } from '../../exec/files.js';
import { generate } from '../../profile/generate.js';
import type { SpoVersion } from '../../profile/spo.js';
import { DOCKER, imageRoot } from '../../recorders/container-engines.js';
import { ebpfProblems } from '../../recorders/record.js';
import { recordContainer } from '../../recorders/record-docker.js';
import { exitStatus } from '../../recorders/workload.js';
import {
  formatPids,
  placePrograms,
  RecordingBuilder,
  serializeRecording,
} from '../../recording/recording.js';
import { chosenEngine } from '../engine-options.js';
import { CliError, EXIT_OK } from '../errors.js';
import { reportGenerated, writeGenerated } from '../generated.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';
import { generateOptionsOf } from '../profile-options.js';
import { predictionFor } from '../static-reach.js';
import { adviseNext, durationOption, sayStopped, signalOption } from './record-helpers.js';

export async function recordDocker(
  runArgs: string[],
  opts: Record<string, string | boolean | undefined>,
  setExit: (code: number) => void,
): Promise<void> {
  const { ce, arch, engine } = containerRecorder(opts);
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
      ...generateOptionsOf(opts, ce.runtime),
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

/** What recording a container needs: eBPF (never strace), no --args yet; which engine and program record. */
function containerRecorder(opts: Record<string, string | boolean | undefined>) {
  if (opts.args)
    throw new CliError(
      'bad-option',
      '--args is not recorded for containers yet (record --docker counts calls, not argument values)',
    );
  const ce = chosenEngine(opts) ?? DOCKER;
  const arch = hostArch();
  if (opts.backend === 'strace')
    throw new CliError(
      'bad-option',
      `--${ce.id} records with eBPF only (strace cannot follow the runtime into the container)`,
    );
  const engine: 'bpftrace' | 'sysfence' = opts.backend === 'bpftrace' ? 'bpftrace' : 'sysfence';
  const problems = ebpfProblems(arch, (m) => err(`sysfence: ${m}`), engine);
  if (problems.length > 0)
    throw new CliError('ebpf-unavailable', `record --${ce.id} needs eBPF: ${problems.join('; ')}`);
  return { ce, arch, engine };
}

export function writeKubernetesFiles(
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
