// `record --podman` and `run --podman`: a Podman container recorded (and only it), its profile runs
// the same container under podman, the profile without podman's runtime set does not start it,
// and a profile missing a call the workload needs gets that call named as a denial.
//
// Podman reads its OCI runtime and default ulimits from containers.conf: this test writes its own
// (CONTAINERS_CONF). runc, because Debian's crun refuses hosts whose cgroup v2 carries controllers
// in hybrid mode (as here); ulimits within this machine's hard limits (podman's default nofile,
// 1048576, is above them, and root cannot raise them here).
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { ebpfProblems } from '../../src/recorders/record.js';
import { ok, run, sysfence as runSysfence, startSysfence, tempDir } from '../helpers/proc.js';
import { haveTool, requirement } from '../helpers/tools.js';

const x86_64 = findArch('x86_64')!;
const skip =
  process.arch !== 'x64'
    ? 'the runtime sets were measured on x86_64'
    : (requirement(haveTool('podman', ['version']), 'podman') ??
      requirement(ebpfProblems(x86_64).length === 0, `eBPF (${ebpfProblems(x86_64).join('; ')})`));

const IMAGE = `localhost/sysfence-shell:podman${process.pid}`;
// (podman writes the container's own /etc/hostname: the image's mark is elsewhere)
const CMD = ['/bin/sh', '-c', 'ls / > /dev/null; cat /etc/sysfence-mark'];
let dir = '';
let env: Record<string, string> = {};
// this test's containers carry this label: it looks at what it made, nothing else on the machine
const LABEL = `sysfence-test=${randomUUID()}`;

const podman = (args: string[]) => run('podman', args, { env });
const sysfence = (args: string[]) => runSysfence(args, { env });
const runUnder = (profile: string) =>
  podman(['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${profile}`, IMAGE, ...CMD]);

beforeAll(async () => {
  if (skip) return;
  dir = tempDir('sysfence-podman-');
  writeFileSync(
    join(dir, 'containers.conf'),
    '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n',
  );
  env = { CONTAINERS_CONF: join(dir, 'containers.conf') };
  // an image of the host's own sh, ls and cat (no registry here)
  const root = join(dir, 'root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc', 'sysfence-mark'), 'sysfence-podman\n');
  for (const bin of ['/bin/sh', '/bin/ls', '/bin/cat']) {
    await ok(run('cp', [bin, join(root, 'bin')]));
    for (const lib of (await ok(run('ldd', [bin]))).match(/\/\S+/g) ?? []) {
      mkdirSync(join(root, dirname(lib)), { recursive: true });
      await ok(run('cp', ['-L', lib, join(root, lib)]));
    }
  }
  await ok(run('sh', ['-c', `tar -C '${root}' -c . | podman import - ${IMAGE}`], { env }));
}, 120_000);

afterAll(async () => {
  if (skip) return;
  await podman(['rmi', '-f', IMAGE]);
});

describe.skipIf(skip !== undefined)('record --podman, run --podman', () => {
  it("records the container; its profile runs it; without podman's runtime set it does not start", async () => {
    const out = join(dir, 'shell.json');
    const rec = startSysfence(
      ['record', '--podman', '-o', out, '--', '--network', 'none', '--label', LABEL, IMAGE, ...CMD],
      { env },
    );
    const done = await rec.exit;
    const r = { status: done.code, stdout: rec.stdout(), stderr: rec.stderr() };
    expect([r.status, r.stdout]).toEqual([0, 'sysfence-podman\n']);
    expect(r.stderr).toMatch(/recorded container [0-9a-f]{12} \(attached in \d+ ms\): \d+ syscalls/);
    expect(r.stderr).toContain(
      'podman calls it after installing the filter (measured with podman 4.3.1 with runc',
    );
    // nothing left behind: this recording's container, and the cgroups named after its sysfence
    expect((await podman(['ps', '-aq', '--filter', `label=${LABEL}`])).stdout.trim()).toBe('');
    const mine = readdirSync('/sys/fs/cgroup').flatMap((c) => {
      try {
        return readdirSync(join('/sys/fs/cgroup', c))
          .filter((d) => d === `sysfence-${rec.pid}` || d.startsWith(`sysfence-${rec.pid}-`))
          .map((d) => join(c, d));
      } catch {
        return []; // a file, not a controller
      }
    });
    expect(mine).toEqual([]);
    const good = await runUnder(out);
    expect([good.status, good.stdout]).toEqual([0, 'sysfence-podman\n']);
    // the profile without what runc calls after installing the filter (its execve of the workload
    // among them): the container does not start
    const p = parseDockerProfile(readFileSync(out, 'utf8')).profile!;
    const bare = {
      ...p,
      syscalls: (p.syscalls ?? []).map((rule) => ({
        ...rule,
        names: (rule.names ?? []).filter((n) => !['execve', 'fstatfs', 'capset'].includes(n)),
      })),
    };
    writeFileSync(join(dir, 'bare.json'), serializeDocker(bare));
    const refused = await runUnder(join(dir, 'bare.json'));
    expect(refused.status).not.toBe(0);
    expect(refused.stdout).toBe('');
  }, 120_000);

  it('run --podman names the denial of a call the workload needs; a container that never ran writes nothing', async () => {
    const out = join(dir, 'shell.json');
    const p = parseDockerProfile(readFileSync(out, 'utf8')).profile!;
    // brk: glibc's malloc asks for memory with it (and falls back to mmap when it fails); runc
    // itself does not call it after installing the filter
    const less = {
      ...p,
      syscalls: (p.syscalls ?? []).map((rule) => ({
        ...rule,
        names: (rule.names ?? []).filter((n) => n !== 'brk'),
      })),
    };
    writeFileSync(join(dir, 'less.json'), serializeDocker(less));
    const r = await sysfence([
      'run',
      '--podman',
      '--profile',
      join(dir, 'less.json'),
      '--',
      '--network',
      'none',
      IMAGE,
      ...CMD,
    ]);
    expect(r.stderr).toMatch(/DENIED x86_64 brk: \d+ calls?, ERRNO\(38\) by default/);
    const none = await sysfence([
      'record',
      '--podman',
      '-o',
      join(dir, 'none.json'),
      '--',
      IMAGE,
      '/no/such/program',
    ]);
    expect([none.status, none.stderr.split('\n').find((l) => l.startsWith('error['))]).toEqual([
      2,
      expect.stringMatching(/^error\[container-failed\]: the container never ran its workload/),
    ]);
    expect(existsSync(join(dir, 'none.json'))).toBe(false);
  }, 120_000);
});
