// Import of every non-strace format, on logs captured from real programs where a capture was
// possible here (test/fixtures/import/README.md says how each was made), with exact sets.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { AuditReader } from '../../src/recorders/audit.js';
import { detectFormat, importLogs } from '../../src/recorders/import.js';
import { RecordingBuilder } from '../../src/recording/recording.js';
import { EXPECTED_32, EXPECTED_64 } from '../helpers/workload.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'import');
const x86_64 = findArch('x86_64')!;
const load = (file: string) => importLogs([join(dir, file)], { arch: x86_64 });
const names = (r: Awaited<ReturnType<typeof load>>) =>
  Object.fromEntries(Object.entries(r.syscalls).map(([abi, m]) => [abi, Object.keys(m ?? {})]));

describe('audit records (the completeness workload under a SECCOMP_RET_LOG filter)', () => {
  for (const [file, skipped] of [
    ['dmesg.txt', undefined],
    ['audit.log', 1],
    ['ausearch-i.txt', 158],
  ] as const) {
    it(`${file}: exactly the workload's set on both ABIs`, async () => {
      const r = await load(file);
      expect(r.malformed.count).toBe(0);
      expect(r.sources).toEqual([
        { format: 'audit', file: join(dir, file), ...(skipped ? { skipped } : {}) },
      ]);
      expect(names(r)).toEqual({ x86: EXPECTED_32, x86_64: EXPECTED_64 });
      expect(r.syscalls.x86!.getuid32!.executables).toEqual(['/tmp/cap/workload32']);
      expect(r.syscalls.x86_64!.unlinkat!.count).toBe(2);
    });
  }

  // dmesg.txt is another run of the workload (pthread_join waits on a futex or not, by timing)
  it('audit.log and ausearch -i of one run agree on every count', async () => {
    const counts = async (f: string) =>
      JSON.stringify(
        Object.entries((await load(f)).syscalls).map(([abi, m]) => [
          abi,
          Object.entries(m!).map(([n, s]) => [n, s.count]),
        ]),
      );
    expect(await counts('ausearch-i.txt')).toBe(await counts('audit.log'));
  });

  it('reports lost records and unreadable records with file:line and a code', () => {
    const b = new RecordingBuilder();
    const r = new AuditReader(b, 'k.txt');
    r.line('[ 7806.158246] kauditd_printk_skb: 149 callbacks suppressed', 1);
    r.line('type=SECCOMP msg=audit(1.2:3): pid=1 comm="x" sig=0 syscall=59', 2);
    r.line('type=SECCOMP msg=audit(1.2:3): pid=1 arch=c000003e syscall=1073741824 compat=0', 3);
    r.line('type=PATH msg=audit(1.2:3): item=0 name="/"', 4);
    const rec = b.build();
    expect(rec.malformed.samples.map((s) => [s.where, s.code])).toEqual([
      ['k.txt:1', 'audit-records-lost'],
      ['k.txt:2', 'audit-bad-record'],
    ]);
    expect(Object.keys(rec.syscalls.x32 ?? {})).toEqual(['read']); // 0x40000000: x32 read
    expect(r.skipped).toBe(1);
  });
});

describe('bpftrace map dumps (the same workload, comm filter)', () => {
  for (const file of ['bpftrace-id.txt', 'bpftrace-probe.txt', 'bpftrace-comm-id.json'])
    it(`${file}: exactly the workload's x86_64 set`, async () => {
      const r = await load(file);
      expect(r.malformed.count).toBe(0);
      expect(r.sources[0]!.format).toBe('bpftrace');
      expect(names(r)).toEqual({ x86_64: EXPECTED_64 });
      expect(r.syscalls.x86_64!.unlinkat!.count).toBe(2);
    });
});

describe('sysdig and falco (written by hand in their documented formats: see the README)', () => {
  it('default lines: enter events count, exit events only without their enter, non-syscall events skipped', async () => {
    const r = await load('sysdig-default.txt');
    expect(r.malformed.count).toBe(0);
    expect(r.sources[0]!.skipped).toBe(2); // switch, procexit
    expect(names(r)).toEqual({
      x86_64: ['brk', 'close', 'execve', 'exit_group', 'fstat', 'openat', 'read', 'rseq', 'write'],
    });
    expect(r.syscalls.x86_64!.openat).toMatchObject({ count: 1, pids: [7400], executables: ['cat'] });
  });

  it('container lines, and drop events reported as lost events', async () => {
    const r = await load('sysdig-container.txt');
    expect(names(r)).toEqual({ x86_64: ['accept4', 'epoll_wait', 'recvfrom'] });
    expect(r.malformed.samples.map((s) => [s.where, s.code])).toEqual([
      [join(dir, 'sysdig-container.txt:7'), 'sysdig-dropped-events'],
    ]);
  });

  it('-p"%evt.type" lists and falco alerts', async () => {
    expect(names(await load('sysdig-evt-type.txt'))).toEqual({
      x86_64: ['brk', 'close', 'execve', 'exit_group', 'openat', 'read'],
    });
    const f = await load('falco.txt');
    expect(f.sources[0]).toMatchObject({ format: 'falco', skipped: 2 });
    expect(names(f)).toEqual({ x86_64: ['connect', 'execve', 'openat'] });
    expect(f.syscalls.x86_64!.openat!.count).toBe(2);
  });
});

describe('qemu-user -strace (a guest aarch64 program)', () => {
  it('results on lines of their own, calls glued to a blocking one, interleaved processes, unknown numbers', async () => {
    const r = await importLogs([join(dir, 'qemu-aarch64.log')], { arch: findArch('aarch64')! });
    expect(r.sources).toEqual([{ format: 'qemu-strace', file: join(dir, 'qemu-aarch64.log') }]);
    expect(r.malformed).toEqual({ count: 0, samples: [] });
    const counts = Object.fromEntries(Object.entries(r.syscalls.aarch64 ?? {}).map(([n, s]) => [n, s.count]));
    expect(counts).toEqual({
      brk: 1,
      clone: 1,
      dup3: 1,
      execve: 2,
      exit_group: 1,
      faccessat: 1,
      futex: 1,
      newfstatat: 1,
      openat: 2,
      pipe2: 1,
      rseq: 1, // "Unknown syscall 293"
      rt_sigprocmask: 1,
      wait4: 1, // inside another process's cut result line
    });
    expect(r.syscalls.aarch64!.rt_sigprocmask!.pids).toEqual([5171]);
    expect(r.syscalls.aarch64!.wait4!.pids).toEqual([5173]);
  });
});

describe('format detection', () => {
  it('tells each format from its first lines', () => {
    expect(detectFormat('1234  openat(AT_FDCWD, "/x", O_RDONLY) = 3\n')).toBe('strace');
    expect(detectFormat('% time     seconds  usecs/call     calls    errors syscall\n')).toBe('strace');
    expect(detectFormat('type=SECCOMP msg=audit(1.2:3): arch=c000003e syscall=1\n')).toBe('audit');
    expect(detectFormat('Attaching 1 probe...\n@[257]: 3\n')).toBe('bpftrace');
    expect(detectFormat('1 12:00:00.1 0 ls (5) > read fd=3\n')).toBe('sysdig');
    expect(detectFormat('read\nwrite\n')).toBe('sysdig');
    expect(detectFormat('12:00:00.1: Notice x (evt.type=open)\n')).toBe('falco');
    expect(detectFormat('12 openat(AT_FDCWD,"/x",O_RDONLY) = -1 errno=2 (No such file or directory)\n')).toBe(
      'qemu-strace',
    );
  });
});
