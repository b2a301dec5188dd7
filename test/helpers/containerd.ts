// A containerd of the test's own, as a Kubernetes node runs it (CRI plugin, runc through its shim,
// the cgroupfs driver), on its own socket, root and state directories under a temporary
// directory: nothing of the machine's containerd (Docker's included) is touched. Host-network
// pods need no CNI. The sandbox (pause) image is built here (static C programs: pause, and exit), the workload
// image comes from the local Docker engine (`docker save | ctr import`): no registry.
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient } from '../../src/exec/cri.js';
import { ok, run, type Started, start, tempDir, until } from './proc.js';

export const PAUSE_IMAGE = 'sysfence.test/pause:1';

export interface TestContainerd {
  socket: string;
  /** kubelet's cgroup root for this test (below every hierarchy's mount): removed at the end. */
  cgroupRoot: string;
  cri: CriClient;
  stop(): Promise<void>;
}

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'containerd');

/** The shared configuration (test/fixtures/containerd/config.toml) for this directory and socket. */
function containerdConfig(dir: string, socket: string, pause: string): string {
  return readFileSync(join(FIXTURES, 'config.toml'), 'utf8')
    .replaceAll('@DIR@', dir)
    .replaceAll('@SOCKET@', socket)
    .replaceAll('@PAUSE@', pause);
}

/** Starts containerd and imports the pause image and `images` (tags of the local Docker engine). */
export async function startContainerd(images: readonly string[]): Promise<TestContainerd> {
  const dir = tempDir('sfctd-');
  const socket = join(dir, 'containerd.sock');
  const cgroupRoot = `sysfence-test-kubepods-${process.pid}`;
  const config = containerdConfig(dir, socket, PAUSE_IMAGE);
  writeFileSync(join(dir, 'config.toml'), config);
  const daemon: Started = start('containerd', ['--config', join(dir, 'config.toml')], {
    scope: 'file',
    stdout: 'ignore',
  });
  await until('containerd to answer', async () => (await run('ctr', ['-a', socket, 'version'])).status === 0);
  const cri = new CriClient(socket);
  // the sandbox image: a static pause
  await ok(run('mkdir', ['-p', join(dir, 'pause-root')]));
  await ok(run('gcc', ['-static', '-O2', '-o', join(dir, 'pause-root', 'pause'), join(FIXTURES, 'pause.c')]));
  // and /exit, whose only call is exit_group: what a runtime calls around it is the runtime's
  const exitOnly = join(import.meta.dirname, '..', 'fixtures', 'record', 'exit-only.c');
  await ok(run('gcc', ['-O2', '-static', '-nostdlib', '-o', join(dir, 'pause-root', 'exit'), exitOnly]));
  await ok(
    run('sh', [
      '-c',
      `tar -C '${dir}/pause-root' -c . | docker import --change 'ENTRYPOINT ["/pause"]' - ${PAUSE_IMAGE} >/dev/null`,
    ]),
  );
  for (const image of [PAUSE_IMAGE, ...images])
    await ok(
      run('sh', ['-c', `docker save '${image}' | ctr -a '${socket}' -n k8s.io images import - >/dev/null`], {
        timeout: 600_000,
      }),
    );
  return {
    socket,
    cgroupRoot,
    cri,
    async stop() {
      // every pod gone first (their shims end with them), then containerd, then what is left
      try {
        for (const c of await cri.listContainers()) {
          await cri.stopContainer(c.id, 0).catch(() => {});
          await cri.removeContainer(c.id).catch(() => {});
        }
        for (const p of await cri.listPodSandbox()) {
          await cri.stopPodSandbox(p.id).catch(() => {});
          await cri.removePodSandbox(p.id).catch(() => {});
        }
      } finally {
        cri.close();
        daemon.signal('SIGTERM');
        await daemon.exit;
        // mounts under the test's directories (a snapshot left by a crash) before they are removed
        const mounts = readFileSync('/proc/self/mounts', 'utf8')
          .split('\n')
          .map((l) => l.split(' ')[1] ?? '')
          .filter((m) => m.startsWith(dir))
          .sort()
          .reverse();
        for (const m of mounts) await run('umount', ['-l', m]);
        for (const h of cgroupMounts()) removeTree(join(h, cgroupRoot));
      }
    },
  };
}

/** Every cgroup hierarchy's mount point (v1 controllers and the v2 tree). */
function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'cgroup' || f[2] === 'cgroup2')
    .map((f) => f[1] as string);
}

/** Removes an empty cgroup tree (children first). */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const d of readdirSync(dir, { withFileTypes: true }))
    if (d.isDirectory()) removeTree(join(dir, d.name));
  try {
    rmdirSync(dir);
  } catch {
    // still in use: left for the machine's owner to see
  }
}
