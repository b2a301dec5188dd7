// generate(): recordings -> allow-list profile, with the implied calls and nothing dropped silently.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { generate } from '../../src/profile/generate.js';
import { loadProfileText } from '../../src/profile/load.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { importLogs } from '../../src/recorders/import.js';
import { RecordingBuilder } from '../../src/recording/recording.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'strace');
const CLONE_RULE = {
  names: ['clone'],
  action: 'SCMP_ACT_ALLOW',
  args: [{ index: 0, value: 0x7e020000n, op: 'SCMP_CMP_MASKED_EQ' }],
  comment: "Docker's default allows clone only for (arg0 & 0x7e020000) == 0",
};

describe('generate', () => {
  it('allows exactly what was recorded plus what follows from it, ENOSYS otherwise', async () => {
    const rec = await importLogs([join(fixtures, 'c.log')], { arch: findArch('x86_64')! });
    const g = generate([rec], { exact: true });
    expect(g.families).toEqual([]);
    // strace -c lists neither exit nor exit_group; a handler is installed, so restart_syscall too
    expect(g.implied.map((i) => i.name)).toEqual(['exit', 'exit_group', 'restart_syscall']);
    expect(g.profile.defaultErrnoRet).toBe(38);
    expect(g.profile.architectures).toEqual(['SCMP_ARCH_X86_64']);
    expect(g.profile.syscalls![0]!.names).toEqual([
      'access',
      'arch_prctl',
      'brk',
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
    // never weaker than Docker's default: clone only without namespace flags, clone3 left to the
    // explicit ENOSYS (glibc then falls back to clone)
    expect(g.profile.syscalls![1]).toEqual(CLONE_RULE);
    expect(g.baseline).toEqual({
      hosts: ['x86_64'],
      beyond: [],
      references: ['docker-default'],
      changes: [
        {
          name: 'clone',
          kind: 'narrowed',
          why: "Docker's default allows it only for (arg0 & 0x7e020000) == 0",
        },
        {
          name: 'clone3',
          kind: 'denied',
          why: "Docker's default denies it (ERRNO(38)) whatever the arguments",
        },
      ],
    });
    expect(g.enosys[0]).toBe('clone3');
    const text = serializeDocker(g.profile);
    expect(serializeDocker(generate([rec], { exact: true }).profile)).toBe(text);
    expect(loadProfileText(text).issues).toEqual([]);
  });

  it('the calls libraries probe get ERRNO(ENOSYS) by an explicit rule, whatever the default', async () => {
    const rec = await importLogs([join(fixtures, 'c.log')], { arch: findArch('x86_64')! });
    // c.log has getrandom: allowed, so not in the rule; its clone3 is denied as by Docker's default
    const probed = [
      'clone3',
      'close_range',
      'execveat',
      'faccessat2',
      'fchmodat2',
      'fsopen',
      'landlock_create_ruleset',
      'membarrier',
      'memfd_create',
      'mount_setattr',
      'open_tree',
      'openat2',
      'pidfd_getfd',
      'pidfd_open',
      'pidfd_send_signal',
      'preadv2',
      'pwritev2',
      'statx',
    ];
    for (const deny of ['enosys', 'eperm', 'kill'] as const) {
      const g = generate([rec], { deny });
      expect(g.enosys).toEqual(probed);
      expect(g.profile.syscalls!.slice(1)).toEqual([
        CLONE_RULE,
        {
          names: probed,
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 38,
          comment:
            'libraries fall back from these only on ENOSYS (not every runtime honours defaultErrnoRet)',
        },
      ]);
    }
    expect(generate([rec], { probed: false }).profile.syscalls!.length).toBe(2);
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

  it('--args: rules from small exact sets of numbers, none where a value is symbolic, large or too varied', () => {
    const b = new RecordingBuilder();
    b.call('x86_64', 'socket', {
      args: [
        [0, '1'],
        [1, '524289'],
        [2, '0'],
      ],
    });
    b.call('x86_64', 'socket', {
      args: [
        [0, '2'],
        [1, '1'],
        [2, '0'],
      ],
    });
    b.call('x86_64', 'personality', { args: [[0, '4294967295']] });
    b.call('x86_64', 'ioctl', { args: [[1, '?']] });
    for (let v = 0; v < 9; v++) b.call('x86_64', 'fcntl', { args: [[1, String(v)]] });
    b.call('x86_64', 'read');
    const g = generate([b.build()], { args: true, probed: false, exact: true });
    expect(
      g.profile.syscalls!.map((r) => [r.names, (r.args ?? []).map((a) => [a.index, a.value, a.op])]),
    ).toEqual([
      [['exit', 'exit_group', 'fcntl', 'ioctl', 'read'], []],
      // personality as Docker's default allows it (its recorded 0xffffffff is one of the five)
      ...[0n, 8n, 0x20000n, 0x20008n, 0xffffffffn].map((v) => [['personality'], [[0, v, 'SCMP_CMP_EQ']]]),
      [
        ['socket'],
        [
          [0, 1n, 'SCMP_CMP_EQ'],
          [1, 1n, 'SCMP_CMP_EQ'],
          [2, 0n, 'SCMP_CMP_EQ'],
        ],
      ],
      [
        ['socket'],
        [
          [0, 1n, 'SCMP_CMP_EQ'],
          [1, 524289n, 'SCMP_CMP_EQ'],
          [2, 0n, 'SCMP_CMP_EQ'],
        ],
      ],
      [
        ['socket'],
        [
          [0, 2n, 'SCMP_CMP_EQ'],
          [1, 1n, 'SCMP_CMP_EQ'],
          [2, 0n, 'SCMP_CMP_EQ'],
        ],
      ],
      [
        ['socket'],
        [
          [0, 2n, 'SCMP_CMP_EQ'],
          [1, 524289n, 'SCMP_CMP_EQ'],
          [2, 0n, 'SCMP_CMP_EQ'],
        ],
      ],
    ]);
    expect(g.argRules).toEqual([{ name: 'socket', indexes: [0, 1, 2], rules: 4 }]);
    expect(g.argSkipped).toEqual([
      { name: 'fcntl', index: 1, why: '9 distinct values (more than 8)' },
      { name: 'ioctl', index: 1, why: 'some values were not numbers in the trace' },
      {
        name: 'personality',
        index: 0,
        why: 'values >= 2^31 (an int argument may be sign-extended in the register)',
      },
    ]);
    // a recording of the same call without argument values vouches for no restriction
    const plain = new RecordingBuilder();
    plain.call('x86_64', 'socket');
    expect(generate([b.build(), plain.build()], { args: true }).argRules).toEqual([]);
  });

  it("a containerd pod's profile is held to Docker's default and to containerd's RuntimeDefault", () => {
    // process_vm_readv: Docker's default allows it, containerd's denies it (without CAP_SYS_PTRACE);
    // io_uring_setup: the other way round; read: both allow it
    const b = new RecordingBuilder();
    b.source('test', 'a pod');
    for (const name of ['read', 'process_vm_readv', 'io_uring_setup'])
      b.call('x86_64', name, { pid: 1, executable: '/app' });
    const rec = b.build();
    const allowed = (g: ReturnType<typeof generate>) =>
      g.profile.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names ?? []);
    const docker = generate([rec], { exact: true });
    expect(['read', 'process_vm_readv', 'io_uring_setup'].filter((n) => allowed(docker).includes(n))).toEqual(
      ['read', 'process_vm_readv'],
    );
    const pod = generate([rec], { exact: true, baselines: ['docker-default', 'containerd-default'] });
    expect(['read', 'process_vm_readv', 'io_uring_setup'].filter((n) => allowed(pod).includes(n))).toEqual([
      'read',
    ]);
    expect(pod.baseline.changes.filter((c) => c.name !== 'clone' && c.name !== 'clone3')).toEqual([
      {
        name: 'io_uring_setup',
        kind: 'denied',
        why: "Docker's default or containerd's RuntimeDefault denies it (ERRNO(1)) whatever the arguments",
      },
      {
        name: 'process_vm_readv',
        kind: 'denied',
        why: "Docker's default or containerd's RuntimeDefault denies it (ERRNO(1)) whatever the arguments",
      },
    ]);
  });
});
