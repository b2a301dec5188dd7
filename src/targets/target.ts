/**
 * Who enforces a profile. sysfence's own filter (bubblewrap, `run --via direct`) enforces exactly
 * what the profile says (evaluate()); container runtimes build their filter with libseccomp, whose
 * program can differ from the profile (src/libseccomp/), and add their own behaviour on top.
 */
import { findArch } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';
import { LIBSECCOMP_RELEASE, type LibseccompVersion } from '../libseccomp/names.js';
import { ProfileError } from '../profile/profile-error.js';

export const RUNTIME_IDS = ['sysfence', 'docker', 'runc', 'podman', 'crun', 'libseccomp'] as const;
export type RuntimeId = (typeof RUNTIME_IDS)[number];
export const LIBSECCOMP_VERSIONS: readonly LibseccompVersion[] = ['2.5', '2.6'];

interface RuntimeFacts {
  /**
   * The program that builds the filter: sysfence's compiler, or libseccomp through runc (with its
   * ENOSYS stub) or crun, or libseccomp alone as runc calls it (no stub: what `verify
   * --against-libseccomp` compares).
   */
  engine: 'sysfence' | 'runc' | 'crun' | 'libseccomp';
  /** Docker 20.10 does not pass defaultErrnoRet on to the runtime (measured). */
  dropsDefaultErrnoRet: boolean;
  name: string;
}

export const RUNTIMES: Record<RuntimeId, RuntimeFacts> = {
  sysfence: {
    engine: 'sysfence',
    dropsDefaultErrnoRet: false,
    name: "sysfence's own filter (bubblewrap, direct)",
  },
  docker: { engine: 'runc', dropsDefaultErrnoRet: true, name: 'Docker 20.10 + runc 1.1' },
  runc: { engine: 'runc', dropsDefaultErrnoRet: false, name: 'runc 1.1' },
  podman: { engine: 'crun', dropsDefaultErrnoRet: false, name: 'Podman 4.3 + crun 1.8' },
  crun: { engine: 'crun', dropsDefaultErrnoRet: false, name: 'crun 1.8' },
  libseccomp: {
    engine: 'libseccomp',
    dropsDefaultErrnoRet: false,
    name: "libseccomp's filter as runc builds it (no stub)",
  },
};

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

export const isRuntimeId = (s: string): s is RuntimeId => (RUNTIME_IDS as readonly string[]).includes(s);
