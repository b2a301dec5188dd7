// Call families (knowledge/call-families) and coverage across runs: what generate adds beyond the
// recording, and which calls only some runs made.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCH_DEFS } from '../../src/arch/defs.js';
import { findArch, syscallTable } from '../../src/arch/tables.js';
import { mapToArch } from '../../src/knowledge/arch-equivalents.js';
import { CALL_FAMILIES, CLONE_NAMESPACE_FLAGS } from '../../src/knowledge/call-families.js';
import { ENOSYS_PROBED } from '../../src/knowledge/probed-calls.js';
import { runtimeSet } from '../../src/knowledge/runtime-sets.js';
import { riskyNames } from '../../src/knowledge/syscall-info.js';
import { evaluate } from '../../src/profile/evaluate.js';
import { generate } from '../../src/profile/generate.js';
import { importLogs } from '../../src/recorders/import.js';
import { parseRecording } from '../../src/recording/parse-recording.js';
import { mergeRecordings, RecordingBuilder, serializeRecording } from '../../src/recording/recording.js';
import { learn } from '../../src/runners/denials.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'strace');

describe('call families', () => {
  it('the table never adds a risky call or one libraries probe for ENOSYS; every name is a syscall somewhere', () => {
    const risky = new Set(riskyNames());
    const probed = new Set(ENOSYS_PROBED.map((p) => p.name));
    const known = (n: string) => ARCH_DEFS.some((a) => syscallTable(a.id).number(n) !== undefined);
    const ids = new Set<string>();
    const bad: string[] = [];
    for (const f of CALL_FAMILIES) {
      if (ids.has(f.id)) bad.push(`${f.id}: id twice`);
      ids.add(f.id);
      if (f.why.length < 40) bad.push(`${f.id}: no evidence`);
      for (const n of f.add) {
        if (risky.has(n)) bad.push(`${f.id} adds risky ${n}`);
        if (probed.has(n)) bad.push(`${f.id} adds probed ${n}`);
      }
      for (const n of [...f.when, ...f.add]) if (!known(n)) bad.push(`${f.id}: ${n} is no syscall`);
      // a risky call only under a rule that forbids what makes it risky: clone with no CLONE_NEW*
      for (const r of f.restricted ?? [])
        if (r.name !== 'clone' || r.index !== 0 || r.mask !== CLONE_NAMESPACE_FLAGS)
          bad.push(`${f.id}: restricted ${r.name} without the namespace mask`);
    }
    expect(bad).toEqual([]);
    // the families the issue names are there
    for (const id of [
      'poll',
      'accept',
      'dup',
      'pipe',
      'read',
      'copy',
      'wait',
      'raise',
      'stat',
      'utime',
      'xattr-get',
    ])
      expect(ids.has(id)).toBe(true);
  });

  it('generate adds the siblings existing on the recorded ABI, says which family and which call brought them', async () => {
    const rec = await importLogs([join(fixtures, 'c.log')], { arch: findArch('x86_64')! });
    const g = generate([rec]);
    expect(g.families.map((f) => [f.name, f.family, f.trigger])).toEqual([
      ['clock_gettime', 'clock', 'always'],
      ['fork', 'wait', 'wait4'],
      ['fstat', 'stat', 'newfstatat'],
      ['gettid', 'raise', 'rt_sigaction'],
      ['gettimeofday', 'clock', 'always'],
      ['mremap', 'memory', 'brk'],
      ['readv', 'read', 'pread64'],
      ['rt_sigsuspend', 'wait', 'wait4'],
      ['sched_yield', 'contention', 'futex'],
      ['tgkill', 'raise', 'rt_sigaction'],
      ['vfork', 'wait', 'wait4'],
      ['waitid', 'wait', 'wait4'],
    ]);
    const names = g.profile.syscalls![0]!.names!;
    for (const f of g.families) expect(names).toContain(f.name);
    // fork is not an x86_64-only name, but clone (risky) never comes from a family
    expect(g.families.some((f) => f.name === 'clone' || f.name === 'clone3')).toBe(false);
    // 32-bit names only where they exist: x86 gets fstat64, x86_64 does not
    const b = new RecordingBuilder();
    b.call('x86', 'stat64');
    b.call('x86_64', 'poll');
    const h = generate([b.build()]);
    expect(
      h.families.filter((f) => ['fstat64', 'fstatat64', 'fstat', 'ppoll', 'select'].includes(f.name)),
    ).toEqual([
      expect.objectContaining({ name: 'fstat', family: 'stat' }),
      expect.objectContaining({ name: 'fstat64', family: 'stat' }),
      expect.objectContaining({ name: 'fstatat64', family: 'stat' }),
      expect.objectContaining({ name: 'ppoll', family: 'poll', trigger: 'poll' }),
      expect.objectContaining({ name: 'select', family: 'poll', trigger: 'poll' }),
    ]);
    // exact: nothing beyond the recording and the implied calls
    expect(generate([b.build()], { exact: true }).families).toEqual([]);
  });

  it('learn brings the siblings of what it adds that the profile does not allow yet', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ERRNO' as const,
      syscalls: [{ names: ['read', 'ppoll'], action: 'SCMP_ACT_ALLOW' as const }],
    };
    const denial = (name: string) => ({
      abi: 'x86_64' as const,
      name,
      count: 1,
      pids: [1],
      executables: [],
      expected: false,
      verdict: 'ERRNO(38) by default',
    });
    const l = learn(profile, [denial('poll'), denial('accept4')]);
    expect(l.added).toEqual(['accept', 'accept4', 'poll', 'pselect6', 'select']);
    expect(l.families.map((f) => [f.name, f.family])).toEqual([
      ['accept', 'accept'],
      ['pselect6', 'poll'],
      ['select', 'poll'],
    ]);
    expect(learn(profile, [denial('poll')], { exact: true }).added).toEqual(['poll']);
    // clone comes only under its namespace-mask rule, never in the unconditional list
    const w = learn(profile, [denial('wait4')]);
    expect(w.added).not.toContain('clone');
    expect(w.profile.syscalls!.filter((r) => r.names!.includes('clone'))).toEqual([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ' }],
        comment: 'family wait: clone only without these flags',
      },
    ]);
  });

  it('learn for a container adds the runtime calls the profile lacks, even with nothing else to learn', () => {
    const profile = {
      defaultAction: 'SCMP_ACT_ERRNO' as const,
      syscalls: [{ names: ['read', 'capset'], action: 'SCMP_ACT_ALLOW' as const }],
    };
    const set = runtimeSet('docker');
    const l = learn(profile, [], { runtime: { set, abi: 'x86_64' } });
    expect(l.runtime).toContain('setuid');
    expect(l.runtime).not.toContain('capset');
    const t = syscallTable('x86_64');
    for (const c of set.syscalls)
      expect([c.name, evaluate(l.profile, 'x86_64', { nr: t.number(c.name)! }).kind]).toEqual([
        c.name,
        'ALLOW',
      ]);
    // and nothing when the profile has them all
    expect(learn(l.profile, [], { runtime: { set, abi: 'x86_64' } }).profile).toBe(l.profile);
  });
});

describe('coverage across runs', () => {
  const run = (calls: string[], exe = '/bin/app') => {
    const b = new RecordingBuilder();
    b.source('strace', `${calls.join('-')}.log`);
    for (const c of calls) b.call('x86_64', c, { executable: exe, where: `${calls.join('-')}.log:1` });
    return b.build();
  };

  it('merge as runs counts the runs and, per call, how many made it; the file round-trips', () => {
    const m = mergeRecordings([run(['read', 'write']), run(['read', 'poll']), run(['read'])], true);
    expect(m.runs).toBe(3);
    expect(
      Object.fromEntries(Object.entries(m.syscalls.x86_64!).map(([n, s]) => [n, s.runs ?? 'all'])),
    ).toEqual({
      poll: 1,
      read: 'all',
      write: 1,
    });
    const text = serializeRecording(m);
    expect(serializeRecording(parseRecording(text, 'm.json'))).toBe(text);
    // a merged recording merges on: 3 + 1 runs
    const again = mergeRecordings([m, run(['read', 'write'])], true);
    expect(again.runs).toBe(4);
    expect(again.syscalls.x86_64!.write!.runs).toBe(2);
    expect(again.syscalls.x86_64!.poll!.runs).toBe(1);
    // parts of one run (the default) are not runs
    expect(mergeRecordings([run(['read']), run(['poll'])]).runs).toBeUndefined();
  });

  it('generate names the calls only some runs made, fewest first, with where they were first seen', () => {
    const g = generate([run(['read', 'write', 'poll']), run(['read', 'poll']), run(['read'], '/bin/other')], {
      exact: true,
    });
    expect(g.coverage).toEqual({
      runs: 3,
      partial: [
        { name: 'write', runs: 1, first: 'read-write-poll.log:1', executables: ['/bin/app'] },
        { name: 'poll', runs: 2, first: 'read-write-poll.log:1', executables: ['/bin/app'] },
      ],
    });
    // the same from one merged recording
    const m = mergeRecordings([run(['read', 'write', 'poll']), run(['read', 'poll']), run(['read'])], true);
    expect(generate([m], { exact: true }).coverage.partial.map((p) => [p.name, p.runs])).toEqual([
      ['write', 1],
      ['poll', 2],
    ]);
    expect(generate([run(['read'])]).coverage).toEqual({ runs: 1, partial: [] });
  });

  it('a fragile call carries the first stack a run recorded for it (strace -k)', () => {
    const a = new RecordingBuilder();
    a.call('x86_64', 'read');
    a.call('x86_64', 'flock', { executable: '/usr/bin/perl', stack: ['flock+0x7', 'pp_flock+0x40'] });
    const b = new RecordingBuilder();
    b.call('x86_64', 'read');
    expect(generate([a.build(), b.build()], { exact: true }).coverage.partial).toEqual([
      { name: 'flock', runs: 1, executables: ['/usr/bin/perl'], stack: ['flock+0x7', 'pp_flock+0x40'] },
    ]);
  });

  it('a recording that says a call was made in more runs than it holds is refused at its JSON path', () => {
    const text = JSON.stringify({
      version: 1,
      runs: 2,
      sources: [],
      syscalls: { x86_64: { read: { count: 1, runs: 3, pids: [], executables: [] } } },
      malformed: { count: 0, samples: [] },
    });
    expect(() => parseRecording(text, 'r.json')).toThrow(/seen in 3 runs of a recording of 2/);
    expect(() => parseRecording(text.replace('"runs":2', '"runs":0'), 'r.json')).toThrow(/at least 1/);
  });
});

describe('other architectures from one recording (knowledge/arch-equivalents)', () => {
  it('aarch64: names it lacks become what glibc calls there; x86-only calls are said, not mapped', () => {
    const m = mapToArch(['open', 'stat', 'poll', 'fork', 'arch_prctl', 'read', 'iopl'], 'aarch64');
    expect([...m.names].sort()).toEqual(['clone', 'newfstatat', 'openat', 'ppoll', 'read']);
    expect(m.mapped.map((x) => [x.from, x.to])).toEqual([
      ['fork', ['clone']],
      ['open', ['openat']],
      ['poll', ['ppoll']],
      ['stat', ['newfstatat']],
    ]);
    expect(m.dropped.map((d) => [d.name, d.why !== undefined])).toEqual([
      ['arch_prctl', true],
      ['iopl', true],
    ]);
  });

  it('riscv64 has no renameat; arm (32-bit) gets the 64-bit-offset, time and id variants glibc calls first', () => {
    expect([...mapToArch(['rename', 'renameat'], 'riscv64').names]).toEqual(['renameat2']);
    const arm = mapToArch(['fstat', 'newfstatat', 'futex', 'getuid', 'mmap', 'clock_gettime'], 'arm');
    expect([...arm.names].sort()).toEqual([
      'clock_gettime',
      'clock_gettime64',
      'fstat',
      'fstat64',
      'fstatat64',
      'futex',
      'futex_time64',
      'getuid',
      'getuid32',
      'mmap2',
    ]);
    // and back: a 32-bit recording maps to x86_64's names
    expect([...mapToArch(['fstat64', 'mmap2', '_llseek', 'getuid32'], 'x86_64').names].sort()).toEqual([
      'fstat',
      'getuid',
      'lseek',
      'mmap',
    ]);
  });

  it('generate --arch writes the target ABIs only, with families applied on the target', () => {
    const b = new RecordingBuilder();
    b.call('x86_64', 'poll');
    b.call('x86_64', 'open');
    b.call('x86_64', 'arch_prctl');
    const g = generate([b.build()], { arch: ['aarch64', 'x86_64'], probed: false });
    expect(g.profile.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']);
    const names = g.profile.syscalls![0]!.names!;
    for (const n of ['ppoll', 'openat', 'poll', 'open', 'arch_prctl', 'pselect6']) expect(names).toContain(n);
    expect(g.crossArch.map((x) => x.target)).toEqual(['aarch64', 'x86_64']);
    expect(() => generate([b.build()], { arch: ['aarch64'], args: true })).toThrow(/cannot be mapped/);
  });
});
