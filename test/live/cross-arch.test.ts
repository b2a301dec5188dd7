// Other architectures from one recording: record on x86_64, generate --arch aarch64, and trace the
// same programs built for aarch64 under qemu-user (qemu-aarch64 -strace): the synthesized profile
// must allow every call of the aarch64 trace. Programs: the cross-architecture workload (libc calls
// that aarch64 has only as *at / *2 / p* variants, built here with gcc and with clang for aarch64),
// and Debian's own builds of sqlite3, xz and busybox (scripts/arm64-sysroot.sh).

import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findArch, syscallTable } from '../../src/arch/tables.js';
import { HostFiles } from '../../src/exec/rootfs.js';
import { evaluate } from '../../src/profile/evaluate.js';
import { generate } from '../../src/profile/generate.js';
import { newCache } from '../../src/reach/cache.js';
import { reachProgram } from '../../src/reach/program.js';
import { importLogs } from '../../src/recorders/import.js';
import { mergeRecordings, type Recording } from '../../src/recording/recording.js';
import { ok, run, sysfence, tempDir } from '../helpers/proc.js';
import { haveTool, requirement } from '../helpers/tools.js';

const repo = join(import.meta.dirname, '..', '..');
const sysroot = join(repo, '.cache', 'arm64');
const skip =
  process.arch !== 'x64'
    ? 'written for x86_64 hosts'
    : (requirement(haveTool('qemu-aarch64', ['-version']), 'qemu-user (qemu-aarch64)') ??
      requirement(
        haveTool('clang-14'),
        'clang-14 (with libc6-dev-arm64-cross, binutils-aarch64-linux-gnu)',
      ) ??
      requirement(haveTool('strace', ['-V']), 'strace') ??
      requirement(haveTool('sqlite3'), 'sqlite3') ??
      requirement(haveTool('xz'), 'xz-utils') ??
      requirement(
        existsSync(join(sysroot, 'root', 'usr', 'bin', 'sqlite3')),
        'the aarch64 programs (bash scripts/arm64-sysroot.sh .cache/arm64)',
      ));
const dir = tempDir('sysfence-cross-');

/** Records `argv` on x86_64 with sysfence (strace backend) in `cwd`; returns the recording. */
async function recordX86(name: string, cwd: string, argv: string[], input?: string): Promise<Recording> {
  const rec = join(dir, `${name}.rec.json`);
  const r = await sysfence(['record', '--backend', 'strace', '--recording', rec, '--', ...argv], {
    cwd,
    ...(input !== undefined ? { input } : {}),
  });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(readFileSync(rec, 'utf8')) as Recording;
}

/** Traces `argv` (an aarch64 program) under qemu-user; returns the imported trace. */
async function traceArm(name: string, cwd: string, argv: string[], input?: string): Promise<Recording> {
  const log = join(dir, `${name}.qemu.log`);
  const r = await run('qemu-aarch64', ['-L', join(sysroot, 'root'), '-strace', '-D', log, ...argv], {
    cwd,
    ...(input !== undefined ? { input } : {}),
  });
  expect(r.status, r.stderr).toBe(0);
  const rec = await importLogs([log], { arch: findArch('aarch64')! });
  // every line of qemu's trace read: nothing of the proof is lost to the reader
  expect(rec.malformed.samples).toEqual([]);
  return rec;
}

/** The aarch64 calls the profile generated from `x86` (for aarch64) does not allow. */
function missing(x86: Recording, arm: Recording, exact: boolean): { calls: number; missing: string[] } {
  const g = generate([x86], { arch: ['aarch64'], exact });
  expect(g.profile.architectures).toEqual(['SCMP_ARCH_AARCH64']);
  const t = syscallTable('aarch64');
  const names = Object.keys(arm.syscalls.aarch64 ?? {});
  const out = names.filter((n) => {
    const v = evaluate(g.profile, 'aarch64', { nr: t.number(n)! });
    return v.kind !== 'ALLOW';
  });
  return { calls: names.length, missing: out.sort() };
}

const table: string[] = [];
afterAll(async () => {
  if (table.length > 0)
    console.log(
      `\naarch64 from an x86_64 recording (recall: aarch64 calls the profile allows):\n${table.join('\n')}`,
    );
});

/**
 * Static reach of the aarch64 program (decoded by sysfence's own aarch64 decoder, in the sysroot
 * the program ran from under qemu) contains every call its trace shows.
 */
const reachCache = newCache();
function reachContains(program: { path: string; root: string }, arm: Recording): void {
  const r = reachProgram(program.path, { fs: new HostFiles(program.root), cache: reachCache });
  expect(r.machine).toBe('aarch64');
  const reached = new Set(r.calls.map((c) => c.name));
  const traced = Object.keys(arm.syscalls.aarch64 ?? {});
  expect(traced.filter((n) => !reached.has(n))).toEqual([]);
  table.push(
    `  ${''.padEnd(16)} static reach of ${program.path} (aarch64 decoder): ${reached.size} calls, contains all ${traced.length} traced`,
  );
}

function prove(name: string, x86: Recording, arm: Recording, program?: { path: string; root: string }): void {
  const fam = missing(x86, arm, false);
  const exact = missing(x86, arm, true);
  table.push(
    `  ${name.padEnd(16)} ${fam.calls} calls in the aarch64 trace: ${fam.calls - fam.missing.length} allowed (${((100 * (fam.calls - fam.missing.length)) / fam.calls).toFixed(0)}%); with --exact ${exact.calls - exact.missing.length} (missing: ${exact.missing.join(', ') || 'none'})`,
  );
  expect(fam.missing).toEqual([]);
  if (program) reachContains(program, arm);
}

describe.skipIf(skip !== undefined)('generate --arch aarch64 from an x86_64 recording', () => {
  it('the cross-architecture workload: every call of its aarch64 build is allowed', async () => {
    const src = join(repo, 'test', 'fixtures', 'record', 'libc-workload.c');
    await ok(run('gcc', ['-O1', '-static', '-pthread', '-o', join(dir, 'lw-x86_64'), src]));
    // (clang, not gcc-aarch64-linux-gnu: that conflicts with gcc-multilib in Debian 12)
    await ok(
      run('clang-14', [
        '--target=aarch64-linux-gnu',
        '-O1',
        '-static',
        '-pthread',
        '-o',
        join(dir, 'lw-aarch64'),
        src,
      ]),
    );
    for (const d of ['wx', 'wa']) mkdirSync(join(dir, d));
    const x86 = await recordX86('lw', dir, [join(dir, 'lw-x86_64'), join(dir, 'wx')]);
    const arm = await traceArm('lw', dir, [join(dir, 'lw-aarch64'), join(dir, 'wa')]);
    // the workload's point: calls x86_64 has and aarch64 lacks were recorded and had to be mapped
    const g = generate([x86], { arch: ['aarch64'] });
    const mapped = g.crossArch[0]!.mapped.map((m) => `${m.from}->${m.to.join('|')}`);
    for (const m of [
      'access->faccessat',
      'dup2->dup3',
      'epoll_wait->epoll_pwait',
      'poll->ppoll',
      'unlink->unlinkat',
    ])
      expect(mapped).toContain(m);
    expect(g.crossArch[0]!.dropped).toEqual([
      { name: 'arch_prctl', why: expect.stringContaining('x86 only') },
    ]);
    prove('libc-workload', x86, arm, { path: join(dir, 'lw-aarch64'), root: '/' });
  });

  it('sqlite3 (Debian arm64 build): a script with a file database, transactions, an index, vacuum', async () => {
    const sql = [
      'create table t(a integer primary key, b text);',
      "begin; insert into t(b) values('x'),('y'),('z'); commit;",
      'create index ib on t(b);',
      'select count(*), max(b) from t;',
      'update t set b = b || b where a > 1;',
      'vacuum;',
      '',
    ].join('\n');
    const x86 = await recordX86('sqlite', dir, ['sqlite3', join(dir, 'x.db')], sql);
    const arm = await traceArm(
      'sqlite',
      dir,
      [join(sysroot, 'root', 'usr', 'bin', 'sqlite3'), join(dir, 'a.db')],
      sql,
    );
    prove('sqlite3', x86, arm, { path: '/usr/bin/sqlite3', root: join(sysroot, 'root') });
  });

  it('xz (Debian arm64 build): compress and decompress a file', async () => {
    const input = readFileSync(process.execPath).subarray(0, 400_000);
    for (const d of ['xx', 'xa']) {
      mkdirSync(join(dir, d));
      writeFileSync(join(dir, d, 'in.bin'), input);
    }
    const x86 = mergeRecordings([
      await recordX86('xz-c', join(dir, 'xx'), ['xz', '-k', '-T1', '-6', 'in.bin']),
      await recordX86('xz-d', join(dir, 'xx'), ['xz', '-d', '-k', '-f', 'in.bin.xz']),
    ]);
    const xz = join(sysroot, 'root', 'usr', 'bin', 'xz');
    const arm = mergeRecordings([
      await traceArm('xz-c', join(dir, 'xa'), [xz, '-k', '-T1', '-6', 'in.bin']),
      await traceArm('xz-d', join(dir, 'xa'), [xz, '-d', '-k', '-f', 'in.bin.xz']),
    ]);
    prove('xz', x86, arm, { path: '/usr/bin/xz', root: join(sysroot, 'root') });
  });

  it('busybox (Debian arm64 and amd64 builds): tar, gzip, sort, sed, find, ls, cp, rm', async () => {
    const steps = [
      // (no tar -z: busybox tar would run the host's gzip, and two processes' qemu -strace output
      // interleaves mid-line, which the reader reports as unreadable, failing the proof)
      ['tar', '-cf', 'out.tar', 'src'],
      ['gzip', 'out.tar'],
      ['gunzip', 'out.tar.gz'],
      ['tar', '-xf', 'out.tar', '-C', 'x'],
      ['sort', '-r', 'src/f1.txt', 'src/f2.txt'],
      ['sed', '-e', 's/alpha/beta/g', '-i', 'src/f2.txt'],
      ['find', 'src', '-name', '*.txt', '-newer', 'src/f1.txt'],
      ['gzip', '-k', 'src/f1.txt'],
      ['ls', '-la', 'src'],
      ['cp', '-a', 'src', 'dst'],
      ['rm', '-rf', 'dst'],
    ];
    const x86: Recording[] = [];
    const arm: Recording[] = [];
    for (const [side, bb] of [
      ['bx', join(sysroot, 'amd64', 'bin', 'busybox')],
      ['ba', join(sysroot, 'root', 'bin', 'busybox')],
    ] as const) {
      const cwd = join(dir, side);
      mkdirSync(join(cwd, 'src'), { recursive: true });
      mkdirSync(join(cwd, 'x'));
      for (const i of [1, 2]) writeFileSync(join(cwd, 'src', `f${i}.txt`), `line ${i} zeta alpha\n`);
      symlinkSync('f1.txt', join(cwd, 'src', 'link'));
      for (const [i, step] of steps.entries())
        if (side === 'bx') x86.push(await recordX86(`bb${i}`, cwd, [bb, ...step]));
        else arm.push(await traceArm(`bb${i}`, cwd, [bb, ...step]));
    }
    prove('busybox', mergeRecordings(x86, true), mergeRecordings(arm, true), {
      path: '/bin/busybox',
      root: join(sysroot, 'root'),
    });
  });
});
