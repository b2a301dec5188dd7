// `record --docker`: one container recorded (and only it), its profile runs the same container,
// and the container does not start when the runtime set is taken out of the profile.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findArch } from '../../src/arch/tables.js';
import { generate } from '../../src/profile/generate.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { ebpfProblems } from '../../src/recorders/record.js';
import type { Recording } from '../../src/recording/recording.js';
import { importHostImage } from '../helpers/docker-image.js';
import { ok, run, startSysfence, sysfence, tempDir, until } from '../helpers/proc.js';
import { inCgroupOf } from '../helpers/procfs.js';
import { spoValidator } from '../helpers/schemas.js';
import { haveDocker, requirement } from '../helpers/tools.js';

const x86_64 = findArch('x86_64')!;
const docker = haveDocker();
const skip =
  process.arch !== 'x64'
    ? 'the runtime sets were measured on x86_64'
    : (requirement(docker, 'a running Docker engine (scripts/start-dockerd.sh)') ??
      requirement(ebpfProblems(x86_64).length === 0, `eBPF (${ebpfProblems(x86_64).join('; ')})`));

const IMAGE = 'sysfence/shell:test';
const CMD = ['sh', '-c', 'ls /; cat /etc/hostname'];
let dir = '';

beforeAll(async () => {
  if (skip) return;
  dir = tempDir('sysfence-docker-');
  // an image of the host's own sh, ls and cat, and a static program that tries clone3 once
  // (Docker's default answers ENOSYS before any tracepoint)
  writeFileSync(
    join(dir, 'clone3.c'),
    '#include <unistd.h>\n#include <sys/syscall.h>\nint main(void) { syscall(435, 0, 0); return 0; }\n',
  );
  await importHostImage(
    IMAGE,
    ['/bin/sh', '/bin/ls', '/bin/cat', '/bin/sleep'],
    { 'etc/hostname': 'sysfence-image\n' },
    async (root) => {
      await ok(run('gcc', ['-O1', '-static', '-o', join(root, 'bin', 'clone3probe'), join(dir, 'clone3.c')]));
    },
  );
});

afterAll(async () => {
  if (skip) return;
  await run('docker', ['rmi', '-f', IMAGE]);
});

const dockerRun = (profile: string) =>
  run('docker', ['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${profile}`, IMAGE, ...CMD]);

describe.skipIf(skip !== undefined)('record --docker', () => {
  it('records the container, and its profile runs it; without the runtime set it does not start', async () => {
    const profile = join(dir, 'profile.json');
    const recFile = join(dir, 'rec.json');
    const r = await sysfence([
      'record',
      '--docker',
      '--kubernetes',
      '-o',
      profile,
      '--recording',
      recFile,
      '--',
      '--network',
      'none',
      IMAGE,
      ...CMD,
    ]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^bin\n[\s\S]*\netc\n[\s\S]*\n[0-9a-f]{12}\n$/); // ls /, then the container's hostname
    // the advised next step: --docker before `--`, every word quoted for a shell
    expect(r.stderr).toContain(
      `sysfence learn ${profile} -o ${profile.replace(/\.json$/, '.next.json')} --docker -- --network none ${IMAGE} sh -c 'ls /; cat /etc/hostname'`,
    );
    const rec = JSON.parse(readFileSync(recFile, 'utf8')) as Recording;
    const calls = rec.syscalls.x86_64!;
    // the workload's programs only: no runc, no dockerd, no host process
    expect([...new Set(Object.values(calls).flatMap((s) => s.executables))].sort()).toEqual([
      '/bin/cat',
      '/bin/ls',
      '/bin/sh',
    ]);
    expect(Object.keys(calls)).toEqual(expect.arrayContaining(['getdents64', 'execve', 'openat', 'write']));
    expect(Object.keys(calls)).not.toContain('mount'); // the runtime's set-up is not the workload's

    // Kubernetes: the SPO object validates against the CRD, the snippet points at the profile
    const spo = parse(readFileSync(join(dir, 'profile.spo.yaml'), 'utf8'));
    const validate = spoValidator();
    expect(validate(spo), JSON.stringify(validate.errors)).toBe(true);
    expect(spo.metadata.name).toBe('profile');
    expect(spo.spec.syscalls[0].names).toEqual(JSON.parse(readFileSync(profile, 'utf8')).syscalls[0].names);
    expect(parse(readFileSync(join(dir, 'profile.securitycontext.yaml'), 'utf8'))).toEqual({
      securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/profile.json' } },
    });

    const ok = await dockerRun(profile);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('etc\n');

    const bare = join(dir, 'bare.json');
    writeFileSync(bare, serializeDocker(generate([rec]).profile)); // the same, without --for docker
    const broken = await dockerRun(bare);
    expect(broken.status).not.toBe(0);
  });

  it('run --docker: a profile missing one call the workload needs: the denial names it, --learn proposes it', async () => {
    const profile = JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8'));
    profile.syscalls[0].names = profile.syscalls[0].names.filter((n: string) => n !== 'fadvise64');
    const missing = join(dir, 'missing.json');
    writeFileSync(missing, JSON.stringify(profile));
    const learned = join(dir, 'learned.json');
    const r = await sysfence([
      'run',
      '--docker',
      '--profile',
      missing,
      '--learn',
      '-o',
      learned,
      '--',
      '--network',
      'none',
      IMAGE,
      ...CMD,
    ]);
    expect(r.status).toBe(0); // cat goes on without its fadvise64 hint
    expect(r.stderr).toMatch(
      // Docker 20.10 drops defaultErrnoRet: the container gets EPERM, and that is what is said
      /sysfence: DENIED x86_64 fadvise64: 1 call, ERRNO\(1\) by default; pid \d+ \(\/bin\/cat\)/,
    );
    expect(r.stderr.split('\n').filter((l) => l.startsWith('+ '))).toEqual(['+ allow fadvise64']);
    const again = await sysfence([
      'run',
      '--docker',
      '--profile',
      learned,
      '--',
      '--network',
      'none',
      IMAGE,
      ...CMD,
    ]);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain('sysfence: no call was denied');
  });

  it('--duration and --until-signal stop a long-running container and keep its recording', async () => {
    const rec1 = join(dir, 'duration.json');
    const t0 = Date.now();
    const r = await sysfence([
      'record',
      '--docker',
      '--duration',
      '2',
      '--recording',
      rec1,
      '--',
      '--network',
      'none',
      '--stop-timeout',
      '1',
      IMAGE,
      'sleep',
      '3600',
    ]);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.stderr).toContain(
      'sysfence: 2 s recorded: stopping the container (docker stop: SIGTERM, then SIGKILL',
    );
    // sleep, as pid 1, ignores SIGTERM: docker stop kills it (137); the recording ended as asked: 0
    expect(r.status).toBe(0);
    expect(r.stderr).toContain(
      "sysfence: the recording ended as --duration 2 asked (the container's own status: 137): exit 0",
    );
    const calls = (JSON.parse(readFileSync(rec1, 'utf8')) as Recording).syscalls.x86_64!;
    // sleep's own calls; its execve is the runtime's (left to the runtime set)
    expect(Object.keys(calls)).toContain('clock_nanosleep');
    expect(Object.keys(calls)).not.toContain('execve');

    const rec2 = join(dir, 'signal.json');
    const child = startSysfence(
      [
        'record',
        '--docker',
        '--until-signal',
        'USR1',
        '--recording',
        rec2,
        '--',
        '--network',
        'none',
        '--stop-timeout',
        '1',
        IMAGE,
        'sleep',
        '3600',
      ],
      { stdout: 'ignore', stderr: 'ignore' },
    );
    // this recording's container runs its sleep (in a cgroup of this sysfence), nobody else's
    await until('the container workload', () => inCgroupOf(child.pid, 'sleep').length > 0);
    child.signal('SIGUSR1');
    const status = (await child.exit).code;
    expect(status).toBe(0);
    expect(Object.keys((JSON.parse(readFileSync(rec2, 'utf8')) as Recording).syscalls.x86_64!)).toContain(
      'clock_nanosleep',
    );
  });

  it('Ctrl-C stops the container even when its pid 1 ignores SIGINT, and the recording is written', async () => {
    const rec = join(dir, 'ctrl-c.json');
    const child = startSysfence(
      [
        'record',
        '--docker',
        '--recording',
        rec,
        '--',
        '--network',
        'none',
        '--stop-timeout',
        '1',
        IMAGE,
        'sleep',
        '3600',
      ],
      { stdout: 'ignore' },
    );
    // this recording's container runs its sleep (in a cgroup of this sysfence), nobody else's
    await until('the container workload', () => inCgroupOf(child.pid, 'sleep').length > 0);
    await new Promise((res) => setTimeout(res, 500));
    child.signal('SIGINT'); // what a terminal's Ctrl-C delivers to sysfence
    const status = (await child.exit).code;
    expect(child.stderr()).toContain('sysfence: stop signal received: stopping the container');
    // the container ends by docker stop (SIGKILL after 1 s: 137); sysfence, stopped by SIGINT, 130
    expect(status).toBe(130);
    expect(Object.keys((JSON.parse(readFileSync(rec, 'utf8')) as Recording).syscalls.x86_64!)).toContain(
      'clock_nanosleep',
    );
  });

  it("--show-denied names what the container's own filter denied while recording", async () => {
    const r = await sysfence([
      'record',
      '--docker',
      '--show-denied',
      '--',
      '--network',
      'none',
      IMAGE,
      '/bin/clone3probe',
    ]);
    expect(r.status).toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('own filter denied'))).toEqual([
      "sysfence: note: the container's own filter denied x86_64 clone3 (1 call, /bin/clone3probe); it stays denied",
    ]);
  });

  it('says clearly what is missing', async () => {
    const r = await sysfence(['record', '--docker', '--backend', 'strace', '--', IMAGE, 'true']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('error[bad-option]: --docker records with eBPF only');
    const c = await sysfence(['record', '--docker', '--', 'no-such-image:1']);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/error\[docker-create-failed\]: docker create failed: .*no-such-image/);
  });
});
