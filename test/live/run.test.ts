// `run`: a workload under a profile, with every denied call reported; the closed loop record ->
// enforce -> observe -> learn on the completeness workload (test/fixtures/record).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { generate } from '../../src/profile/generate.js';
import type { Profile } from '../../src/profile/model.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { ebpfProblems, record } from '../../src/recorders/record.js';
import { runUnderProfile } from '../../src/runners/run-profile.js';
import { ok, run, sysfence, tempDir } from '../helpers/proc.js';
import { haveTool, requirement } from '../helpers/tools.js';

const x86_64 = findArch('x86_64')!;
const skip =
  process.arch !== 'x64'
    ? 'written for x86_64 hosts'
    : (requirement(haveTool('gcc'), 'gcc') ??
      requirement(haveTool('bwrap', ['--version']), 'bubblewrap') ??
      requirement(ebpfProblems(x86_64).length === 0, `eBPF (${ebpfProblems(x86_64).join('; ')})`));

let dir = '';
let full: Profile;
beforeAll(async () => {
  if (skip) return;
  dir = tempDir('sysfence-run-test-');
  const src = join(import.meta.dirname, '..', 'fixtures', 'record', 'workload.c');
  await ok(run('gcc', ['-O1', '-static', '-pthread', '-o', join(dir, 'workload'), src]));
  const r = await record({
    backend: 'ebpf',
    arch: x86_64,
    command: [join(dir, 'workload'), tempDir('s-', dir)],
  });
  full = generate([r.recording]).profile;
});

const workload = () => [join(dir, 'workload'), tempDir('s-', dir)];
/** The denials the profile does not mean (its explicit rules' are expected: clone3's ENOSYS, as Docker's). */
const unexpected = <D extends { expected: boolean }>(r: { denials: D[] }) =>
  r.denials.filter((d) => !d.expected);
/** The rule of `p` that lists `name`. */
const ruleOf = (p: Profile, name: string) =>
  (p.syscalls ?? []).findIndex((r) => (r.names ?? []).includes(name));
const without = (p: Profile, name: string): Profile => ({
  ...p,
  syscalls: (p.syscalls ?? []).map((r) => ({ ...r, names: (r.names ?? []).filter((n) => n !== name) })),
});

describe.skipIf(skip !== undefined)('run: enforce and observe', () => {
  it('under its own generated profile the workload runs with no denial', async () => {
    const r = await runUnderProfile({ profile: full, arch: x86_64, command: workload() });
    expect(r.exit).toEqual({ code: 0, signal: null });
    expect(unexpected(r)).toEqual([]);
    // clone3 is denied with ENOSYS by the profile's own rule, as by Docker's default: glibc's
    // pthread_create falls back to clone, and the workload runs
    expect(r.denials.map((d) => [d.name, d.expected, d.verdict])).toEqual([
      ['clone3', true, `ERRNO(38) by rule ${ruleOf(full, 'clone3')}`],
    ]);
  });

  it('a profile missing one needed call: the denial names it, with count and executable', async () => {
    // getcpu is called once, in the signal handler; ENOSYS there does not stop the workload
    const r = await runUnderProfile({ profile: without(full, 'getcpu'), arch: x86_64, command: workload() });
    expect(r.exit).toEqual({ code: 0, signal: null });
    expect(unexpected(r).map(({ pids, ...d }) => ({ ...d, pids: pids.length }))).toEqual([
      {
        abi: 'x86_64',
        name: 'getcpu',
        count: 1,
        pids: 1,
        executables: [join(dir, 'workload')],
        expected: false,
        verdict: 'ERRNO(38) by default',
      },
    ]);
  });

  it('both eBPF programs see the same denials and the same calls under the filter', async () => {
    // several calls missing, from the main process, a thread, the forked and the exec'd child
    const p = ['getcpu', 'getresuid', 'getresgid', 'sched_yield'].reduce(without, full);
    const runs: Awaited<ReturnType<typeof runUnderProfile>>[] = [];
    for (const engine of ['sysfence', 'bpftrace'] as const)
      runs.push(await runUnderProfile({ profile: p, arch: x86_64, command: workload(), engine }));
    const denied = (r: (typeof runs)[number]) =>
      unexpected(r)
        .map(({ pids, ...d }) => ({ ...d, pids: pids.length }))
        .sort((a, b) => a.name.localeCompare(b.name));
    expect(denied(runs[0]!)).toEqual(denied(runs[1]!));
    expect(denied(runs[0]!).map((d) => d.name)).toEqual(['getcpu', 'getresgid', 'getresuid', 'sched_yield']);
    // what ran under the filter: the same calls, the same counts (bubblewrap's set-up left out)
    // (futex: how often threads wait on each other's lock is timing, not the program)
    const calls = (r: (typeof runs)[number]) =>
      Object.fromEntries(
        Object.entries(r.recording.syscalls.x86_64 ?? {}).map(([n, st]) => [
          n,
          n === 'futex' ? 'some' : st.count,
        ]),
      );
    expect(calls(runs[0]!)).toEqual(calls(runs[1]!));
    expect(Object.keys(calls(runs[0]!))).not.toContain('pivot_root');
  });

  it('a denial the profile makes by an explicit rule is expected, not a finding', async () => {
    const p = without(full, 'getcpu');
    p.syscalls!.push({ names: ['getcpu'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 });
    const r = await runUnderProfile({ profile: p, arch: x86_64, command: workload() });
    expect(r.denials.map((d) => [d.name, d.expected, d.verdict])).toEqual([
      ['clone3', true, `ERRNO(38) by rule ${ruleOf(p, 'clone3')}`],
      ['getcpu', true, `ERRNO(1) by rule ${p.syscalls!.length - 1}`],
    ]);
  });

  it('--learn proposes exactly the missing call, and the learned profile runs clean', async () => {
    const before = join(dir, 'without-getcpu.json');
    const after = join(dir, 'learned.json');
    writeFileSync(before, serializeDocker(without(full, 'getcpu')));
    const r = await sysfence(['run', '--profile', before, '--learn', '-o', after, '--', ...workload()]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /sysfence: DENIED x86_64 getcpu: 1 call, ERRNO\(38\) by default; pid \d+ \(.*workload\)/,
    );
    expect(r.stderr.split('\n').filter((l) => l.startsWith('+ '))).toEqual(['+ allow getcpu']);
    // the change as a semantic diff, for the human who approves it
    expect(r.stderr.split('\n').filter((l) => l.startsWith('sysfence: diff: '))).toEqual([
      expect.stringMatching(
        /^sysfence: diff: x86_64: \d+ -> \d+ allowed unconditionally; 1 syscall changed$/,
      ),
      'sysfence: diff:   + ERRNO(38) -> ALLOW: getcpu',
      'sysfence: diff: NEW allows calls that OLD denied (+ above)',
    ]);
    const learned = parseDockerProfile(readFileSync(after, 'utf8')).profile!;
    expect(learned.syscalls!.at(-1)).toEqual({ names: ['getcpu'], action: 'SCMP_ACT_ALLOW' });
    const again = await sysfence(['run', '--profile', after, '--', ...workload()]);
    expect(again.status).toBe(0);
    expect(again.stderr.split('\n').filter((l) => / (DENIED|expected) /.test(l))).toEqual([
      expect.stringMatching(/^sysfence: expected x86_64 clone3: 1 call, ERRNO\(38\) by rule \d+; pid \d+/),
    ]);
  });

  it('--default-action kill: the killed call comes from the kernel log, named, in --report JSON', async () => {
    const file = join(dir, 'without-getcpu-kill.json');
    const report = join(dir, 'report.json');
    writeFileSync(file, serializeDocker(without(full, 'getcpu')));
    const r = await sysfence([
      'run',
      '--profile',
      file,
      '--default-action',
      'kill',
      '--report',
      report,
      '--',
      ...workload(),
    ]);
    expect(r.status).toBe(128 + 31);
    expect(r.stderr).toContain('sysfence: the workload was killed by its filter (SIGSYS)');
    const j = JSON.parse(readFileSync(report, 'utf8'));
    // bubblewrap exits 128+n when its child dies of signal n
    expect(j.exit).toEqual({ code: 159, signal: null, status: 159 });
    expect(j.defaultAction).toBe('SCMP_ACT_KILL_PROCESS');
    expect(j.killLogProblem).toBeNull();
    expect(
      j.denials.map((d: { name: string; count: number; verdict: string; expected: boolean }) => [
        d.name,
        d.count,
        d.verdict,
        d.expected,
      ]),
    ).toEqual([['getcpu', 1, 'KILL_PROCESS by default', false]]);
    expect(j.findings).toBe(1);
  });

  it('--default-action rejects what it does not know, with the choices', async () => {
    const r = await sysfence(['run', '--profile', 'x.json', '--default-action', 'deny', '--', 'true']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--default-action takes enosys, eperm, kill, log, not deny');
  });
});
