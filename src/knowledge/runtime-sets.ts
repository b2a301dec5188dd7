/**
 * What a container runtime itself calls after it has installed the container's seccomp filter and
 * before the workload runs (its execve of the workload included): without these, the container
 * does not start. Measured by scripts/measure-runtime-sets.mjs into data/runtime-sets.json, per
 * runtime, with no_new_privileges off and on (united here).
 */
import { readData } from './data-files.js';

export const RUNTIMES = ['docker', 'runc', 'crun', 'podman', 'none'] as const;
export type Runtime = (typeof RUNTIMES)[number];

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
  if (runtime === 'none') return { runtime, source: 'no runtime', syscalls: [] };
  const data = JSON.parse(readData('runtime-sets.json')) as MeasuredData;
  // podman runs containers with crun on Debian 12 (its default OCI runtime); podman itself is not
  // installed on the machines that measured the sets
  const measured = runtime === 'podman' ? 'crun' : runtime;
  const m = data.runtimes[measured];
  if (!m) throw new Error(`data/runtime-sets.json has no measurement for ${measured}`);
  const source = `${runtime === 'podman' ? 'podman runs crun: ' : ''}measured with ${m.measuredWith} on Linux ${data.kernel} (${data.arch})`;
  const out = new Map<string, string>();
  for (const name of m.syscalls) out.set(name, `${runtime} calls it after installing the filter (${source})`);
  if (measured === 'docker' || measured === 'runc')
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
