// generate(): recordings -> allow-list profile, with the implied calls and nothing dropped silently.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { generate } from '../../src/profile/generate.js';
import { loadProfileText } from '../../src/profile/load.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { importLogs } from '../../src/recorders/import.js';
import { RecordingBuilder } from '../../src/recorders/recording.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'strace');

describe('generate', () => {
  it('allows exactly what was recorded plus what follows from it, ENOSYS otherwise', async () => {
    const rec = await importLogs([join(fixtures, 'c.log')], { arch: findArch('x86_64')! });
    const g = generate([rec]);
    // strace -c lists neither exit nor exit_group; a handler is installed, so restart_syscall too
    expect(g.implied.map((i) => i.name)).toEqual(['exit', 'exit_group', 'restart_syscall']);
    expect(g.profile.defaultErrnoRet).toBe(38);
    expect(g.profile.architectures).toEqual(['SCMP_ARCH_X86_64']);
    expect(g.profile.syscalls![0]!.names).toEqual([
      'access',
      'arch_prctl',
      'brk',
      'clone',
      'clone3',
      'close',
      'execve',
      'exit',
      'exit_group',
      'futex',
      'getpid',
      'getppid',
      'getrandom',
      'kill',
      'madvise',
      'mmap',
      'mprotect',
      'munmap',
      'newfstatat',
      'openat',
      'pread64',
      'prlimit64',
      'read',
      'restart_syscall',
      'rseq',
      'rt_sigaction',
      'rt_sigprocmask',
      'rt_sigreturn',
      'set_robust_list',
      'set_tid_address',
      'wait4',
    ]);
    const text = serializeDocker(g.profile);
    expect(serializeDocker(generate([rec]).profile)).toBe(text);
    expect(loadProfileText(text).issues).toEqual([]);
  });

  it('--deny and --companions', async () => {
    const rec = await importLogs([join(fixtures, 'f.log')], { arch: findArch('x86_64')! });
    expect(generate([rec], { deny: 'kill' }).profile.defaultAction).toBe('SCMP_ACT_KILL_PROCESS');
    expect(generate([rec], { deny: 'eperm' }).profile.defaultErrnoRet).toBe(1);
    expect(generate([rec], { companions: true }).profile.archMap).toEqual([
      { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    ]);
  });

  it('32-bit processes add sigreturn; unnamed numbers are reported, not dropped', () => {
    const b = new RecordingBuilder();
    b.call('x86', 'rt_sigaction');
    b.call('x86', 'syscall_0xfff', {}, 3);
    const g = generate([b.build()]);
    expect(g.implied.map((i) => i.name)).toEqual([
      'exit',
      'exit_group',
      'restart_syscall',
      'rt_sigreturn',
      'sigreturn',
    ]);
    expect(g.unnamed).toEqual([{ abi: 'x86', name: 'syscall_0xfff', count: 3 }]);
  });
});
