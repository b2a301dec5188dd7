// The completeness suite: a workload with a known set of syscalls (threads, a forked child, an
// exec'd child, a signal handler, a 32-bit child, a failing call) recorded by both backends; each
// must report exactly that set plus the listed start-up/thread/exit calls of static glibc.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { ebpfProblems, record } from '../../src/recorders/record.js';
import type { Recording } from '../../src/recorders/recording.js';
import { haveTool, requirement } from '../helpers/tools.js';
import { EXPECTED_32, EXPECTED_64 } from '../helpers/workload.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'record');
const BIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
const x86_64 = findArch('x86_64')!;

function canBuild32(): boolean {
  const d = mkdtempSync(join(tmpdir(), 'sysfence-m32-'));
  const r = spawnSync('gcc', ['-m32', '-static', '-o', join(d, 'a'), join(fixtures, 'workload32.c')]);
  rmSync(d, { recursive: true, force: true });
  return r.status === 0;
}

const skip =
  process.arch !== 'x64'
    ? 'written for x86_64 hosts (i386 child, x86_64 numbers)'
    : (requirement(haveTool('gcc'), 'gcc') ??
      requirement(canBuild32(), 'gcc -m32 -static (Debian gcc-multilib)') ??
      requirement(haveTool('strace', ['-V']), 'strace'));
const ebpfSkip =
  skip ??
  requirement(ebpfProblems(x86_64).length === 0, `eBPF recording (${ebpfProblems(x86_64).join('; ')})`);

let dir = '';
beforeAll(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'sysfence-complete-'));
  execFileSync('gcc', [
    '-O1',
    '-static',
    '-pthread',
    '-o',
    join(dir, 'workload'),
    join(fixtures, 'workload.c'),
  ]);
  execFileSync('gcc', ['-m32', '-static', '-o', join(dir, 'workload32'), join(fixtures, 'workload32.c')]);
});

async function run(backend: 'ebpf' | 'strace'): Promise<Recording> {
  const scratch = mkdtempSync(join(dir, `scratch-${backend}-`));
  const r = await record({
    backend,
    arch: x86_64,
    command: [join(dir, 'workload'), scratch, join(dir, 'workload32')],
  });
  expect(r.exit).toEqual({ code: 0, signal: null });
  expect(r.backend).toBe(backend);
  return r.recording;
}

function checkComplete(rec: Recording): void {
  expect(EXPECTED_64.length).toBeGreaterThanOrEqual(60);
  expect(Object.keys(rec.syscalls).sort()).toEqual(['x86', 'x86_64']);
  expect(Object.keys(rec.syscalls.x86_64!)).toEqual(EXPECTED_64);
  expect(Object.keys(rec.syscalls.x86!)).toEqual(EXPECTED_32);
  const s = rec.syscalls.x86_64!;
  const workload = join(dir, 'workload');
  // who made what: the forked child, the exec'd child and the main process are different pids
  const main = s.getppid!.pids;
  expect(main).toHaveLength(1);
  expect(s.getresuid!.pids).toHaveLength(1);
  expect(s.getresuid!.pids).not.toEqual(main);
  expect(s.getresgid!.pids).not.toEqual(main);
  expect(s.getresgid!.executables).toEqual([workload]);
  expect(s.getcpu!.count).toBe(1); // inside the signal handler
  expect(s.rmdir!.count).toBe(1); // the failing call is recorded like any other
  expect(s.unlinkat!.count).toBe(2);
  expect(rec.syscalls.x86!.getuid32!.executables).toEqual([join(dir, 'workload32')]);
  expect(rec.syscalls.x86!.getuid32!.count).toBe(1);
}

describe.skipIf(skip !== undefined)('completeness: strace backend', () => {
  it('reports exactly the workload set, on both ABIs', async () => {
    checkComplete(await run('strace'));
  });
});

describe.skipIf(ebpfSkip !== undefined)('completeness: eBPF backend', () => {
  it('reports exactly the workload set, on both ABIs', async () => {
    checkComplete(await run('ebpf'));
  });

  it('both backends count every call alike', async () => {
    const a = await run('ebpf');
    const b = await run('strace');
    const counts = (r: Recording) =>
      Object.fromEntries(
        Object.entries(r.syscalls).map(([abi, m]) => [
          abi,
          Object.fromEntries(Object.entries(m ?? {}).map(([n, s]) => [n, s.count])),
        ]),
      );
    expect(counts(a)).toEqual(counts(b));
  });

  it('`record -- ls -la /` gives the same set with either backend, and passes the exit status through', () => {
    const sets = ['ebpf', 'strace'].map((backend) => {
      const out = join(dir, `ls-${backend}.json`);
      const r = spawnSync(
        'node',
        [BIN, 'record', '--backend', backend, '--recording', out, '--', 'ls', '-la', '/'],
        {
          encoding: 'utf8',
        },
      );
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(' usr');
      const rec = JSON.parse(readFileSync(out, 'utf8')) as Recording;
      return Object.keys(rec.syscalls.x86_64!);
    });
    expect(sets[0]!.length).toBeGreaterThan(20);
    expect(sets[0]).toEqual(sets[1]);
    for (const backend of ['ebpf', 'strace']) {
      const r = spawnSync('node', [BIN, 'record', '--backend', backend, '--', 'sh', '-c', 'exit 7'], {
        encoding: 'utf8',
      });
      expect(r.status).toBe(7);
    }
  });
});

const demoSkip = ebpfSkip ?? requirement(haveTool('bwrap', ['--version']), 'bubblewrap');
describe.skipIf(demoSkip !== undefined)('the demo', () => {
  it('records the demo server, runs it under its profile, and shows the fence holding', () => {
    const r = spawnSync('node', [BIN, 'demo', '--dir', join(dir, 'demo')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[1]).toMatch(
      /^1\. record \(eBPF, bpftrace\) node demo\/http-server\.mjs: it served 6 requests \(4 x 200, 2 x 404\), exit 0; \d+ distinct syscalls/,
    );
    expect(lines[4]).toBe(
      '4. run under the profile (bubblewrap --seccomp): it served 6 requests (4 x 200, 2 x 404), exit 0',
    );
    expect(lines[5]).toMatch(
      /^5\. the fence holds: the same profile without socket: it failed: Error: listen ENOSYS/,
    );
  });
});
