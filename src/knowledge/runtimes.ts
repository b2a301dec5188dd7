/**
 * The one vocabulary of container runtimes: who enforces a profile (`--runtime` of verify, lint,
 * check, validate, inspect) and whose own start-up calls a profile must allow (`--for` of
 * generate, record, learn) are the same ids, each a row here. A new runtime is a row (and, for
 * `--for`, its measurement in data/runtime-sets.json); targets/ reads `engine` and
 * `dropsDefaultErrnoRet`, runtime-sets.ts reads `measured`.
 */

export const RUNTIME_IDS = ['sysfence', 'docker', 'runc', 'podman', 'crun', 'libseccomp'] as const;
export type RuntimeId = (typeof RUNTIME_IDS)[number];

export interface RuntimeFacts {
  /**
   * The program that builds the filter: sysfence's compiler, or libseccomp through runc (with its
   * ENOSYS stub) or crun, or libseccomp alone as runc calls it (no stub: what `verify
   * --against-libseccomp` compares).
   */
  readonly engine: 'sysfence' | 'runc' | 'crun' | 'libseccomp';
  /** Docker 20.10 does not pass defaultErrnoRet on to the runtime (measured). */
  readonly dropsDefaultErrnoRet: boolean;
  readonly name: string;
  /**
   * The measurements (data/runtime-sets.json) of what it calls after installing the filter, united
   * (podman's OCI runtime is crun or runc, by containers.conf). Empty: nothing runs between the
   * filter and the workload that a profile must allow (not offered by --for).
   */
  readonly measured: readonly string[];
}

export const RUNTIMES: Record<RuntimeId, RuntimeFacts> = {
  sysfence: {
    engine: 'sysfence',
    dropsDefaultErrnoRet: false,
    name: "sysfence's own filter (bubblewrap, direct)",
    measured: [],
  },
  docker: {
    engine: 'runc',
    dropsDefaultErrnoRet: true,
    name: 'Docker 20.10 + runc 1.1',
    measured: ['docker'],
  },
  runc: { engine: 'runc', dropsDefaultErrnoRet: false, name: 'runc 1.1', measured: ['runc'] },
  podman: {
    engine: 'crun',
    dropsDefaultErrnoRet: false,
    name: 'Podman 4.3 + crun 1.8',
    measured: ['podman', 'crun'],
  },
  crun: { engine: 'crun', dropsDefaultErrnoRet: false, name: 'crun 1.8', measured: ['crun'] },
  libseccomp: {
    engine: 'libseccomp',
    dropsDefaultErrnoRet: false,
    name: "libseccomp's filter as runc builds it (no stub)",
    measured: [],
  },
};

export const isRuntimeId = (s: string): s is RuntimeId => (RUNTIME_IDS as readonly string[]).includes(s);
