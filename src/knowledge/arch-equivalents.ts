/**
 * One recording, other architectures: what a program recorded on one ABI calls on another. The
 * same C code goes through the same libc functions, and the libc turns them into the syscalls the
 * target has: newer ABIs (aarch64, riscv64, loongarch64: the kernel's generic table) have no open,
 * stat, poll, dup2, pipe, fork, select, epoll_wait, ... and glibc calls the *at / *2 / p* successor
 * instead; 32-bit ABIs have 64-bit-offset, 64-bit-time and 32-bit-uid variants that glibc calls
 * first. `generate --arch` uses this table; each row says why, and a name with no row and no
 * equivalent is reported, never dropped silently.
 *
 * Proved by tracing the same programs built for aarch64 under qemu-user (test/live/cross-arch):
 * the profile synthesized from the x86_64 recording allows every call of the aarch64 trace.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';

export interface ArchEquivalent {
  /** A name the source ABI has and the target may lack. */
  from: string;
  /** What the libc calls instead on an ABI without `from` (those the target has are used). */
  to: readonly string[];
  why: string;
}

const GENERIC = "the kernel's generic syscall table (aarch64, riscv64, loongarch64) has no";

export const ARCH_EQUIVALENTS: readonly ArchEquivalent[] = [
  { from: 'open', to: ['openat'], why: `${GENERIC} open: glibc open() is openat` },
  { from: 'creat', to: ['openat'], why: `${GENERIC} creat: glibc creat() is openat(O_CREAT|O_TRUNC)` },
  { from: 'stat', to: ['newfstatat', 'fstatat64'], why: `${GENERIC} stat: glibc stat() is fstatat` },
  {
    from: 'lstat',
    to: ['newfstatat', 'fstatat64'],
    why: `${GENERIC} lstat: glibc lstat() is fstatat(AT_SYMLINK_NOFOLLOW)`,
  },
  { from: 'poll', to: ['ppoll', 'ppoll_time64'], why: `${GENERIC} poll: glibc poll() is ppoll` },
  {
    from: 'select',
    to: ['pselect6', 'pselect6_time64'],
    why: `${GENERIC} select: glibc select() is pselect6`,
  },
  {
    from: '_newselect',
    to: ['pselect6', 'pselect6_time64', 'select'],
    why: 'glibc select() on ABIs without _newselect is pselect6',
  },
  {
    from: 'epoll_wait',
    to: ['epoll_pwait'],
    why: `${GENERIC} epoll_wait: glibc epoll_wait() is epoll_pwait`,
  },
  {
    from: 'epoll_create',
    to: ['epoll_create1'],
    why: `${GENERIC} epoll_create: glibc epoll_create() is epoll_create1`,
  },
  {
    from: 'dup2',
    to: ['dup3'],
    why: `${GENERIC} dup2: glibc dup2() is dup3 (or fcntl when both descriptors are equal)`,
  },
  { from: 'pipe', to: ['pipe2'], why: `${GENERIC} pipe: glibc pipe() is pipe2` },
  { from: 'fork', to: ['clone'], why: `${GENERIC} fork: glibc fork() is clone(SIGCHLD)` },
  { from: 'vfork', to: ['clone'], why: `${GENERIC} vfork: glibc vfork() is clone(CLONE_VM|CLONE_VFORK)` },
  { from: 'access', to: ['faccessat'], why: `${GENERIC} access: glibc access() is faccessat` },
  { from: 'readlink', to: ['readlinkat'], why: `${GENERIC} readlink: glibc readlink() is readlinkat` },
  { from: 'unlink', to: ['unlinkat'], why: `${GENERIC} unlink: glibc unlink() is unlinkat` },
  { from: 'rmdir', to: ['unlinkat'], why: `${GENERIC} rmdir: glibc rmdir() is unlinkat(AT_REMOVEDIR)` },
  { from: 'mkdir', to: ['mkdirat'], why: `${GENERIC} mkdir: glibc mkdir() is mkdirat` },
  {
    from: 'rename',
    to: ['renameat', 'renameat2'],
    why: `${GENERIC} rename: glibc rename() is renameat (renameat2 where renameat is gone too)`,
  },
  {
    from: 'renameat',
    to: ['renameat2'],
    why: 'riscv64 and loongarch64 have no renameat: glibc renameat() is renameat2',
  },
  { from: 'chmod', to: ['fchmodat'], why: `${GENERIC} chmod: glibc chmod() is fchmodat` },
  { from: 'chown', to: ['fchownat'], why: `${GENERIC} chown: glibc chown() is fchownat` },
  {
    from: 'lchown',
    to: ['fchownat'],
    why: `${GENERIC} lchown: glibc lchown() is fchownat(AT_SYMLINK_NOFOLLOW)`,
  },
  { from: 'link', to: ['linkat'], why: `${GENERIC} link: glibc link() is linkat` },
  { from: 'symlink', to: ['symlinkat'], why: `${GENERIC} symlink: glibc symlink() is symlinkat` },
  { from: 'mknod', to: ['mknodat'], why: `${GENERIC} mknod: glibc mknod() is mknodat` },
  { from: 'getdents', to: ['getdents64'], why: `${GENERIC} getdents: readdir is getdents64` },
  { from: 'eventfd', to: ['eventfd2'], why: `${GENERIC} eventfd: glibc eventfd() is eventfd2` },
  {
    from: 'inotify_init',
    to: ['inotify_init1'],
    why: `${GENERIC} inotify_init: glibc inotify_init() is inotify_init1`,
  },
  { from: 'signalfd', to: ['signalfd4'], why: `${GENERIC} signalfd: glibc signalfd() is signalfd4` },
  { from: 'alarm', to: ['setitimer'], why: `${GENERIC} alarm: glibc alarm() is setitimer` },
  {
    from: 'pause',
    to: ['ppoll', 'ppoll_time64'],
    why: `${GENERIC} pause: glibc pause() is ppoll with no descriptors`,
  },
  {
    from: 'time',
    to: ['clock_gettime', 'clock_gettime64'],
    why: `${GENERIC} time: glibc time() is clock_gettime (the vDSO when it can)`,
  },
  {
    from: 'utime',
    to: ['utimensat', 'utimensat_time64'],
    why: `${GENERIC} utime: glibc utime() is utimensat`,
  },
  {
    from: 'utimes',
    to: ['utimensat', 'utimensat_time64'],
    why: `${GENERIC} utimes: glibc utimes() is utimensat`,
  },
  {
    from: 'futimesat',
    to: ['utimensat', 'utimensat_time64'],
    why: `${GENERIC} futimesat: glibc futimesat() is utimensat`,
  },
  { from: 'getpgrp', to: ['getpgid'], why: `${GENERIC} getpgrp: glibc getpgrp() is getpgid(0)` },
  {
    from: 'ustat',
    to: ['statfs', 'statfs64'],
    why: 'ustat is gone on newer ABIs: glibc has no ustat there and callers use statfs',
  },
  { from: 'sendfile64', to: ['sendfile'], why: '64-bit ABIs have one sendfile with 64-bit offsets' },
  {
    from: 'getrlimit',
    to: ['prlimit64', 'ugetrlimit'],
    why: 'glibc getrlimit() is prlimit64 (ugetrlimit on old 32-bit ABIs)',
  },
  { from: 'ugetrlimit', to: ['getrlimit', 'prlimit64'], why: 'ugetrlimit is the 32-bit name of getrlimit' },
  {
    from: 'mmap',
    to: ['mmap2'],
    why: '32-bit ABIs without the old mmap (arm EABI) map with mmap2, which glibc calls on all of them',
  },
  { from: 'mmap2', to: ['mmap'], why: 'mmap2 is the 32-bit page-offset mmap; 64-bit ABIs have one mmap' },
  {
    from: '_llseek',
    to: ['lseek'],
    why: '_llseek is the 32-bit 64-bit-offset lseek; 64-bit ABIs have one lseek',
  },
  { from: 'newfstatat', to: ['fstatat64'], why: 'newfstatat is the 64-bit name; 32-bit ABIs call fstatat64' },
  { from: 'fstatat64', to: ['newfstatat'], why: 'fstatat64 is the 32-bit name; 64-bit ABIs call newfstatat' },
  {
    from: 'fadvise64',
    to: ['fadvise64_64', 'arm_fadvise64_64'],
    why: 'glibc posix_fadvise() is fadvise64_64 on 32-bit ABIs (arm_fadvise64_64 on arm)',
  },
  { from: 'fadvise64_64', to: ['fadvise64'], why: '64-bit ABIs have one fadvise64' },
  {
    from: 'arm_fadvise64_64',
    to: ['fadvise64', 'fadvise64_64'],
    why: "arm_fadvise64_64 is arm's name for fadvise64_64",
  },
  {
    from: 'sync_file_range',
    to: ['arm_sync_file_range', 'sync_file_range2'],
    why: 'arm and powerpc order its arguments differently under another name',
  },
  {
    from: 'socketcall',
    to: [],
    why: 'the 32-bit x86 socket multiplexer: other ABIs call socket, connect, ... directly (recorded under their own names)',
  },
];

/** Calls one ABI family has and no equivalent exists for elsewhere: said, not mapped. */
export const ARCH_SPECIFIC: Readonly<Record<string, string>> = {
  arch_prctl:
    'x86 only: sets the FS/GS base for thread-local storage; other ABIs use a register (aarch64 TPIDR_EL0) and need no call',
  set_thread_area: 'x86 and a few others: thread-local storage; aarch64 and riscv64 need no call',
  get_thread_area: 'x86 and a few others: thread-local storage; aarch64 and riscv64 need no call',
  modify_ldt: 'x86 only: the local descriptor table',
  iopl: 'x86 only: I/O port privilege',
  ioperm: 'x86 only: I/O port permissions',
  vm86: 'x86 only: virtual 8086 mode',
  vm86old: 'x86 only: virtual 8086 mode',
  uselib: 'obsolete: a.out shared libraries',
  _sysctl: 'removed from Linux 5.5',
  sysfs: 'obsolete, not on newer ABIs',
  set_tls: 'arm only: thread-local storage; other ABIs use a register or arch_prctl',
  cacheflush: 'arm and mips only: flushes the instruction cache; aarch64 does it from user space',
};

/** On 32-bit ABIs glibc calls these variants first (64-bit offsets, times and ids). */
const SUFFIXES_32 = ['64', '_time64', '32'] as const;

export interface ArchMapping {
  /** The names to allow on the target. */
  names: Set<string>;
  /** Recorded names the target lacks, and what they became. */
  mapped: { from: string; to: string[]; why: string }[];
  /** Variants added on a 32-bit target (fstat -> fstat64, futex -> futex_time64, ...). */
  variants: { from: string; to: string; why: string }[];
  /** Recorded names with no counterpart on the target, with the reason (ARCH_SPECIFIC) or none. */
  dropped: { name: string; why?: string }[];
}

/** Maps names recorded on any ABI to `target`. Deterministic: rows in sorted name order. */
export function mapToArch(recorded: Iterable<string>, target: ArchId): ArchMapping {
  const t = syscallTable(target);
  const has = (n: string) => t.number(n) !== undefined;
  const out: ArchMapping = { names: new Set(), mapped: [], variants: [], dropped: [] };
  const rows = new Map(ARCH_EQUIVALENTS.map((e) => [e.from, e]));
  for (const name of [...new Set(recorded)].sort()) {
    if (has(name)) {
      out.names.add(name);
      continue;
    }
    const row = rows.get(name);
    const to = row ? row.to.filter(has) : [];
    if (row && (to.length > 0 || row.to.length === 0)) {
      for (const n of to) out.names.add(n);
      out.mapped.push({ from: name, to, why: row.why });
      continue;
    }
    // a 32-bit variant recorded (fstat64, futex_time64, getuid32) is its plain name elsewhere
    const plain = SUFFIXES_32.map((s) => (name.endsWith(s) ? name.slice(0, -s.length) : '')).find(
      (n) => n !== '' && has(n),
    );
    if (plain) {
      out.names.add(plain);
      out.mapped.push({ from: name, to: [plain], why: `${name} is the 32-bit variant of ${plain}` });
      continue;
    }
    out.dropped.push(ARCH_SPECIFIC[name] ? { name, why: ARCH_SPECIFIC[name] } : { name });
  }
  if (t.arch.bits === 32)
    for (const name of [...out.names].sort())
      for (const s of SUFFIXES_32)
        if (has(name + s) && !out.names.has(name + s)) {
          out.names.add(name + s);
          out.variants.push({
            from: name,
            to: name + s,
            why: `32-bit glibc calls ${name + s} (64-bit ${s === '32' ? 'ids' : s === '_time64' ? 'time' : 'offsets or times'}) before ${name}`,
          });
        }
  return out;
}
