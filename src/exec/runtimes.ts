/** Container runtimes, as sysfence starts them (measurement, proofs, `run`). */
import { spawnSync } from 'node:child_process';

const CGROUP2_HYBRID = '/sys/fs/cgroup/unified';

/**
 * The command line that runs an OCI bundle with runc or crun. crun 1.8 refuses a hybrid cgroup
 * layout whose v2 hierarchy holds a controller ("cgroups in hybrid mode not supported"); there it
 * runs in a private mount namespace without the v2 mount, where it sees plain cgroup v1.
 */
export function ociRunCommand(runtime: 'runc' | 'crun', bundle: string, id: string): [string, string[]] {
  const args = ['run', '--bundle', bundle, id];
  if (runtime === 'runc') return ['runc', args];
  const hybrid = spawnSync('mountpoint', ['-q', CGROUP2_HYBRID]).status === 0;
  if (!hybrid) return ['crun', args];
  return [
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      `umount ${CGROUP2_HYBRID} && exec crun "$@"`,
      'crun',
      ...args,
    ],
  ];
}
