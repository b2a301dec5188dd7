import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeOutput } from '../../exec/files.js';
import { CONTAINERD, type ContainerEngine, DOCKER } from '../../recorders/container-engines.js';
import { ebpfProblems } from '../../recorders/record.js';
import { recordApplication } from '../../recorders/record-app.js';
import { criWatcher } from '../../recorders/record-cri.js';
import { criEndpoint } from '../engine-options.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';

import { durationOption, sayStopped, signalOption } from './record-helpers.js';
import { writeService } from './record-select-out.js';
import { pushTarget } from './registry.js';

/**
 * --docker --select and --containerd --select: every matching container, one profile per service
 * (Docker) or container name (a node's pods) in the -o directory with its recording and
 * SeccompProfile (record-select-out.ts); for Docker, a Compose override file that applies them.
 */
export async function recordSelected(
  opts: Record<string, string | boolean | string[] | undefined>,
  setExit: (code: number) => void,
  engine: ContainerEngine = DOCKER,
): Promise<void> {
  const dir = opts.output;
  if (typeof dir !== 'string')
    throw new CliError('bad-option', '--select writes one profile per service: give -o DIRECTORY');
  if (typeof opts.push === 'string') pushTarget(opts.push); // a bad reference is said before recording
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
  const r = await recordApplication({
    arch,
    select,
    ...(cri ? { watcher: podWatcher(opts, note) } : {}),
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
    const file = await writeService(s, dir, engine, opts);
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

/** A node's pods through the CRI (--cri-endpoint, --cgroup-parent). */
function podWatcher(
  opts: Record<string, string | boolean | string[] | undefined>,
  note: (m: string) => void,
): ReturnType<typeof criWatcher> {
  return criWatcher({
    endpoint: criEndpoint(opts.criEndpoint),
    ...(typeof opts.cgroupParent === 'string' ? { cgroupParent: opts.cgroupParent } : {}),
    note,
  });
}
