/**
 * What a container runtime itself calls after it has installed the container's seccomp filter and
 * before the workload runs (its execve of the workload included): without these, the container
 * does not start. Measured by scripts/measure-runtime-sets.mjs into data/runtime-sets.json, per
 * runtime, with no_new_privileges off and on (united here).
 */
import { readData } from './data-files.js';
import { RUNTIMES as FACTS, RUNTIME_IDS, type RuntimeId } from './runtimes.js';

/** What `--for` takes: every runtime whose start-up is measured (knowledge/runtimes.ts), and none. */
export const FOR_RUNTIMES: readonly Runtime[] = [
  ...RUNTIME_IDS.filter((id) => FACTS[id].measured.length > 0),
  'none',
];
export type Runtime = RuntimeId | 'none';

interface MeasuredData {
  arch: string;
  kernel: string;
  runsPerSetting: number;
  runtimes: Record<string, { measuredWith: string; syscalls: string[] }>;
}

export interface RuntimeSet {
  runtime: Runtime;
  /** Where the set comes from, for the user and the report. */
  source: string;
  syscalls: { name: string; because: string }[];
}

/**
 * `runc init` is a Go program. The thread that installs the filter can, at any moment, be
 * preempted by the Go scheduler's SIGURG (rt_sigreturn), park or wake on a futex, yield or sleep,
 * and allocate. Measured runs show some of these in some runs and not in others, so they are added
 * for runc-based runtimes whether a given measurement saw them or not.
 */
const GO_RUNTIME = ['futex', 'madvise', 'mmap', 'munmap', 'nanosleep', 'rt_sigreturn', 'sched_yield'];

export function runtimeSet(runtime: Runtime): RuntimeSet {
  if (runtime === 'none' || FACTS[runtime].measured.length === 0)
    return { runtime, source: 'no runtime', syscalls: [] };
  const data = JSON.parse(readData('runtime-sets.json')) as MeasuredData;
  // podman's calls inside the container are its OCI runtime's: crun by Debian's default, runc
  // where containers.conf says so (hosts whose cgroup v2 carries controllers in hybrid mode, where
  // crun refuses to run). Measured with podman itself (with runc) and with crun: the union, so a
  // podman profile starts under either.
  const measured = FACTS[runtime].measured;
  const sets = measured.map((r) => {
    const m = data.runtimes[r];
    if (!m && r !== 'podman') throw new Error(`data/runtime-sets.json has no measurement for ${r}`);
    return { r, m };
  });
  const source = sets
    .filter((x) => x.m)
    .map(
      (x) =>
        `${x.r === 'podman' ? '' : runtime === 'podman' ? 'podman with crun: ' : ''}measured with ${x.m?.measuredWith}`,
    )
    .join('; ')
    .concat(` on Linux ${data.kernel} (${data.arch})`);
  const out = new Map<string, string>();
  for (const { m } of sets)
    for (const name of m?.syscalls ?? [])
      if (!out.has(name)) out.set(name, `${runtime} calls it after installing the filter (${source})`);
  const goBased =
    runtime === 'docker' ||
    runtime === 'runc' ||
    (runtime === 'podman' && (data.runtimes.podman?.measuredWith ?? '').includes('runc'));
  if (goBased)
    for (const name of GO_RUNTIME)
      if (!out.has(name))
        out.set(
          name,
          `runc init is a Go program: its scheduler may call it on the filtered thread at any time`,
        );
  return {
    runtime,
    source,
    syscalls: [...out].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, because]) => ({ name, because })),
  };
}
