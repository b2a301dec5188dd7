/**
 * Who enforces a profile. sysfence's own filter (bubblewrap, `run --via direct`) enforces exactly
 * what the profile says (evaluate()); container runtimes build their filter with libseccomp, whose
 * program can differ from the profile (src/libseccomp/), and add their own behaviour on top.
 */
import { findArch } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';
import { RUNTIMES, type RuntimeId } from '../knowledge/runtimes.js';
import { LIBSECCOMP_RELEASE, type LibseccompVersion } from '../libseccomp/names.js';
import { ProfileError } from '../profile/profile-error.js';

export type { RuntimeFacts, RuntimeId } from '../knowledge/runtimes.js';
export { isRuntimeId, RUNTIME_IDS, RUNTIMES } from '../knowledge/runtimes.js';

export const LIBSECCOMP_VERSIONS: readonly LibseccompVersion[] = ['2.5', '2.6'];

export interface RuntimeTarget {
  runtime: RuntimeId;
  /** The libseccomp series runc/crun link against (Debian 12: 2.5). */
  libseccomp: LibseccompVersion;
  /** The host ABI (the filter always holds it). */
  native: ArchId;
}

/** The target, with defaults filled in: libseccomp 2.5, this machine's ABI. */
export function runtimeTarget(
  runtime: RuntimeId,
  o: { libseccomp?: LibseccompVersion; native: ArchId },
): RuntimeTarget {
  const native = o.native;
  if (!findArch(native)) throw new ProfileError('unknown-arch', '$', `unknown architecture "${native}"`);
  return { runtime, libseccomp: o.libseccomp ?? '2.5', native };
}

export function describeTarget(t: RuntimeTarget): string {
  const facts = RUNTIMES[t.runtime];
  if (facts.engine === 'sysfence') return facts.name;
  if (facts.engine === 'libseccomp')
    return `libseccomp ${LIBSECCOMP_RELEASE[t.libseccomp]} (as runc builds the filter, without its stub)`;
  return `${facts.name} + libseccomp ${LIBSECCOMP_RELEASE[t.libseccomp]}`;
}
