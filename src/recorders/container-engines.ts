/**
 * The container engines sysfence records and runs containers with, as data: their command, how
 * they say which cgroup driver they use, and the name of a container's cgroup under a parent.
 * `ENGINES` is the one list: the CLI's `--docker`/`--podman` options (record, run, learn,
 * inspect, reach --engine), the image a recorded program came from (`RecordedProgram.root`) and
 * static reach's reading of it are all made from its rows. A new engine is a row here (and the
 * runtime it enforces with, measured, in knowledge/runtime-sets.ts).
 */
import type { RuntimeId } from '../knowledge/runtimes.js';

export type EngineId = 'docker' | 'podman' | 'containerd';

export interface ContainerEngine {
  readonly id: EngineId;
  /** As people write it: "Docker", "Podman". */
  readonly name: string;
  /** The command line tool. */
  readonly cli: string;
  /** It can record running containers picked by label (`record --select`). */
  readonly selects: boolean;
  /**
   * Its command line starts and enters containers (record/run/learn a container, inspect one,
   * reach --engine of its images). containerd's containers are kubelet's: sysfence finds them
   * through the CRI (`record --containerd --select`) and starts none itself.
   */
  readonly runs: boolean;
  /** What to do when the engine does not answer. */
  readonly unavailableHint: string;
  /** The OCI runtime behind it, as people say it ("Docker's runtime (runc)"). */
  readonly runtimeName: string;
  /** The same, as a row of knowledge/runtimes.ts: who builds its filter, what it calls after it. */
  readonly runtime: RuntimeId;
  /**
   * Its default profile (data/profiles): what its containers get without one. `record --select`
   * holds a profile for it to this one as well as to Docker's (record --podman: to Docker's only).
   */
  readonly defaultProfile: 'docker-default' | 'podman-default' | 'containerd-default';
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
  name: 'Docker',
  cli: 'docker',
  selects: true,
  runs: true,
  unavailableHint: 'start dockerd, and run as root or in the docker group',
  runtimeName: "Docker's runtime (runc)",
  runtime: 'docker',
  defaultProfile: 'docker-default',
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
  name: 'Podman',
  cli: 'podman',
  selects: false,
  runs: true,
  unavailableHint: 'run as root (rootless podman is not recorded)',
  runtimeName: "Podman's runtime (crun)",
  runtime: 'podman',
  defaultProfile: 'podman-default',
  install: 'apt-get install podman',
  driverQuery: ['info', '--format', '{{.Host.CgroupManager}}'],
  leaf: (id, driver) => (driver === 'systemd' ? `libpod-${id}.scope` : `libpod-${id}`),
  otherCgroups: ['conmon'],
  source: 'ebpf-podman',
  codes: { unavailable: 'podman-unavailable', createFailed: 'podman-create-failed' },
};

/**
 * containerd as a Kubernetes node runs it: pods found through the CRI (its socket: --cri-endpoint,
 * CONTAINER_RUNTIME_ENDPOINT, else containerd's own), their cgroups below kubelet's `kubepods`.
 * Its runtime is runc through containerd's shim, which passes defaultErrnoRet on. Its RuntimeDefault
 * profile is containerd's own (data/profiles/containerd-default.json, measured from a running
 * container's loaded filter): it allows io_uring and AF_VSOCK sockets, which Docker's denies, and
 * denies process_vm_readv/writev, name_to_handle_at and calls newer than its list, which Docker's allows.
 */
export const CONTAINERD: ContainerEngine = {
  id: 'containerd',
  name: 'containerd',
  cli: 'ctr',
  selects: true,
  runs: false,
  unavailableHint: 'start containerd, and give its CRI socket with --cri-endpoint',
  runtimeName: "containerd's runtime (runc)",
  runtime: 'runc',
  defaultProfile: 'containerd-default',
  install: 'apt-get install containerd',
  driverQuery: [],
  leaf: (id, driver) => (driver === 'systemd' ? `cri-containerd-${id}.scope` : id),
  otherCgroups: [],
  source: 'ebpf-cri',
  codes: { unavailable: 'cri-unavailable', createFailed: 'cri-failed' },
};

/** Every engine, in the order the CLI lists them. */
export const ENGINES: readonly ContainerEngine[] = [DOCKER, PODMAN, CONTAINERD];

/** The engines whose command line starts and enters containers (ContainerEngine.runs). */
export const RUNNING_ENGINES: readonly ContainerEngine[] = ENGINES.filter((e) => e.runs);

export function engineById(id: string): ContainerEngine | undefined {
  return ENGINES.find((e) => e.id === id);
}

/** `RecordedProgram.root` of a program that ran from an engine's image (its ID). */
export const imageRoot = (engine: EngineId, id: string): string => `${engine}-image:${id}`;

/** The engine and image ID of an image root, or undefined for another kind of root. */
export function parseImageRoot(root: string): { engine: ContainerEngine; image: string } | undefined {
  const m = /^([a-z]+)-image:(.+)$/.exec(root);
  const engine = m ? engineById(m[1] as string) : undefined;
  return engine ? { engine, image: m?.[2] as string } : undefined;
}
