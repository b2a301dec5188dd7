import { mkdirSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { CONTAINERD_SOCKET } from '../../exec/cri.js';
import { writeOutput } from '../../exec/files.js';
import { generate } from '../../profile/generate.js';
import type { SpoVersion } from '../../profile/spo.js';
import { CONTAINERD, type ContainerEngine, DOCKER } from '../../recorders/container-engines.js';
import { ebpfProblems } from '../../recorders/record.js';
import { recordApplication } from '../../recorders/record-app.js';
import { criWatcher } from '../../recorders/record-cri.js';
import { serializeRecording } from '../../recording/recording.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { reportGenerated, writeGenerated } from '../generated.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';
import { generateOptionsOf } from '../profile-options.js';
import { predictionFor, useContainerdAddress } from '../static-reach.js';

import { durationOption, sayStopped, signalOption } from './record-helpers.js';

/**
 * --docker --select: every matching container, one profile per service in the -o directory, with
 * its recording and SeccompProfile, and a Compose override file that applies them.
 */
export async function recordSelected(
  opts: Record<string, string | boolean | string[] | undefined>,
  setExit: (code: number) => void,
  engine: ContainerEngine = DOCKER,
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
    throw new CliError(
      'ebpf-unavailable',
      `record --${engine.id} --select needs eBPF: ${problems.join('; ')}`,
    );
  mkdirSync(dir, { recursive: true });
  const note = (m: string) => err(`sysfence: ${m}`);
  const cri = engine.id === CONTAINERD.id;
  if (cri) useContainerdAddress(criEndpoint(opts.criEndpoint));
  const r = await recordApplication({
    arch,
    select,
    ...(cri
      ? {
          watcher: criWatcher({
            endpoint: criEndpoint(opts.criEndpoint),
            ...(typeof opts.cgroupParent === 'string' ? { cgroupParent: opts.cgroupParent } : {}),
            note,
          }),
        }
      : {}),
    maxContainers: Number(opts.maxContainers),
    note,
    onReady: () =>
      err(
        `sysfence: recording every container with ${select.join(', ')}: start the application${cri ? ' (its pods)' : ''}`,
      ),
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
      ...generateOptionsOf(opts as Record<string, string | boolean | undefined>, engine.runtime),
      // never weaker than Docker's default, nor than the default profile the engine would apply
      ...(engine.defaultProfile !== 'docker-default'
        ? { baselines: ['docker-default', engine.defaultProfile] }
        : {}),
      ...(predicted ? { predicted } : {}),
    });
    reportGenerated(g, true);
    writeGenerated(g, String(opts.format), name, file, opts.spoVersion as SpoVersion);
    writeGenerated(g, 'spo', name, join(dir, `${name}.spo.yaml`), opts.spoVersion as SpoVersion);
    if (cri)
      writeSecurityContext(join(dir, `${name}.securitycontext.yaml`), name, `${name}.json`, s.containers);
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
  if (cri) {
    err(
      `sysfence: wrote, per container name, NAME.json (the Localhost profile), NAME.rec.json, NAME.spo.yaml and NAME.securitycontext.yaml`,
    );
    setExit(EXIT_OK);
    return;
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

/** The CRI socket: --cri-endpoint, else $CONTAINER_RUNTIME_ENDPOINT (crictl's), else containerd's. */
export function criEndpoint(v: unknown): string {
  if (typeof v === 'string' && v !== '') return v;
  return process.env.CONTAINER_RUNTIME_ENDPOINT || CONTAINERD_SOCKET;
}

/**
 * The container's securityContext as kubelet reads it: a Localhost profile is a path below
 * kubelet's seccomp directory (/var/lib/kubelet/seccomp), where the profile is to be copied on
 * every node (or installed by the Security Profiles Operator from NAME.spo.yaml).
 */
function writeSecurityContext(file: string, name: string, profile: string, containers: string[]): void {
  writeOutput(
    file,
    [
      `# ${name}: recorded from ${containers.join(', ')}`,
      `# copy ${profile} to /var/lib/kubelet/seccomp/sysfence/${profile} on every node (kubelet reads`,
      `# Localhost profiles there), or apply ${name}.spo.yaml with the Security Profiles Operator and use`,
      `# localhostProfile: operator/<namespace>/${name}.json`,
      'securityContext:',
      '  seccompProfile:',
      '    type: Localhost',
      `    localhostProfile: sysfence/${profile}`,
      '',
    ].join('\n'),
  );
}
