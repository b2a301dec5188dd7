/**
 * The container engines sysfence records and runs containers with, as data: their command, how
 * they say which cgroup driver they use, and the name of a container's cgroup under a parent.
 */
export interface ContainerEngine {
  readonly id: 'docker' | 'podman';
  /** The command line tool. */
  readonly cli: string;
  readonly install: string;
  /** Arguments that print the cgroup driver (`cgroupfs` or `systemd`). */
  readonly driverQuery: readonly string[];
  /** The container's cgroup leaf under `--cgroup-parent` (cgroupfs: a path; systemd: a slice). */
  leaf(id: string, driver: string): string;
  /** Other cgroups the engine makes below the parent (podman: its conmon's), removed with it. */
  readonly otherCgroups: readonly string[];
  /** The recording's source name. */
  readonly source: string;
  readonly codes: { readonly unavailable: string; readonly createFailed: string };
}

export const DOCKER: ContainerEngine = {
  id: 'docker',
  cli: 'docker',
  install: 'apt-get install docker.io',
  driverQuery: ['info', '--format', '{{.CgroupDriver}}'],
  leaf: (id, driver) => (driver === 'systemd' ? `docker-${id}.scope` : id),
  otherCgroups: [],
  source: 'ebpf-docker',
  codes: { unavailable: 'docker-unavailable', createFailed: 'docker-create-failed' },
};

/**
 * Podman (4.x): its containers' cgroups are `libpod-ID` below the parent. Its OCI runtime and
 * default ulimits come from containers.conf (`CONTAINERS_CONF`), as for any podman command.
 */
export const PODMAN: ContainerEngine = {
  id: 'podman',
  cli: 'podman',
  install: 'apt-get install podman',
  driverQuery: ['info', '--format', '{{.Host.CgroupManager}}'],
  leaf: (id, driver) => (driver === 'systemd' ? `libpod-${id}.scope` : `libpod-${id}`),
  otherCgroups: ['conmon'],
  source: 'ebpf-podman',
  codes: { unavailable: 'podman-unavailable', createFailed: 'podman-create-failed' },
};
