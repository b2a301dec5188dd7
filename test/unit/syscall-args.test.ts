// The syscall argument facts (src/knowledge/syscall-args.ts, from the kernel's prototypes): exact
// pointer positions and recorded-value positions, and every syscall a table numbers accounted for.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import {
  ARG_SPEC_NAMES,
  ARG_SPECS,
  argIndexes,
  pointerArgs,
  syscallArgs,
} from '../../src/knowledge/syscall-args.js';

const x86_64 = findArch('x86_64')!;

describe('syscall arguments from the kernel prototypes', () => {
  it('pointer positions, including the ones a hand-kept table missed', () => {
    const calls = [
      'read',
      'getdents64',
      'ioctl',
      'recvmmsg',
      'name_to_handle_at',
      'execve',
      'clone',
      'mmap',
      'socketcall',
      'chown32',
      'stat',
      'clock_gettime64',
      'timerfd_settime64',
      '_llseek',
      'ptrace',
      'getpid',
      'rt_sigreturn',
    ];
    expect(Object.fromEntries(calls.map((c) => [c, pointerArgs(c).join(',')]))).toEqual({
      read: '1',
      getdents64: '1',
      ioctl: '2', // declared unsigned long, an address for most requests
      recvmmsg: '1,4',
      name_to_handle_at: '1,2,3',
      execve: '0,1,2',
      clone: '2,3', // x86_64's order
      mmap: '',
      socketcall: '1',
      chown32: '0',
      stat: '0,1',
      clock_gettime64: '1',
      timerfd_settime64: '2,3',
      _llseek: '3',
      ptrace: '2,3',
      getpid: '',
      rt_sigreturn: '',
    });
    expect(syscallArgs('getdents64')).toEqual([
      { index: 0, type: 'unsigned int', name: 'fd', pointer: false },
      { index: 1, type: 'struct linux_dirent64 __user *', name: 'dirent', pointer: true },
      { index: 2, type: 'unsigned int', name: 'count', pointer: false },
    ]);
    expect(syscallArgs('accept')?.map((a) => [a.type, a.name])).toEqual([
      ['int', ''],
      ['struct sockaddr __user *', ''],
      ['int __user *', ''],
    ]);
  });

  it('the values --args records: positions from the prototype, never a pointer', () => {
    expect(Object.fromEntries(ARG_SPEC_NAMES.map((n) => [n, argIndexes(x86_64, n).join(',')]))).toEqual({
      arch_prctl: '0',
      clone: '0',
      fcntl: '1',
      fcntl64: '1',
      getsockopt: '1,2',
      ioctl: '1',
      kill: '1',
      madvise: '2',
      mmap: '2',
      mmap2: '2',
      mprotect: '2',
      personality: '0',
      pkey_mprotect: '2',
      prctl: '0',
      setns: '1',
      setsockopt: '1,2',
      socket: '0,1,2',
      socketpair: '0,1',
      tgkill: '2',
      unshare: '0',
    });
    expect(argIndexes(findArch('s390x')!, 'clone')).toEqual([1]);
    for (const n of Object.keys(ARG_SPECS))
      for (const i of argIndexes(x86_64, n))
        expect([n, i, syscallArgs(n)?.[i]?.pointer]).toEqual([n, i, false]);
  });

  it('every call the x86_64, i386 and arm64 tables number has a prototype, but the listed ones', () => {
    const names = new Set<string>();
    for (const f of ['x86_64', 'i386', 'arm64'])
      for (const line of readFileSync(
        join(import.meta.dirname, '..', '..', 'data', 'syscall-tables', `syscalls-${f}`),
        'utf8',
      ).split('\n')) {
        const [n, nr] = line.split('\t');
        if (n && nr) names.add(n);
      }
    // newer than the 6.12 headers, or never implemented (the *_old, vm86 and uprobe entries)
    expect([...names].filter((n) => !syscallArgs(n)).sort()).toEqual([
      'epoll_ctl_old',
      'epoll_wait_old',
      'file_getattr',
      'file_setattr',
      'getxattrat',
      'listns',
      'listxattrat',
      'lookup_dcookie',
      'open_tree_attr',
      'removexattrat',
      'rseq_slice_yield',
      'setxattrat',
      'uprobe',
      'vm86',
      'vm86old',
    ]);
  });
});
