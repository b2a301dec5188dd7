import type { Command } from 'commander';
import { findArch, nativeArch } from '../../arch/tables.js';
import type { ArchId } from '../../arch/types.js';
import type { ActionKind } from '../../profile/actions.js';
import type { Profile } from '../../profile/model.js';
import { ProfileError } from '../../profile/profile-error.js';
import { resolve } from '../../profile/resolve.js';
import { CliError } from '../errors.js';
import { parseResolveOptions } from './resolve-options.js';

/** Options shared by commands that build a filter: --arch (repeatable), --native-arch, --bad-arch-action, --enosys-stub. */
export function filterOptions(cmd: Command): Command {
  return cmd
    .option(
      '--arch <abis>',
      "the filter's architectures, comma-separated or the option repeated (default: the profile's, resolved for the host)",
      (v: string, prev: string[] = []) => [
        ...prev,
        ...v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ],
    )
    .option(
      '--native-arch <arch>',
      'the machine the filter is for; runc always adds its ABI (default: this machine)',
    )
    .option(
      '--capabilities <caps>',
      "comma-separated bounding capabilities for includes/excludes (default: Docker's set)",
    )
    .option('--kernel <version>', 'host kernel version for minKernel (default: the running kernel)')
    .option(
      '--bad-arch-action <action>',
      'KILL_PROCESS (default) or KILL_THREAD (what libseccomp does by default)',
      'KILL_PROCESS',
    )
    .option('--enosys-stub', 'numbers above the highest the profile names get ENOSYS (as runc adds)');
}

export interface FilterSetup {
  profile: Profile;
  nativeArch: ArchId;
  badArchAction: ActionKind;
  enosysStub: boolean;
}

/** Resolves the profile as dockerd would for the host, then applies --arch. */
export function setupFilter(profile: Profile, opts: Record<string, unknown>): FilterSetup {
  const archList = (opts.arch as string[] | undefined)?.map((a) => {
    const d = findArch(a);
    if (!d)
      throw new CliError(
        'unknown-arch',
        `unknown architecture "${a}"`,
        undefined,
        'e.g. x86_64, x86, aarch64',
      );
    return d;
  });
  const nativeName = (opts.nativeArch as string | undefined) ?? archList?.[0]?.id;
  const native = nativeName ? findArch(nativeName) : nativeArch();
  if (!native) throw new CliError('unknown-arch', `unknown architecture "${nativeName ?? process.arch}"`);
  const bad = String(opts.badArchAction ?? 'KILL_PROCESS').toUpperCase();
  if (bad !== 'KILL_PROCESS' && bad !== 'KILL_THREAD')
    throw new CliError('bad-option', `--bad-arch-action must be KILL_PROCESS or KILL_THREAD, not ${bad}`);
  let resolved: Profile;
  try {
    resolved = resolve(profile, {
      ...parseResolveOptions({ ...(opts as Record<string, string | undefined>), arch: native.id }),
      arch: native,
    });
  } catch (e) {
    if (e instanceof ProfileError) throw new CliError(e.code, e.message, e.path);
    throw e;
  }
  if (archList) resolved = { ...resolved, architectures: archList.map((a) => a.scmp) };
  return {
    profile: resolved,
    nativeArch: native.id,
    badArchAction: bad as ActionKind,
    enosysStub: opts.enosysStub === true,
  };
}
