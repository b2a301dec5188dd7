/**
 * What `record --select` writes per service (Docker) or container name (a node's pods): the
 * recording, the profile (held to Docker's default and to the engine's own), its SeccompProfile, for
 * pods the securityContext kubelet reads, and with --push the profile as an OCI artifact.
 */
import { join, resolve as resolvePath } from 'node:path';
import { writeOutput } from '../../exec/files.js';
import { generate } from '../../profile/generate.js';
import type { SpoVersion } from '../../profile/spo.js';
import { CONTAINERD, type ContainerEngine } from '../../recorders/container-engines.js';
import type { AppService } from '../../recorders/record-app.js';
import { serializeRecording } from '../../recording/recording.js';
import { reportGenerated, writeGenerated } from '../generated.js';
import { err } from '../output.js';
import { generateOptionsOf } from '../profile-options.js';
import { predictionFor } from '../static-reach.js';
import { pushProfile, pushTarget } from './registry.js';

type Opts = Record<string, string | boolean | string[] | undefined>;

/** One service's files in `dir`; returns the profile's path. */
export async function writeService(
  s: AppService,
  dir: string,
  engine: ContainerEngine,
  opts: Opts,
): Promise<string> {
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
  if (engine.id === CONTAINERD.id)
    writeSecurityContext(join(dir, `${name}.securitycontext.yaml`), name, `${name}.json`, s.containers);
  const calls = Object.values(s.recording.syscalls).reduce((n, m) => n + Object.keys(m ?? {}).length, 0);
  const runs = s.recording.runs ?? 1;
  err(
    `sysfence: ${s.service}: ${s.containers.join(', ')} (${runs} run${runs === 1 ? '' : 's'}): ${calls} syscalls -> ${file}`,
  );
  if (typeof opts.push === 'string') {
    // REGISTRY/PREFIX[:TAG]: each profile as REGISTRY/PREFIX/NAME:TAG (latest without a tag)
    const ref = pushTarget(opts.push);
    const at = `${ref.registry}/${ref.repository}/${name}:${ref.tag ?? 'latest'}`;
    err(`sysfence: ${s.service}: ${await pushProfile(g.profile, at, opts)}`);
  }
  return file;
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
