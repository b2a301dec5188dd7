#!/usr/bin/env node
// Recording a Kubernetes pod, what it costs the pod: nginx and redis (the real-workload image) in a
// pod of a containerd of this bench's own, driven through the CRI as kubelet drives it; wrk and
// redis-benchmark run in a second pod of the same node (host network), untraced and while
// `sysfence record --containerd --select` records the servers' pod. Interleaved, REPS runs each,
// medians and the ratio to untraced. The same workloads under Docker: bench/workloads.mjs.
//
// Needs root, containerd, docker (the image source), gcc, eBPF and a built dist/.
// Usage: node bench/cri.mjs   (REPS=3, SECONDS=5 by environment)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CriClient } from '../dist/exec/cri.js';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const REPS = Number(process.env.REPS ?? 3);
const SECONDS = Number(process.env.SECONDS ?? 5);
const IMAGE = 'sysfence/servers:bookworm-1';
const PAUSE = 'sysfence.bench/pause:1';
const dir = mkdtempSync(join(tmpdir(), 'sfbcri-'));
const socket = join(dir, 'c.sock');
const cgroupRoot = `sysfence-bench-kubepods-${process.pid}`;
const sh = (cmd) => execFileSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'inherit'] });

execFileSync('bash', [join(root, 'bench', 'workloads', 'build-image.sh'), IMAGE], { stdio: 'inherit' });
const fixtures = join(root, 'test', 'fixtures', 'containerd');
writeFileSync(
  join(dir, 'config.toml'),
  readFileSync(join(fixtures, 'config.toml'), 'utf8')
    .replaceAll('@DIR@', dir)
    .replaceAll('@SOCKET@', socket)
    .replaceAll('@PAUSE@', PAUSE),
);
const daemon = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: 'ignore' });
const cri = new CriClient(socket);
try {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (let i = 0; !existsSync(socket) || spawnSync('ctr', ['-a', socket, 'version']).status !== 0; i++) {
    if (i > 200) throw new Error('containerd did not start');
    await sleep(50);
  }
  mkdirSync(join(dir, 'pause'));
  execFileSync('gcc', ['-static', '-O2', '-o', join(dir, 'pause', 'pause'), join(fixtures, 'pause.c')]);
  sh(`tar -C '${dir}/pause' -c . | docker import --change 'ENTRYPOINT ["/pause"]' - ${PAUSE} >/dev/null`);
  for (const image of [PAUSE, IMAGE])
    sh(`docker save '${image}' | ctr -a '${socket}' -n k8s.io images import - >/dev/null`);

  const pod = (name, labels) => ({
    name,
    namespace: 'bench',
    uid: `uid-${name}-${process.pid}`,
    labels,
    cgroupParent: `/${cgroupRoot}/besteffort/pod${name}`,
    logDirectory: join(dir, 'logs', name),
    hostNetwork: true,
  });
  const servers = pod('servers', { app: 'bench' });
  const sid = await cri.runPodSandbox(servers);
  for (const [name, command] of [
    ['web', ['nginx', '-c', '/etc/sysfence/nginx.conf']],
    ['cache', ['redis-server', '/etc/sysfence/redis.conf', '--port', '16379']],
  ]) {
    const id = await cri.createContainer(
      sid,
      { name, image: IMAGE, command, logPath: `${name}.log` },
      servers,
    );
    await cri.startContainer(id);
  }
  await sleep(2000);

  /** Runs a driver in the drivers' pod; its output (the CRI log, one "time stream tag line" per line). */
  let runs = 0;
  async function drive(command) {
    const p = pod(`driver-${runs++}`, { app: 'driver' });
    const id = await cri.runPodSandbox(p);
    try {
      const c = await cri.createContainer(id, { name: 'driver', image: IMAGE, command, logPath: 'd.log' }, p);
      await cri.startContainer(c);
      while ((await cri.containerStatus(c)).state !== 'exited') await sleep(200);
      await cri.removeContainer(c);
      return readFileSync(join(p.logDirectory, 'd.log'), 'utf8')
        .split('\n')
        .map((l) => l.split(' ').slice(3).join(' '))
        .join('\n');
    } finally {
      await cri.stopPodSandbox(id);
      await cri.removePodSandbox(id);
    }
  }
  const wrk = async () =>
    Number(
      /Requests\/sec:\s+([\d.]+)/.exec(
        await drive(['wrk', '-t2', '-c16', `-d${SECONDS}s`, 'http://127.0.0.1:8080/index.html']),
      )?.[1],
    );
  const redis = async () => {
    const out = await drive(['redis-benchmark', '-p', '16379', '--csv', '-n', '20000', '-t', 'set,get']);
    const rps = [...out.matchAll(/^"(SET|GET)","([\d.]+)"/gm)].map((m) => Number(m[2]));
    return rps.reduce((a, b) => a + b, 0) / Math.max(1, rps.length);
  };

  const results = { untraced: { wrk: [], redis: [] }, recorded: { wrk: [], redis: [] } };
  for (let i = 0; i < REPS; i++)
    for (const mode of ['untraced', 'recorded']) {
      let rec;
      if (mode === 'recorded') {
        rec = spawn(
          'node',
          [
            cli,
            'record',
            '--containerd',
            '--cri-endpoint',
            socket,
            '--cgroup-parent',
            cgroupRoot,
            '--select',
            'app=bench',
            '--no-reach',
            '-o',
            join(dir, `out-${i}`),
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let err = '';
        rec.stderr.setEncoding('utf8').on('data', (d) => {
          err += d;
        });
        while (!err.includes('recording every container')) await sleep(100);
      }
      results[mode].wrk.push(await wrk());
      results[mode].redis.push(await redis());
      if (rec) {
        rec.kill('SIGTERM');
        await new Promise((r) => rec.once('exit', r));
      }
    }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log(
    `| pod of nginx and redis (containerd, CRI), median of ${REPS} | untraced | while recorded | recorded / untraced |`,
  );
  console.log('|---|---|---|---|');
  for (const [what, key, unit] of [
    ['nginx (wrk, 2 threads, 16 connections)', 'wrk', 'requests/s'],
    ['redis (redis-benchmark SET and GET)', 'redis', 'requests/s'],
  ]) {
    const u = median(results.untraced[key]);
    const r = median(results.recorded[key]);
    console.log(`| ${what} | ${u.toFixed(0)} ${unit} | ${r.toFixed(0)} ${unit} | ${(r / u).toFixed(2)}x |`);
  }
} finally {
  // clean up: pods, containerd, mounts, cgroups (also when a step failed)
  for (const c of await cri.listContainers().catch(() => [])) {
    await cri.stopContainer(c.id, 0).catch(() => {});
    await cri.removeContainer(c.id).catch(() => {});
  }
  for (const p of await cri.listPodSandbox().catch(() => [])) {
    await cri.stopPodSandbox(p.id).catch(() => {});
    await cri.removePodSandbox(p.id).catch(() => {});
  }
  cri.close();
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  for (const m of readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(dir))
    .reverse())
    spawnSync('umount', ['-l', m]);
  for (const l of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const f = l.split(' ');
    if (f[2] === 'cgroup' || f[2] === 'cgroup2')
      spawnSync('sh', ['-c', `find '${f[1]}/${cgroupRoot}' -depth -type d -exec rmdir {} + 2>/dev/null`]);
  }
  rmSync(dir, { recursive: true, force: true });
}
