/**
 * `record --containerd --select LABEL=VALUE`: the pods of a Kubernetes node, found as kubelet
 * knows them, through the CRI (exec/cri.ts): any CRI runtime (containerd, CRI-O) answers the same
 * questions. Containers' cgroups are made below kubelet's `kubepods` cgroup (cgroupfs driver:
 * `kubepods/[burstable|besteffort/]podUID/ID`; systemd: `kubepods.slice/.../cri-containerd-ID.scope`),
 * which the recorder watches. The tree is read every 200 ms while recording and once at the end,
 * each new container described at once (a container removed before the end keeps its name); a
 * container that lived less than that is counted, not named. A pod's labels, namespace and name
 * count for the selection, with the container's own labels; replicas and restarts of one
 * container name in one namespace are merged as runs.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient, type PodSandbox } from '../exec/cri.js';
import { normalizeImageRef } from '../exec/image-files.js';
import { CONTAINERD, imageRoot } from './container-engines.js';
import type { ContainerWatcher, Described } from './record-app.js';

export interface CriWatchOptions {
  /** The CRI socket (unix:///run/containerd/containerd.sock). */
  endpoint: string;
  /** kubelet's cgroup root below the cgroup2 mount (default: kubepods.slice if present, else kubepods). */
  cgroupParent?: string;
  note?: (m: string) => void;
  pollMs?: number;
}

/** A container's ID from its cgroup directory's name (cgroupfs: the ID; systemd: a scope). */
export function containerIdOf(dir: string): string | undefined {
  const m = /^(?:(?:cri-containerd|crio|docker)-)?([0-9a-f]{64})(?:\.scope)?$/.exec(dir);
  return m?.[1];
}

/** Every container cgroup below `root` (kubelet nests them 2-3 levels deep), with its inode. */
function walk(root: string, depth: number, out: [bigint, string][]): void {
  if (depth > 5) return;
  let names: string[];
  try {
    names = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch {
    return; // gone meanwhile
  }
  for (const name of names) {
    const id = containerIdOf(name);
    if (id) {
      try {
        out.push([statSync(join(root, name), { bigint: true }).ino, id]);
      } catch {
        // gone meanwhile
      }
    } else walk(join(root, name), depth + 1, out);
  }
}

interface Info {
  sandboxID?: string;
  config?: { metadata?: { name?: string }; image?: { image?: string }; labels?: Record<string, string> };
}

export function criWatcher(o: CriWatchOptions): ContainerWatcher {
  const client = new CriClient(o.endpoint, 10_000);
  let parentDir = '';
  let timer: NodeJS.Timeout | undefined;
  const described = new Map<string, Promise<Described | undefined>>();
  let pods = new Map<string, PodSandbox>();
  const refreshPods = async () => {
    pods = new Map((await client.listPodSandbox()).map((p) => [p.id, p]));
  };
  // a pod's own sandbox (its pause process): the runtime's, not a workload
  const sandboxOf = (pod: PodSandbox): Described => ({
    name: `${pod.namespace}/${pod.name} (sandbox)`,
    service: '',
    image: '',
    labels: {},
    ignore: true,
  });
  const describeNow = async (id: string): Promise<Described | undefined> => {
    const known = pods.get(id);
    if (known) return sandboxOf(known);
    let info: Info;
    try {
      info = JSON.parse((await client.containerStatus(id, true)).info.info ?? '{}') as Info;
    } catch {
      // not a container: a sandbox started since the pods were listed, or one removed already
      await refreshPods().catch(() => {});
      const pod = pods.get(id);
      return pod ? sandboxOf(pod) : undefined;
    }
    // the pods are listed again only when this container's is not known yet
    if (info.sandboxID && !pods.has(info.sandboxID)) await refreshPods().catch(() => {});
    const sandbox = info.sandboxID ? pods.get(info.sandboxID) : undefined;
    const name = info.config?.metadata?.name ?? id.slice(0, 12);
    const ns = sandbox?.namespace ?? info.config?.labels?.['io.kubernetes.pod.namespace'] ?? '';
    const image = info.config?.image?.image;
    const ref = image ? normalizeImageRef(image) : undefined;
    return {
      name: `${ns}/${sandbox?.name ?? '?'}/${name}`,
      service: ns ? `${ns}/${name}` : name,
      image: image ?? 'unknown',
      // its programs ran from the pod's image: static reach reads them there (ctr images mount)
      ...(ref ? { imageId: ref, root: imageRoot(CONTAINERD.id, ref) } : {}),
      labels: {
        ...(sandbox?.labels ?? {}),
        ...(info.config?.labels ?? {}),
        'io.kubernetes.pod.namespace': ns,
        ...(sandbox ? { 'io.kubernetes.pod.name': sandbox.name, 'io.kubernetes.pod.uid': sandbox.uid } : {}),
        'io.kubernetes.container.name': name,
      },
    };
  };
  const poll = (see: (ino: bigint, id: string) => void) => {
    const found: [bigint, string][] = [];
    walk(parentDir, 0, found);
    for (const [ino, id] of found) {
      see(ino, id);
      if (!described.has(id)) described.set(id, describeNow(id));
    }
  };
  return {
    source: 'ebpf-cri',
    async check() {
      const v = await client.version();
      o.note?.(`CRI at ${o.endpoint}: ${v.runtimeName} ${v.runtimeVersion} (${v.apiVersion})`);
    },
    parent(cg2) {
      parentDir = o.cgroupParent
        ? join(cg2, o.cgroupParent)
        : existsSync(join(cg2, 'kubepods.slice'))
          ? join(cg2, 'kubepods.slice')
          : join(cg2, 'kubepods');
      return parentDir;
    },
    async start(see) {
      await refreshPods();
      poll(see);
      if (described.size > 0)
        o.note?.(
          `${described.size} container${described.size === 1 ? ' was' : 's were'} already running: only what they do from now on is recorded`,
        );
      timer = setInterval(() => poll(see), o.pollMs ?? 200);
    },
    async settle(see) {
      if (timer) clearInterval(timer);
      timer = undefined;
      await refreshPods().catch(() => {});
      poll(see);
    },
    async describe(id) {
      return (await described.get(id)) ?? describeNow(id);
    },
    stop() {
      if (timer) clearInterval(timer);
      client.close();
    },
  };
}
