import type { Command } from 'commander';
import type { ArchId } from '../../arch/types.js';
import type { LibseccompVersion } from '../../libseccomp/names.js';
import {
  describeTarget,
  isRuntimeId,
  LIBSECCOMP_VERSIONS,
  RUNTIME_IDS,
  type RuntimeId,
  type RuntimeTarget,
  runtimeTarget,
} from '../../targets/target.js';
import { CliError } from '../errors.js';
import { hostArch } from '../host.js';

/** --runtime and --libseccomp: who enforces the profile, for every command that reports a verdict. */
export function runtimeOptions(cmd: Command, defaultRuntime: RuntimeId): Command {
  return cmd
    .option(
      '--runtime <runtime>',
      `who enforces the profile: ${RUNTIME_IDS.join(' | ')} (docker = Docker 20.10 + runc, podman = Podman + crun; sysfence = its own filter)`,
      defaultRuntime,
    )
    .option(
      '--libseccomp <version>',
      'the libseccomp series runc/crun link against: 2.5 (Debian 12) | 2.6',
      '2.5',
    );
}

export function parseLibseccompVersion(v: unknown): LibseccompVersion {
  const s = String(v ?? '2.5');
  if (!(LIBSECCOMP_VERSIONS as readonly string[]).includes(s))
    throw new CliError('bad-option', `--libseccomp must be ${LIBSECCOMP_VERSIONS.join(' or ')}, not ${s}`);
  return s as LibseccompVersion;
}

/** The runtime target the CLI gives the library: the host is this machine unless the caller names it. */
export function parseRuntimeTarget(
  opts: Record<string, unknown>,
  native: ArchId = hostArch().id,
): RuntimeTarget {
  const r = String(opts.runtime ?? 'docker');
  if (!isRuntimeId(r))
    throw new CliError('bad-option', `--runtime must be one of ${RUNTIME_IDS.join(', ')}, not ${r}`);
  return runtimeTarget(r, { libseccomp: parseLibseccompVersion(opts.libseccomp), native });
}

export { describeTarget };
