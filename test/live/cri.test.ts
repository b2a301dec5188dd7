// Kubernetes nodes, proven at the CRI: a containerd of the test's own driven exactly as kubelet
// drives it (RunPodSandbox, CreateContainer with the pod's labels and the container's
// securityContext.seccompProfile, StartContainer). A pod of two containers (nginx and redis from the
// real-workload image) is recorded by its label, a replica of it too; then started again with
// Localhost profiles from the result (every request served, no denial, the loaded filter equal to
// the profile as runc builds it), with a profile less one call (fails as check predicts), with
// RuntimeDefault (containerd's own profile, compared with Docker's) and Unconfined (no filter).
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DaemonSet } from 'kubernetes-models/apps/v1';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { findArch } from '../../src/arch/tables.js';
import type { ContainerConfig, PodConfig, SeccompProfile } from '../../src/exec/cri.js';
import { runtimeSet } from '../../src/knowledge/runtime-sets.js';
import { explainProfile } from '../../src/profile/explain.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { referenceProfile } from '../../src/profile/reference-profiles.js';
import { AuditReader } from '../../src/recorders/audit.js';
import { ebpfProblems } from '../../src/recorders/record.js';
import { RecordingBuilder } from '../../src/recording/recording.js';
import { PAUSE_IMAGE, startContainerd, type TestContainerd } from '../helpers/containerd.js';
import { ok, run, start, startSysfence, sysfence, tempDir, until } from '../helpers/proc.js';
import { haveDocker, haveTool, requirement } from '../helpers/tools.js';

const skip =
  process.arch !== 'x64'
    ? 'written for x86_64 hosts'
    : (requirement(haveDocker(), 'a running Docker engine (scripts/start-dockerd.sh)') ??
      requirement(haveTool('containerd', ['--version']), 'containerd (Debian package containerd)') ??
      requirement(haveTool('gcc'), 'gcc') ??
      requirement(haveTool('docker-registry', ['--version']), 'docker-registry') ??
      requirement(
        ebpfProblems(findArch('x86_64')!).length === 0,
        `eBPF (${ebpfProblems(findArch('x86_64')!).join('; ')})`,
      ));

const IMAGE = 'sysfence/servers:bookworm-1';
const WEB_PORT = 8080; // bench/workloads/files/etc/sysfence/nginx.conf
const CACHE_PORT = 16379;
const dir = tempDir('sysfence-cri-');
const table: string[] = [];
let node: TestContainerd;
let registry = '';

beforeAll(async () => {
  if (skip) return;
  await ok(
    run('bash', [join(import.meta.dirname, '..', '..', 'bench', 'workloads', 'build-image.sh'), IMAGE], {
      timeout: 1_200_000,
    }),
  );
  node = await startContainerd([IMAGE]);
  // an OCI registry on 127.0.0.1 (Debian's docker-registry) for record --push
  const port = await new Promise<number>((res) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as { port: number }).port;
      srv.close(() => res(p));
    });
  });
  registry = `127.0.0.1:${port}`;
  writeFileSync(
    join(dir, 'registry.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'registry')}\nhttp:\n  addr: ${registry}\n`,
  );
  start('docker-registry', ['serve', join(dir, 'registry.yml')], {
    scope: 'file',
    stdout: 'ignore',
    stderr: 'ignore',
  });
  await until(
    'the registry',
    async () =>
      (await fetch(`http://${registry}/v2/`).then(
        (r) => r.status,
        () => 0,
      )) === 200,
  );
}, 1_200_000);

afterAll(async () => {
  if (skip) return;
  await node?.stop();
  if (table.length > 0)
    console.log(`\nKubernetes node (containerd through the CRI), per container:\n${table.join('\n')}`);
}, 300_000);

/** A pod as kubelet makes it: labels, namespace, its cgroup below the test's kubepods root. */
function pod(name: string): PodConfig {
  return {
    name,
    namespace: 'shop',
    uid: `uid-${name}-${process.pid}`,
    labels: { app: 'shop', 'pod-template-hash': '1' },
    cgroupParent: `/${node.cgroupRoot}/besteffort/pod${name}`,
    logDirectory: join(dir, 'logs', name),
    hostNetwork: true,
  };
}

const containers = (seccomp: { web?: SeccompProfile; cache?: SeccompProfile } = {}): ContainerConfig[] => [
  {
    name: 'web',
    image: IMAGE,
    command: ['nginx', '-c', '/etc/sysfence/nginx.conf'],
    logPath: 'web.log',
    labels: { 'io.kubernetes.container.name': 'web' },
    ...(seccomp.web ? { seccomp: seccomp.web } : {}),
  },
  {
    name: 'cache',
    image: IMAGE,
    command: ['redis-server', '/etc/sysfence/redis.conf', '--port', String(CACHE_PORT)],
    logPath: 'cache.log',
    labels: { 'io.kubernetes.container.name': 'cache' },
    ...(seccomp.cache ? { seccomp: seccomp.cache } : {}),
  },
];

interface RunningPod {
  id: string;
  ids: Record<string, string>;
}

async function runPod(name: string, cs: ContainerConfig[]): Promise<RunningPod> {
  const p = pod(name);
  const id = await node.cri.runPodSandbox(p);
  const ids: Record<string, string> = {};
  for (const c of cs) {
    ids[c.name] = await node.cri.createContainer(id, c, p);
    await node.cri.startContainer(ids[c.name]!);
  }
  return { id, ids };
}

async function removePod(p: RunningPod): Promise<void> {
  for (const c of Object.values(p.ids)) {
    await node.cri.stopContainer(c, 5);
    await node.cri.removeContainer(c);
  }
  await node.cri.stopPodSandbox(p.id);
  await node.cri.removePodSandbox(p.id);
}

/** A pod for the length of `fn`, removed after it whatever happens (host network: one at a time). */
async function withPod<T>(
  name: string,
  cs: ContainerConfig[],
  fn: (p: RunningPod) => Promise<T>,
): Promise<T> {
  const p = await runPod(name, cs);
  try {
    return await fn(p);
  } finally {
    await removePod(p);
  }
}

const pidOf = async (id: string): Promise<number> =>
  JSON.parse((await node.cri.containerStatus(id, true)).info.info ?? '{}').pid as number;

/** The Seccomp: line of a process's status (0: no filter, 2: a filter). */
const seccompMode = (pid: number) =>
  /^Seccomp:\s+(\d)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

/** `sysfence inspect` of a process's loaded filters against a profile as runc builds it. */
async function inspectPid(pid: number, profile: string) {
  const r = await sysfence([
    'inspect',
    '--pid',
    String(pid),
    '--profile',
    profile,
    '--runtime',
    'runc',
    '--interrupt',
    '--json',
  ]);
  return {
    status: r.status,
    ...(JSON.parse(r.stdout) as {
      equal: boolean;
      differences: { abi: string; name: string; loaded: string; expected: string }[];
    }),
  };
}

/** GET / from nginx: the status, or 0 when no answer came in time. */
function get(): Promise<number> {
  return new Promise((resolve) => {
    const r = request({ host: '127.0.0.1', port: WEB_PORT, path: '/', timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    r.on('timeout', () => r.destroy());
    r.on('error', () => resolve(0));
    r.end();
  });
}

/** One redis command (inline protocol): its reply's first line, or '' when none came in time. */
function redis(cmd: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(CACHE_PORT, '127.0.0.1');
    let got = '';
    const done = (v: string) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2000, () => done(''));
    s.on('error', () => done(''));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) done(got.split('\r\n')[0]!);
    });
    s.write(`${cmd}\r\n`);
  });
}

/** Requests against the pod: how many of each were served. */
async function traffic(n: number): Promise<{ http: number; redis: number }> {
  let http = 0;
  let kv = 0;
  for (let i = 0; i < n; i++) {
    if ((await get()) === 200) http++;
    if ((await redis(`SET k${i} v${i}`)) === '+OK' && (await redis(`GET k${i}`)) === `$${`v${i}`.length}`)
      kv++;
  }
  return { http, redis: kv };
}

const ready = () =>
  until('the pod to serve', async () => (await get()) === 200 && (await redis('PING')) === '+PONG', 60_000);

describe.skipIf(skip !== undefined)('Kubernetes node: containerd through the CRI', () => {
  const out = join(dir, 'profiles');

  it('record --containerd --select app=shop: every container of the pod and of its replica, per container name', async () => {
    const rec = startSysfence(
      [
        'record',
        '--containerd',
        '--cri-endpoint',
        node.socket,
        '--cgroup-parent',
        node.cgroupRoot,
        '--select',
        'app=shop',
        '--until-signal',
        'USR1',
        '--push',
        `${registry}/pods:v1`,
        '-o',
        out,
      ],
      { timeout: 600_000 },
    );
    await until('the recorder', () => rec.stderr().includes('recording every container'), 120_000);
    // a pod, then its replica (host network: one at a time)
    for (const name of ['shop-0', 'shop-1'])
      await withPod(name, containers(), async () => {
        await ready();
        expect(await traffic(20)).toEqual({ http: 20, redis: 20 });
      });
    rec.signal('SIGUSR1');
    const r = await rec.exit;
    expect([r.code, rec.stderr()]).toEqual([
      0,
      expect.stringContaining('shop/web: shop/shop-0/web, shop/shop-1/web (2 runs)'),
    ]);
    expect(rec.stderr()).toContain('shop/cache: shop/shop-0/cache, shop/shop-1/cache (2 runs)');
    // static reach read the programs in the pod's image, as containerd stores it
    expect(rec.stderr()).toContain(
      'shop/web: static reach: /usr/sbin/nginx in image docker.io/sysfence/servers:bookworm-1:',
    );
    // each profile pushed as REGISTRY/pods/NAME:v1: pulled back, the bytes sysfence writes
    const pulled = await sysfence(['pull', `${registry}/pods/shop-web:v1`, '-o', join(dir, 'pulled.json')]);
    expect(pulled.status, pulled.stderr).toBe(0);
    const written = await sysfence(['convert', join(out, 'shop-web.json'), '--to', 'docker']);
    expect(readFileSync(join(dir, 'pulled.json'), 'utf8')).toBe(written.stdout);
    const sc = readFileSync(join(out, 'shop-web.securitycontext.yaml'), 'utf8');
    expect(sc).toContain('localhostProfile: sysfence/shop-web.json');
    const rec0 = JSON.parse(readFileSync(join(out, 'shop-web.rec.json'), 'utf8'));
    expect(Object.keys(rec0.syscalls.x86_64)).toEqual(
      expect.arrayContaining(['accept4', 'epoll_wait', 'sendfile']),
    );
  }, 900_000);

  it('Localhost profiles from the recording: every request served, no denial, the loaded filter is the profile', async () => {
    const localhost = (n: string): SeccompProfile => ({
      type: 'Localhost',
      path: join(out, `shop-${n}.json`),
    });
    await withPod('shop-2', containers({ web: localhost('web'), cache: localhost('cache') }), async (p) => {
      await ready();
      const served = await traffic(50);
      expect(served).toEqual({ http: 50, redis: 50 });
      for (const name of ['web', 'cache']) {
        const pid = await pidOf(p.ids[name]!);
        expect(seccompMode(pid)).toBe('2');
        const profile = join(out, `shop-${name}.json`);
        const j = await inspectPid(pid, profile);
        expect([name, j.status, j.equal, j.differences]).toEqual([name, 0, true, []]);
        // allowed on x86_64 (audited predictions and siblings counted apart), next to the defaults
        const json = JSON.parse(readFileSync(profile, 'utf8'));
        const [mine] = explainProfile(parseDockerProfile(JSON.stringify(json)).profile!, {
          arches: ['x86_64'],
        });
        const logged = new Set(
          json.syscalls
            .filter(
              (x: { action: string; args?: unknown[] }) => x.action === 'SCMP_ACT_LOG' && !x.args?.length,
            )
            .flatMap((x: { names: string[] }) => x.names),
        ).size;
        const size = (ref: 'containerd-default' | 'docker-default') =>
          explainProfile(referenceProfile(ref), { arches: ['x86_64'] })[0]!.allowed;
        table.push(
          `  shop/${name.padEnd(6)} Localhost: ${mine!.allowed - logged} allowed + ${logged} audited = ${mine!.allowed} (containerd's RuntimeDefault ${size('containerd-default')}, Docker's default ${size('docker-default')}); ${name === 'web' ? `${served.http}/50 requests` : `${served.redis}/50 SET+GET`} served, no denial, loaded filter equal to the profile`,
        );
      }
      const errors = readFileSync(`/proc/${await pidOf(p.ids.web!)}/root/var/log/nginx/error.log`, 'utf8');
      expect(errors).not.toMatch(/failed \((1|38):/);
    });
  }, 300_000);

  it('less accept4: check predicts the denial, nginx falls back to accept (ENOSYS); less both: it serves nothing', async () => {
    const less = (drop: string[]) => {
      const p = JSON.parse(readFileSync(join(out, 'shop-web.json'), 'utf8'));
      for (const rule of p.syscalls) rule.names = rule.names.filter((n: string) => !drop.includes(n));
      const file = join(dir, `web-less-${drop.join('-')}.json`);
      writeFileSync(file, JSON.stringify(p));
      return file;
    };
    const web = (file: string) => containers({ web: { type: 'Localhost', path: file } })[0]!;
    const listening = () =>
      until(
        'nginx to listen',
        async () => (await run('ss', ['-Hltn', `sport = :${WEB_PORT}`])).stdout.trim() !== '',
      );
    // accept4 denied with ENOSYS: nginx takes accept instead (its call-family sibling is allowed)
    const one = less(['accept4']);
    const predicted = await sysfence([
      'check',
      '--runtime',
      'runc',
      '--profile',
      one,
      join(out, 'shop-web.rec.json'),
    ]);
    expect([predicted.status, predicted.stdout + predicted.stderr]).toEqual([
      1,
      expect.stringContaining('accept4'),
    ]);
    await withPod('shop-3', [web(one)], async () => {
      await listening();
      expect(await get()).toBe(200);
    });
    // both denied: no connection is accepted, and nginx says why
    const both = less(['accept', 'accept4']);
    await withPod('shop-4', [web(both)], async (p) => {
      await listening();
      expect(await get()).toBe(0);
      const pid = await pidOf(p.ids.web!);
      await until("the denial in nginx's log", () =>
        readFileSync(`/proc/${pid}/root/var/log/nginx/error.log`, 'utf8').includes(
          'accept() failed (38: Function not implemented)',
        ),
      );
    });
    table.push(
      '  shop/web    less accept4: check predicts the denial; nginx falls back to accept (ENOSYS, the family sibling) and serves',
      '  shop/web    less accept and accept4: no request served (accept() failed, ENOSYS)',
    );
  }, 300_000);

  it("RuntimeDefault is containerd's own profile; Unconfined loads no filter", async () => {
    const cs = containers({ web: { type: 'RuntimeDefault' }, cache: { type: 'Unconfined' } });
    await withPod('shop-5', cs, async (p) => {
      await ready();
      expect(seccompMode(await pidOf(p.ids.cache!))).toBe('0');
      const webPid = await pidOf(p.ids.web!);
      const inspect = (profile: string) => inspectPid(webPid, profile);
      // containerd's own profile, measured into data/profiles/containerd-default.json: equal
      const own = await inspect(join('data', 'profiles', 'containerd-default.json'));
      expect([own.status, own.equal, own.differences]).toEqual([0, true, []]);
      // and where it is not Docker's (on x86_64): looser on io_uring and AF_VSOCK, stricter elsewhere
      const docker = await inspect(join('data', 'profiles', 'docker-default.json'));
      const x64 = docker.differences.filter((d) => d.abi === 'x86_64');
      const looser = x64.filter((d) => d.loaded === 'ALLOW').map((d) => d.name);
      const stricter = x64.filter((d) => d.expected === 'ALLOW').map((d) => d.name);
      expect([looser, stricter]).toEqual([
        ['socket', 'io_uring_setup', 'io_uring_enter', 'io_uring_register'],
        [
          'name_to_handle_at',
          'process_vm_readv',
          'process_vm_writev',
          'cachestat',
          'fchmodat2',
          'map_shadow_stack',
          'futex_wake',
          'futex_wait',
          'futex_requeue',
        ],
      ]);
      table.push(
        "  RuntimeDefault: containerd's own profile, equal to data/profiles/containerd-default.json (every number and argument value)",
        `    vs Docker's default on x86_64: allows ${looser.join(', ')} (socket: AF_VSOCK), which Docker's denies; denies ${stricter.join(', ')}`,
        '  Unconfined: no filter (Seccomp: 0)',
      );
    });
  }, 300_000);

  it('the node agent: its DaemonSet container, as kubelet hands it to the CRI, records pods with CAP_BPF and CAP_PERFMON only', async () => {
    const docs = parseAllDocuments(readFileSync(join('deploy', 'node-agent.yaml'), 'utf8')).map((d) =>
      d.toJS(),
    );
    const ds = docs.find((d) => d.kind === 'DaemonSet');
    new DaemonSet(ds).validate(); // Kubernetes' own schema
    const spec = ds.spec.template.spec;
    const c = spec.containers[0];
    // the privileges, as docs/kubernetes.md lists them: nothing more
    expect([
      spec.hostPID,
      spec.hostNetwork,
      c.securityContext.privileged,
      c.securityContext.capabilities,
    ]).toEqual([undefined, undefined, false, { drop: ['ALL'], add: ['BPF', 'PERFMON'] }]);
    await ok(
      run('bash', [join('scripts', 'build-agent-image.sh'), 'sysfence/agent:test'], { timeout: 600_000 }),
    );
    await ok(
      run(
        'sh',
        [
          '-c',
          `docker save sysfence/agent:test | ctr -a '${node.socket}' -n k8s.io images import - >/dev/null`,
        ],
        {
          timeout: 600_000,
        },
      ),
    );
    // the volumes where this test keeps them: the test's containerd socket, its own output and /tmp
    const out = tempDir('sysfence-agent-out-');
    const hostPathOf = (name: string): string => {
      const v = spec.volumes.find((x: { name: string }) => x.name === name);
      if (v.emptyDir) return tempDir('sysfence-agent-tmp-');
      if (v.hostPath.path === '/run/containerd/containerd.sock') return node.socket;
      if (v.hostPath.path === '/var/lib/sysfence') return out;
      return v.hostPath.path;
    };
    // its arguments with what kubelet substitutes, selecting this test's pods below its cgroup root
    const args = (c.args as string[]).map((a) =>
      a.replace('$(NODE_NAME)', 'node-1').replace('io.kubernetes.pod.namespace=default', 'app=shop'),
    );
    const agentPod: PodConfig = {
      name: 'sysfence-agent-x',
      namespace: 'sysfence',
      uid: `uid-agent-${process.pid}`,
      labels: ds.spec.template.metadata.labels,
      cgroupParent: `/${node.cgroupRoot}/besteffort/podagent`,
      logDirectory: join(dir, 'logs', 'agent'),
      // (this node has no CNI: the sandbox takes the node's network; the agent uses none at all)
      hostNetwork: true,
    };
    const sandbox = await node.cri.runPodSandbox(agentPod);
    const agent = await node.cri.createContainer(
      sandbox,
      {
        name: c.name,
        image: 'sysfence/agent:test',
        args: [...args, '--cgroup-parent', node.cgroupRoot],
        logPath: 'agent.log',
        mounts: c.volumeMounts.map((m: { name: string; mountPath: string; readOnly?: boolean }) => ({
          containerPath: m.mountPath,
          hostPath: hostPathOf(m.name),
          readonly: m.readOnly === true,
        })),
        capabilities: c.securityContext.capabilities,
        runAsUser: c.securityContext.runAsUser,
        readonlyRootfs: c.securityContext.readOnlyRootFilesystem,
        noNewPrivs: c.securityContext.allowPrivilegeEscalation === false,
        seccomp: { type: c.securityContext.seccompProfile.type },
      },
      agentPod,
    );
    try {
      await node.cri.startContainer(agent);
      const log = () => {
        try {
          return readFileSync(join(dir, 'logs', 'agent', 'agent.log'), 'utf8');
        } catch {
          return '';
        }
      };
      await until('the agent to record', () => log().includes('recording every container'), 120_000);
      const status = readFileSync(`/proc/${await pidOf(agent)}/status`, 'utf8');
      expect(/^CapEff:\s+(\w+)/m.exec(status)?.[1]).toBe('000000c000000000'); // CAP_PERFMON (38), CAP_BPF (39)
      await withPod('shop-6', containers(), async () => {
        await ready();
        expect(await traffic(10)).toEqual({ http: 10, redis: 10 });
      });
      // the DaemonSet deleted: SIGTERM, and what was recorded is written
      await node.cri.stopContainer(agent, 60);
      expect(log()).toContain('shop/web: shop/shop-6/web (1 run)');
      const written = JSON.parse(readFileSync(join(out, 'profiles', 'node-1', 'shop-web.rec.json'), 'utf8'));
      expect(Object.keys(written.syscalls.x86_64)).toEqual(expect.arrayContaining(['accept4', 'epoll_wait']));
      table.push(
        '  node agent (deploy/node-agent.yaml through the CRI): CapEff BPF+PERFMON only, no host PID, read-only root filesystem: recorded shop/web and shop/cache, wrote them on SIGTERM',
      );
    } finally {
      await node.cri.removeContainer(agent).catch(() => {});
      await node.cri.stopPodSandbox(sandbox);
      await node.cri.removePodSandbox(sandbox);
    }
  }, 900_000);

  it("the runtime's own calls after the filter, through containerd's shim: runc's and crun's sets hold", async () => {
    // the workload makes exit_group only; a LOG default makes the kernel log every call under the
    // filter: the records of the workload's process other than its exit_group are the runtime's
    const logAll = join(dir, 'log-all.json');
    writeFileSync(
      logAll,
      JSON.stringify({ defaultAction: 'SCMP_ACT_LOG', architectures: ['SCMP_ARCH_X86_64'] }),
    );
    const ratelimit = readFileSync('/proc/sys/kernel/printk_ratelimit', 'utf8').trim();
    writeFileSync('/proc/sys/kernel/printk_ratelimit', '0');
    const measured: Record<string, string[]> = {};
    const refused: string[] = [];
    try {
      for (const handler of ['runc', 'crun'] as const) {
        const seen = new Set<string>();
        for (let i = 0; i < 3; i++) {
          await ok(run('dmesg', ['-C']));
          const p = pod(`rt-${handler}-${i}`);
          const sandbox = await node.cri.runPodSandbox(p, handler).catch((e: Error) => {
            // crun refuses cgroup v2 controllers in hybrid mode (this machine's layout); anything
            // else is a failure
            if (handler === 'crun' && /cgroups in hybrid mode not supported/.test(e.message))
              return undefined;
            throw e;
          });
          if (sandbox === undefined) {
            refused.push(handler);
            break;
          }
          try {
            const c = await node.cri.createContainer(
              sandbox,
              {
                name: 'exit',
                image: PAUSE_IMAGE,
                command: ['/exit'],
                logPath: 'exit.log',
                seccomp: { type: 'Localhost', path: logAll },
              },
              p,
            );
            await node.cri.startContainer(c);
            await until(
              'the workload to exit',
              async () => (await node.cri.containerStatus(c)).state === 'exited',
            );
            await node.cri.removeContainer(c);
          } finally {
            await node.cri.stopPodSandbox(sandbox);
            await node.cri.removePodSandbox(sandbox);
          }
          const b = new RecordingBuilder();
          const reader = new AuditReader(b, 'kmsg');
          for (const [n, l] of (await ok(run('dmesg', []))).split('\n').entries()) reader.line(l, n + 1);
          const calls = b.build().syscalls.x86_64 ?? {};
          // (one process exited under a LOG default in this window: the workload)
          const exit = calls.exit_group;
          expect([handler, exit?.executables.includes('/exit'), exit?.pids.length]).toEqual([
            handler,
            true,
            1,
          ]);
          const pid = exit?.pids[0];
          for (const [name, s] of Object.entries(calls))
            if (s.pids.includes(pid!) && name !== 'exit_group') seen.add(name);
        }
        if (!refused.includes(handler)) measured[handler] = [...seen].sort();
      }
    } finally {
      writeFileSync('/proc/sys/kernel/printk_ratelimit', ratelimit);
    }
    // every call the runtime made through containerd is in the set generate --for adds
    for (const handler of refused)
      table.push(
        `  ${handler} through containerd's shim: refused here (cgroups in hybrid mode not supported), not measured`,
      );
    expect(Object.keys(measured)).toContain('runc');
    for (const handler of ['runc', 'crun'] as const) {
      if (!measured[handler]) continue;
      const known = new Set(runtimeSet(handler).syscalls.map((s) => s.name));
      expect([handler, measured[handler]!.filter((n) => !known.has(n))]).toEqual([handler, []]);
      table.push(
        `  ${handler} through containerd's shim, after the filter: ${measured[handler]!.length} calls (${measured[handler]!.join(', ')}), all in --for ${handler}'s set (${known.size})`,
      );
    }
  }, 300_000);
});
