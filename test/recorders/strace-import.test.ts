// strace import on real logs of one program (test/fixtures/strace, README there says how each was
// captured): every shape gives exactly the same syscall set and counts, checked against strace's
// own -c summary.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { importLogs } from '../../src/recorders/import.js';
import { StraceReader } from '../../src/recorders/strace.js';
import { RecordingBuilder, serializeRecording } from '../../src/recording/recording.js';
import { sysfence } from '../helpers/proc.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'strace');
const x86_64 = findArch('x86_64')!;
const counts = async (files: string[]) => {
  const r = await importLogs(
    files.map((f) => join(dir, f)),
    { arch: x86_64 },
  );
  expect(r.malformed).toEqual({ count: 0, samples: [] });
  return Object.fromEntries(Object.entries(r.syscalls.x86_64 ?? {}).map(([k, v]) => [k, v.count]));
};

describe('strace import', () => {
  it('reads -f logs: every call once, unfinished/resumed pairs counted once, agreeing with strace -c', async () => {
    const full = await counts(['f.log']);
    const summary = await counts(['c.log']);
    // strace -c lists no calls that do not return: exit_group (2 processes) and the thread's exit
    expect({ ...summary, exit: 1, exit_group: 2 }).toEqual(full);
    expect(Object.keys(full).length).toBe(30);
  });

  for (const shape of [
    ['ff.17411', 'ff.17412', 'ff.17413'],
    ['ttTy.log'],
    ['ttt.log'],
    ['r.log'],
    ['k.log'],
    ['xraw.log'],
    ['xverbose.log'],
  ]) {
    it(`reads ${shape.join(' + ')} to the same counts as -f`, async () => {
      expect(await counts(shape)).toEqual(await counts(['f.log']));
    });
  }

  it('reads -e filtered logs: exactly the traced classes', async () => {
    expect(Object.keys(await counts(['e.log']))).toEqual([
      'clone',
      'clone3',
      'execve',
      'exit',
      'exit_group',
      'kill',
      'rt_sigaction',
      'rt_sigprocmask',
      'rt_sigreturn',
      'wait4',
    ]);
  });

  it('knows processes, executables, first location, times and the first stack', async () => {
    const f = await importLogs([join(dir, 'f.log')], { arch: x86_64 });
    expect(f.syscalls.x86_64!.getppid).toEqual({
      count: 1,
      first: `${join(dir, 'f.log')}:47`,
      pids: [17406],
      executables: ['./w'],
    });
    expect(f.syscalls.x86_64!.execve!.pids).toEqual([17405, 17407]);
    const t = await importLogs([join(dir, 'ttTy.log')], { arch: x86_64 });
    expect(t.syscalls.x86_64!.execve!.firstTime).toBe(11 * 3600 + 36 * 60 + 19.582913);
    const k = await importLogs([join(dir, 'k.log')], { arch: x86_64 });
    expect(k.syscalls.x86_64!.brk!.stack![0]).toBe(
      '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2(_dl_catch_error+0x77c7) [0x1fc47]',
    );
    // child processes inherit the executable until they exec
    expect(k.syscalls.x86_64!.brk!.executables).toEqual(['./w', '/bin/true']);
  });

  it('follows personality switches to the 32-bit ABI and names unknown numbers', () => {
    const rec = new RecordingBuilder();
    const r = new StraceReader(rec, 'x.log', { arch: x86_64 });
    [
      '100 execve("./m32", ["./m32"], 0x7ffd /* 1 var */) = 0',
      '[ Process PID=100 runs in 32 bit mode. ]',
      '100 brk(NULL) = 0x8000',
      '100 syscall_0x1b9(0, 0) = -1 ENOSYS (Function not implemented)',
      '100 syscall_0xfff(0) = -1 ENOSYS (Function not implemented)',
      '100 +++ exited with 0 +++',
      'this is not strace output',
    ].forEach((l, i) => {
      r.line(l, i + 1);
    });
    const out = rec.build();
    expect(Object.keys(out.syscalls.x86 ?? {})).toEqual(['brk', 'epoll_pwait2', 'syscall_0xfff']); // 0x1b9 = 441 on i386
    expect(Object.keys(out.syscalls.x86_64 ?? {})).toEqual(['execve']);
    expect(out.malformed).toEqual({
      count: 1,
      samples: [{ where: 'x.log:7', code: 'strace-unrecognized-line', text: 'this is not strace output' }],
    });
  });

  it('is deterministic: same input, same bytes', async () => {
    const a = serializeRecording(await importLogs([join(dir, 'f.log')], { arch: x86_64 }));
    const b = serializeRecording(await importLogs([join(dir, 'f.log')], { arch: x86_64 }));
    expect(a).toBe(b);
  });

  it('the CLI reports unreadable lines with file:line and --strict makes them fatal', async () => {
    const r = await sysfence(['import', '--strict', '--arch', 'x86_64', join(dir, 'w.c')]);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(
      `${join(dir, 'w.c')}:1: error[strace-unrecognized-line] "#include <pthread.h>"`,
    );
  });

  it("a child that execs before its parent's clone returns keeps its own program and ABI", () => {
    const b = new RecordingBuilder();
    const r = new StraceReader(b, 'race.log', { arch: x86_64 });
    const lines = [
      '100 execve("/usr/bin/parent", ["parent"], 0x7ffc /* 1 var */) = 0',
      '100 clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>',
      '101 execve("/usr/bin/child32", ["child32"], 0x7ffc /* 1 var */) = 0',
      '[ Process PID=101 runs in 32 bit mode. ]',
      '100 <... clone resumed>) = 101',
      '101 getuid32() = 0',
      '100 getpid() = 100',
      '101 +++ exited with 0 +++',
      '101 getpid() = 101',
    ];
    for (const [i, l] of lines.entries()) r.bytes(Buffer.from(l), 0, l.length, i);
    const rec = b.build();
    expect(rec.syscalls.x86!.getuid32!.executables).toEqual(['/usr/bin/child32']);
    expect(rec.syscalls.x86_64!.getpid!.executables).toEqual(['/usr/bin/parent']);
    // pid 101 ended; a new process with that pid is a stranger: its own ABI, no program known
    expect(rec.syscalls.x86_64!.getpid!.pids).toEqual([100, 101]);
  });
});
