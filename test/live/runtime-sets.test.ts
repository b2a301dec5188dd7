// The runtime sets (data/runtime-sets.json, measured by scripts/measure-runtime-sets.mjs) proven
// on the runtimes installed here: a container whose workload only calls exit_group starts under
// exactly {exit_group} + the runtime's set, and does not start without the set.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ociRunCommand } from '../../src/exec/runtimes.js';
import { type Runtime, runtimeSet } from '../../src/knowledge/runtime-sets.js';
import { generate } from '../../src/profile/generate.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { RecordingBuilder } from '../../src/recording/recording.js';
import { ok, run, tempDir } from '../helpers/proc.js';
import { haveDocker, haveTool, requirement } from '../helpers/tools.js';

const docker = haveDocker();
const skip =
  process.arch !== 'x64'
    ? 'the sets were measured on x86_64'
    : (requirement(process.getuid?.() === 0, 'root (containers)') ??
      requirement(haveTool('gcc'), 'gcc') ??
      requirement(docker, 'a running Docker engine (scripts/start-dockerd.sh)') ??
      requirement(haveTool('runc', ['--version']), 'runc') ??
      requirement(haveTool('crun', ['--version']), 'crun'));

const IMAGE = 'sysfence/exit-only:test';
let dir = '';

function profileFor(runtime: Runtime): string {
  const b = new RecordingBuilder();
  b.call('x86_64', 'exit_group');
  const g = generate([b.build()], { runtime: runtimeSet(runtime) });
  return serializeDocker(g.profile);
}

beforeAll(async () => {
  if (skip) return;
  dir = tempDir('sysfence-rt-');
  mkdirSync(join(dir, 'bundle', 'rootfs'), { recursive: true });
  const exitOnly = join(import.meta.dirname, '..', 'fixtures', 'record', 'exit-only.c');
  await ok(
    run('gcc', ['-O2', '-static', '-nostdlib', '-o', join(dir, 'bundle', 'rootfs', 'exit'), exitOnly]),
  );
  await ok(
    run('sh', [
      '-c',
      `tar -C '${join(dir, 'bundle', 'rootfs')}' -c exit | docker import -c 'ENTRYPOINT ["/exit"]' - ${IMAGE}`,
    ]),
  );
  await ok(run('runc', ['spec'], { cwd: join(dir, 'bundle') }));
});

afterAll(async () => {
  if (skip) return;
  await run('docker', ['rmi', '-f', IMAGE]);
});

async function runDocker(profile: string, nnp: boolean): Promise<number | null> {
  const f = join(dir, 'profile.json');
  writeFileSync(f, profile);
  const args = ['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${f}`];
  if (nnp) args.push('--security-opt', 'no-new-privileges');
  return (await run('docker', [...args, IMAGE])).status;
}

let n = 0;
async function runOci(runtime: 'runc' | 'crun', profile: string, nnp: boolean): Promise<number | null> {
  const bundle = join(dir, 'bundle');
  const base = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  const p = JSON.parse(profile);
  // an OCI config carries the resolved filter: the same names, no Docker-only fields
  const c = {
    ...base,
    root: { path: 'rootfs', readonly: true },
    process: { ...base.process, args: ['/exit'], terminal: false, noNewPrivileges: nnp },
    linux: { ...base.linux, seccomp: { ...p, architectures: ['SCMP_ARCH_X86_64'] } },
  };
  const cfgDir = join(dir, `b${n++}`);
  mkdirSync(cfgDir);
  await ok(run('cp', ['-a', join(bundle, 'rootfs'), cfgDir]));
  writeFileSync(join(cfgDir, 'config.json'), JSON.stringify(c));
  const [cmd, args] = ociRunCommand(runtime, cfgDir, `sysfence-rt-${process.pid}-${n}`);
  const r = await run(cmd, args, { timeout: 60_000 });
  await run(runtime, ['delete', '-f', `sysfence-rt-${process.pid}-${n}`]);
  return r.status;
}

describe.skipIf(skip !== undefined)('runtime sets: start with the set, no start without it', () => {
  for (const nnp of [false, true]) {
    it(`docker (no_new_privileges ${nnp})`, async () => {
      for (let i = 0; i < 3; i++) expect(await runDocker(profileFor('docker'), nnp)).toBe(0);
      expect(await runDocker(profileFor('none'), nnp)).not.toBe(0);
    });
    for (const rt of ['runc', 'crun'] as const)
      it(`${rt} (no_new_privileges ${nnp})`, async () => {
        for (let i = 0; i < 3; i++) expect(await runOci(rt, profileFor(rt), nnp)).toBe(0);
        expect(await runOci(rt, profileFor('none'), nnp)).not.toBe(0);
      });
  }

  it('the sets are data with the runtime and version they were measured on', async () => {
    const d = runtimeSet('docker');
    expect(d.source).toMatch(/^measured with docker engine \S+, runc version \S+ on Linux/);
    expect(d.syscalls.map((s) => s.name)).toContain('execve');
    // podman: measured with podman itself (its OCI runtime here: runc) and united with crun's
    expect(runtimeSet('podman').source).toMatch(
      /^measured with podman \S+ with runc version \S+; podman with crun: measured with crun version \S+ on Linux/,
    );
    expect(runtimeSet('none').syscalls).toEqual([]);
  });
});
