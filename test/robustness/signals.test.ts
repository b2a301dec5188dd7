// SIGTERM, SIGINT and SIGHUP while sysfence runs a workload (record with either backend, run,
// record --docker, check -- CMD): the workload is stopped, what was recorded is written, the exit
// status is 128 + the signal, and nothing is left behind. Leftovers are counted exactly: every
// process that carries this test's mark in its environment (the workload, bpftrace, strace, dmesg,
// docker's CLI all inherit it from sysfence), every cgroup named after sysfence's pid (v2 and each
// v1 controller), every container with this test's label, every entry of sysfence's TMPDIR.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { ebpfProblems } from '../../src/recorders/record.js';
import { importHostImage } from '../helpers/docker-image.js';
import { type Started as Child, run, startSysfence, sysfence, tempDir, until } from '../helpers/proc.js';
import { comm, inCgroupOf, marked } from '../helpers/procfs.js';
import { haveDocker, haveTool, requirement } from '../helpers/tools.js';

const x86_64 = findArch('x86_64')!;
const docker = haveDocker();
const skip =
  process.arch !== 'x64'
    ? 'written for x86_64 hosts'
    : (requirement(haveTool('strace', ['-V']), 'strace') ??
      requirement(haveTool('bwrap', ['--version']), 'bubblewrap') ??
      requirement(docker, 'a running Docker engine (scripts/start-dockerd.sh)') ??
      requirement(ebpfProblems(x86_64).length === 0, `eBPF (${ebpfProblems(x86_64).join('; ')})`));
const IMAGE = 'sysfence/signals:test';
const dir = tempDir('sysfence-signals-');

beforeAll(async () => {
  if (!skip) await importHostImage(IMAGE, ['/bin/sh', '/bin/sleep']);
});
afterAll(async () => {
  if (!skip) await run('docker', ['rmi', '-f', IMAGE]);
});

interface Started extends Child {
  mark: string;
  tmp: string;
}

/** sysfence with a fresh mark and TMPDIR, in its own process group (as a terminal's job). */
function start(args: string[]): Started {
  const mark = randomUUID();
  const tmp = tempDir('tmp-', dir);
  const child = startSysfence(args, { stdout: 'ignore', env: { SYSFENCE_TEST_MARK: mark, TMPDIR: tmp } });
  return { ...child, mark, tmp };
}

/** Everything a run could leave behind, by kind (all must be empty). */
async function leftovers(s: Started, label?: string): Promise<Record<string, string[]>> {
  const pid = s.pid;
  const cgroups: string[] = [];
  for (const ctrl of readdirSync('/sys/fs/cgroup')) {
    const base = join('/sys/fs/cgroup', ctrl);
    try {
      for (const d of readdirSync(base))
        if (d === `sysfence-${pid}` || d.startsWith(`sysfence-${pid}-`) || d === `sysfence${pid}.slice`)
          cgroups.push(join(base, d));
    } catch {
      // a file, not a controller
    }
  }
  return {
    processes: marked(s.mark).map((p) => `${p} ${comm(p)}`),
    cgroups,
    containers: label
      ? (await run('docker', ['ps', '-aq', '--filter', `label=${label}`])).stdout
          .trim()
          .split('\n')
          .filter(Boolean)
      : [],
    tempEntries: readdirSync(s.tmp),
  };
}
const NONE = { processes: [], cgroups: [], containers: [], tempEntries: [] };

/** The workload's sleep is in its clock_nanosleep (230 on x86_64; the mark is on it). */
const inSleep = (pid: number) => {
  try {
    return comm(pid) === 'sleep' && readFileSync(`/proc/${pid}/syscall`, 'utf8').startsWith('230 ');
  } catch {
    return false;
  }
};
const sleeping = (s: Started) => () => marked(s.mark).some(inSleep);

describe.skipIf(skip !== undefined)(
  'stop signals: the workload stops, the recording is written, nothing is left',
  () => {
    for (const [backend, sig, status] of [
      ['ebpf', 'SIGTERM', 143],
      ['strace', 'SIGTERM', 143],
      ['ebpf', 'SIGHUP', 129],
      ['strace', 'SIGHUP', 129],
    ] as const)
      it(`record --backend ${backend}, ${sig} to sysfence alone: exit ${status}, recording written`, async () => {
        const rec = join(dir, `rec-${backend}-${sig}.json`);
        const s = start(['record', '--backend', backend, '--recording', rec, '--', 'sleep', '3601']);
        await until('the workload', sleeping(s));
        process.kill(s.pid, sig);
        expect(await s.exit).toEqual({ code: status, signal: null });
        expect(s.stderr()).toContain(`sysfence: stopped by ${sig}: the recording covers the run until then`);
        const calls = JSON.parse(readFileSync(rec, 'utf8')).syscalls.x86_64;
        expect(Object.keys(calls)).toEqual(expect.arrayContaining(['execve', 'clock_nanosleep']));
        expect(await leftovers(s)).toEqual(NONE);
      });

    it("record, SIGINT to the whole process group (a terminal's Ctrl-C): exit 130, recording written", async () => {
      const rec = join(dir, 'rec-int.json');
      const s = start(['record', '--backend', 'ebpf', '--recording', rec, '--', 'sleep', '3601']);
      await until('the workload', sleeping(s));
      process.kill(-s.pid, 'SIGINT');
      expect(await s.exit).toEqual({ code: 130, signal: null });
      expect(Object.keys(JSON.parse(readFileSync(rec, 'utf8')).syscalls.x86_64)).toContain('execve');
      expect(await leftovers(s)).toEqual(NONE);
    });

    it('a workload that ignores the signal: the first one waits for it, the second kills it', async () => {
      const rec = join(dir, 'rec-stubborn.json');
      const s = start([
        'record',
        '--backend',
        'ebpf',
        '--recording',
        rec,
        '--',
        'sh',
        '-c',
        'trap "" INT TERM HUP; sleep 3601',
      ]);
      await until('the workload', sleeping(s));
      process.kill(s.pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 1500));
      expect([s.child.exitCode, sleeping(s)()]).toEqual([null, true]);
      process.kill(s.pid, 'SIGTERM');
      expect(await s.exit).toEqual({ code: 143, signal: null });
      expect(existsSync(rec)).toBe(true);
      expect(await leftovers(s)).toEqual(NONE);
    });

    it('a signal before the workload ran: it never runs, the error says so (interrupted), nothing is left', async () => {
      const rec = join(dir, 'rec-early.json');
      const s = start(['record', '--backend', 'ebpf', '--recording', rec, '--', 'sleep', '3601']);
      // the workload's wrapper waits, stopped, while bpftrace attaches: signal then
      await until('the stopped wrapper', () =>
        marked(s.mark).some((p) => {
          const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
          return comm(p) === 'sh' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
        }),
      );
      process.kill(s.pid, 'SIGTERM');
      expect(await s.exit).toEqual({ code: 143, signal: null });
      expect(s.stderr()).toContain(
        'error[interrupted]: SIGTERM received before the workload ran: nothing was recorded',
      );
      expect(existsSync(rec)).toBe(false);
      expect(await leftovers(s)).toEqual(NONE);
    });

    it('run: denials are said while the workload runs; SIGTERM writes the report and --learn', async () => {
      // a loop whose sleep is denied spins forever: the denial shows within seconds, not at the end
      const profile = join(dir, 'spin.json');
      const rec = await sysfence(['record', '-o', profile, '--', 'sh', '-c', 'sleep 0.1']);
      expect(rec.status).toBe(0);
      const p = JSON.parse(readFileSync(profile, 'utf8'));
      for (const r of p.syscalls) r.names = r.names.filter((n: string) => n !== 'clock_nanosleep');
      writeFileSync(profile, JSON.stringify(p));
      const report = join(dir, 'run-report.json');
      const learned = join(dir, 'run-learned.json');
      const s = start([
        'run',
        '--profile',
        profile,
        '--report',
        report,
        '--learn',
        '-o',
        learned,
        '--',
        'sh',
        '-c',
        'while :; do sleep 3601; done',
      ]);
      await until('the periodic denial line', () =>
        /sysfence: \[\d+ s\] DENIED x86_64 clock_nanosleep \(ERRNO\(38\) by default\)/.test(s.stderr()),
      );
      process.kill(s.pid, 'SIGTERM');
      expect(await s.exit).toEqual({ code: 143, signal: null });
      const r = JSON.parse(readFileSync(report, 'utf8'));
      expect([
        r.stoppedBy,
        r.denials.find((d: { name: string }) => d.name === 'clock_nanosleep')?.verdict,
      ]).toEqual(['SIGTERM', 'ERRNO(38) by default']);
      expect(JSON.parse(readFileSync(learned, 'utf8')).syscalls.at(-1).names).toContain('clock_nanosleep');
      expect(await leftovers(s)).toEqual(NONE);
    });

    it('check -- CMD stopped by SIGTERM: never a pass (exit 143, the command is said to have failed)', async () => {
      const p = join(dir, 'check.json');
      writeFileSync(p, '{"defaultAction":"SCMP_ACT_ALLOW"}');
      const s = start(['check', '--backend', 'strace', '--profile', p, '--', 'sleep', '3601']);
      await until('the workload', sleeping(s));
      process.kill(s.pid, 'SIGTERM');
      expect(await s.exit).toEqual({ code: 143, signal: null });
      expect(s.stderr()).toContain('error[command-failed]: the command exited 143 (SIGTERM)');
      expect(await leftovers(s)).toEqual(NONE);
    });

    for (const sig of ['SIGTERM', 'SIGHUP'] as const)
      it(`record --docker, ${sig}: the container is stopped and removed, its cgroups (v1 and v2) too`, async () => {
        const label = `sysfence-test=${randomUUID()}`;
        const rec = join(dir, `rec-docker-${sig}.json`);
        const s = start([
          'record',
          '--docker',
          '--recording',
          rec,
          '--',
          '--network',
          'none',
          '--label',
          label,
          IMAGE,
          'sh',
          '-c',
          'trap "exit 0" TERM; sleep 3601 & wait',
        ]);
        await until(
          'the container',
          async () => (await run('docker', ['ps', '-q', '--filter', `label=${label}`])).stdout.trim() !== '',
        );
        // the container's sleep runs (its comm, in a cgroup of this sysfence)
        await until('the container workload', () => inCgroupOf(s.pid, 'sleep').length > 0);
        process.kill(s.pid, sig);
        expect(await s.exit).toEqual({ code: sig === 'SIGTERM' ? 143 : 129, signal: null });
        // the shell (pid 1) waits, its child execs sleep; runc's own execs are not the workload's
        const calls = JSON.parse(readFileSync(rec, 'utf8')).syscalls.x86_64;
        expect([
          calls.wait4.executables,
          calls.execve.executables,
          calls.clock_nanosleep.executables,
        ]).toEqual([['/bin/sh'], ['/bin/sleep'], ['/bin/sleep']]);
        expect(await leftovers(s, label)).toEqual(NONE);
      });
  },
);

describe.skipIf(skip !== undefined)('SIGKILL of sysfence: its reaper undoes what it left', () => {
  /** Polls until nothing of the run is left (the reaper works once sysfence is gone). */
  const settled = async (s: Started, label?: string) => {
    let left = await leftovers(s, label);
    const t0 = Date.now();
    while (JSON.stringify(left) !== JSON.stringify(NONE) && Date.now() - t0 < 20_000) {
      await new Promise((r) => setTimeout(r, 200));
      left = await leftovers(s, label);
    }
    return left;
  };

  for (const backend of ['strace', 'ebpf', 'bpftrace'] as const)
    it(`record --backend ${backend}: the tracer, the workload, the cgroup and the FIFO go`, async () => {
      const s = start([
        'record',
        '--backend',
        backend,
        '--recording',
        join(dir, `kill-${backend}.json`),
        '--',
        'sleep',
        '3601',
      ]);
      await until('the workload', sleeping(s));
      s.signal('SIGKILL');
      expect(await s.exit).toEqual({ code: null, signal: 'SIGKILL' });
      expect(await settled(s)).toEqual(NONE);
    });

  it('run (bubblewrap, dmesg --follow-new): both go with the workload', async () => {
    const profile = join(dir, 'allow-all.json');
    writeFileSync(profile, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    const s = start(['run', '--profile', profile, '--', 'sleep', '3601']);
    await until('the workload', sleeping(s));
    s.signal('SIGKILL');
    await s.exit;
    expect(await settled(s)).toEqual(NONE);
  });

  it('record --docker: the container is removed, its cgroups too', async () => {
    const label = `sysfence-test=${randomUUID()}`;
    const s = start([
      'record',
      '--docker',
      '--recording',
      join(dir, 'kill-docker.json'),
      '--',
      '--network',
      'none',
      '--label',
      label,
      IMAGE,
      'sleep',
      '3601',
    ]);
    await until('the container workload', () => inCgroupOf(s.pid, 'sleep').length > 0);
    s.signal('SIGKILL');
    await s.exit;
    expect(await settled(s, label)).toEqual(NONE);
  });
});

describe.skipIf(skip !== undefined)('under sudo: the workload runs as the user, outputs are theirs', () => {
  const asSudo = { SUDO_UID: '65534', SUDO_GID: '65534', SUDO_USER: 'nobody' };
  const sudoRun = (args: string[], extra: Record<string, string> = asSudo) => sysfence(args, { env: extra });
  const owner = (f: string) => {
    const st = statSync(f);
    return `${st.uid}:${st.gid}`;
  };
  const shared = tempDir('sudo-', dir);

  it('record (both backends) and run: the workload is nobody; new outputs belong to nobody; --as-root is root', async () => {
    await run('chmod', ['755', dir, shared]);
    for (const backend of ['ebpf', 'strace']) {
      const rec = join(shared, `sudo-${backend}.rec.json`);
      const r = await sudoRun(['record', '--backend', backend, '--recording', rec, '--', 'id', '-u']);
      expect([backend, r.status, r.stdout]).toEqual([backend, 0, '65534\n']);
      expect(r.stderr).toContain('running the workload as nobody (uid 65534, gid 65534), who ran sudo');
      expect(owner(rec)).toBe('65534:65534');
      const root = await sudoRun([
        'record',
        '--backend',
        backend,
        '--as-root',
        '--recording',
        rec,
        '--',
        'id',
        '-u',
      ]);
      expect([root.status, root.stdout]).toEqual([0, '0\n']);
      // an output that existed keeps its owner
      expect(owner(rec)).toBe('65534:65534');
    }
    const profile = join(shared, 'id.json');
    writeFileSync(profile, '{"defaultAction":"SCMP_ACT_ALLOW"}');
    const ran = await sudoRun(['run', '--profile', profile, '--', 'id', '-u']);
    expect([ran.status, ran.stdout]).toEqual([0, '65534\n']);
  });

  it('outputs that cannot be written are said before the workload runs', async () => {
    const marker = join(dir, 'ran');
    for (const args of [
      ['record', '--recording', join(dir, 'no', 'such', 'r.json'), '--', 'touch', marker],
      ['record', '--backend', 'strace', '--keep-strace-log', join(dir, 'no', 'x.log'), '--', 'touch', marker],
      [
        'run',
        '--profile',
        join(dir, 'check.json'),
        '--report',
        join(dir, 'no', 'r.json'),
        '--',
        'touch',
        marker,
      ],
    ]) {
      const r = await sudoRun(args, {});
      expect([args[0], r.status, r.stderr.match(/error\[([a-z-]+)\]/)?.[1], existsSync(marker)]).toEqual([
        args[0],
        2,
        'file-unwritable',
        false,
      ]);
    }
  });

  it('demo: a fresh private directory by default; --dir keeps what was in it', async () => {
    const user = join(dir, 'demo-dir');
    mkdirSync(user);
    writeFileSync(join(user, 'keep.txt'), 'mine');
    const r = await sudoRun(['demo', '--dir', user], {});
    expect(r.status).toBe(0);
    expect(readdirSync(user).sort()).toEqual(['http-server.json', 'http-server.rec.json', 'keep.txt']);
    const d = await sudoRun(['demo'], { TMPDIR: shared });
    expect(d.status).toBe(0);
    const made = readdirSync(shared).filter((f) => f.startsWith('sysfence-demo-'));
    expect(made.length).toBe(1);
    expect((statSync(join(shared, made[0]!)).mode & 0o777).toString(8)).toBe('700');
    expect(d.stdout).toContain(join(shared, made[0]!, 'http-server.json'));
  });
});
