/**
 * Call families: syscalls a program picks among by situation, not by code path, so one recording
 * shows one member and the next input needs another. `generate` adds the members of a family once
 * one of its triggers was recorded (on that ABI, only names that exist on it), and says which and
 * why; `--exact` turns it off.
 *
 * Each row names the library behaviour that makes the choice situational on one ABI: which input,
 * which kind of file or descriptor, which libc path. Calls one ABI's libc makes where another has
 * a different syscall (access -> faccessat, open -> openat on aarch64) are not families: that is
 * `generate --arch` (knowledge/arch-equivalents). Rules for a row:
 * - never add a call data/syscall-risks.tsv lists (clone, clone3, mount, bpf, ptrace, namespaces,
 *   keyctl, ...) and never one libraries probe for ENOSYS (knowledge/probed-calls: statx,
 *   faccessat2, openat2, preadv2, ...): those keep their explicit ENOSYS rule so the fallback runs.
 *   A test holds the table to both.
 * - a trigger is a call whose presence shows the program does that kind of work; `add` is what the
 *   same work needs on another input, another kind of file descriptor, or another libc path.
 */
export interface CallFamily {
  id: string;
  /** Any of these recorded (on an ABI) adds `add` (those that exist on that ABI). */
  when: readonly string[];
  add: readonly string[];
  /** The library or kernel behaviour that makes the choice situational. */
  why: string;
  /**
   * Calls added only under an argument rule that keeps them out of the risk list's reach: clone
   * without any CLONE_NEW* flag (Docker's default allows it the same way) starts a process or a
   * thread, never a namespace. Not added on s390/s390x (clone's flags are its second argument there).
   */
  restricted?: readonly { name: string; index: number; mask: bigint; why: string }[];
  /**
   * The choice among the members depends on timing, not on the input: the same command recorded
   * twice may show different members (a gate that checks a run must expect any of them).
   */
  timing?: boolean;
}

/** CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET. */
export const CLONE_NAMESPACE_FLAGS = 0x7e020000n;

/** `when` and `add` the same list: any member brings the others. */
const sym = (id: string, members: string[], why: string): CallFamily => ({
  id,
  when: members,
  add: members,
  why,
});

export const CALL_FAMILIES: readonly CallFamily[] = [
  {
    id: 'poll',
    timing: true,
    when: [
      'poll',
      'ppoll',
      'select',
      '_newselect',
      'pselect6',
      'pselect6_time64',
      'ppoll_time64',
      'pipe',
      'pipe2',
    ],
    add: ['poll', 'ppoll', 'select', '_newselect', 'pselect6', 'pselect6_time64', 'ppoll_time64'],
    why: 'programs wait on descriptors with poll or select, and only when they must: xz, git and curl poll a pipe or socket only when it is full or empty (which depends on timing: the same input passes or fails), perl and OpenSSL use select; a workload that makes pipes has programs on both ends',
  },
  {
    id: 'epoll',
    when: ['epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait'],
    add: ['epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_wait', 'epoll_pwait'],
    why: 'event loops wait with epoll_wait or epoll_pwait depending on whether a signal mask is set (libuv, Python asyncio, nginx), and glibc implements epoll_wait with epoll_pwait where the ABI has no epoll_wait',
  },
  sym(
    'accept',
    ['accept', 'accept4'],
    'servers accept with accept4 (flags in one call) or accept, by libc and language runtime (Python, perl and OpenSSL differ)',
  ),
  sym(
    'dup',
    ['dup', 'dup2', 'dup3'],
    'redirection (a shell, posix_spawn file actions, OpenSSL speed -multi) uses dup, dup2 or dup3 depending on the target descriptor; glibc implements dup2 with dup3 where the ABI has no dup2',
  ),
  sym(
    'pipe',
    ['pipe', 'pipe2'],
    'glibc pipe() is pipe2 on newer ABIs; programs that need O_CLOEXEC call pipe2 directly, others pipe',
  ),
  sym(
    'read',
    ['read', 'readv', 'pread64'],
    'stdio, databases and archivers read with read, readv or pread64 depending on the buffer layout and whether the file is seekable (sqlite reads its database with pread64, its journal with read)',
  ),
  sym(
    'write',
    ['write', 'writev', 'pwrite64'],
    'stdio, loggers and databases write with write, writev or pwrite64 depending on the buffer layout and whether the file is seekable',
  ),
  {
    id: 'copy',
    when: [
      'sendfile',
      'sendfile64',
      'copy_file_range',
      'splice',
      'fadvise64',
      'fadvise64_64',
      'arm_fadvise64_64',
    ],
    add: ['sendfile', 'sendfile64', 'copy_file_range', 'splice'],
    why: 'coreutils cat and cp (which announce sequential reads with fadvise64) copy with copy_file_range when the output is a regular file, sendfile to a socket, splice to a pipe, and read/write otherwise; web servers send files the same way',
  },
  {
    id: 'wait',
    when: ['wait4', 'waitid', 'fork', 'vfork'],
    add: ['wait4', 'waitid', 'fork', 'vfork', 'rt_sigsuspend', 'sigsuspend'],
    restricted: [
      {
        name: 'clone',
        index: 0,
        mask: CLONE_NAMESPACE_FLAGS,
        why: 'clone only without CLONE_NEW* flags: a process, never a namespace',
      },
    ],
    why: "a program that starts processes waits with wait4 or waitid (glibc waitpid is wait4; Python's subprocess uses waitid) and starts them with fork, vfork or clone by libc path: glibc posix_spawn and system() (sqlite's .shell, git's hooks) call clone3 and, on its ENOSYS, clone; a shell waiting for background jobs that have not ended yet sleeps in sigsuspend (dash's `wait`: with ENOSYS there it spins forever)",
  },
  {
    id: 'raise',
    timing: true,
    when: ['rt_sigaction', 'sigaction', 'signal'],
    add: ['rt_sigprocmask', 'sigprocmask', 'getpid', 'gettid', 'tgkill'],
    why: 'a program with a signal handler re-raises the signal after cleaning up (sort and other coreutils on SIGPIPE, abort()): glibc raise() blocks signals with rt_sigprocmask and sends with gettid, getpid and tgkill',
  },
  {
    id: 'stat',
    when: ['stat', 'lstat', 'fstat', 'newfstatat', 'stat64', 'lstat64', 'fstat64', 'fstatat64'],
    add: ['fstat', 'newfstatat', 'fstat64', 'fstatat64'],
    why: 'a program stats by descriptor or by path depending on whether the file is open, and glibc (>= 2.33) sends stat, lstat and fstat through newfstatat (fstatat64 on 32-bit ABIs) while other code calls fstat; stat and lstat are not added, only glibc-free code calls them (statx is not added: libraries probe it and fall back on ENOSYS)',
  },
  {
    id: 'utime',
    when: ['utime', 'utimes', 'futimesat', 'utimensat', 'utimensat_time64', 'chmod', 'fchmod', 'fchmodat'],
    add: ['utime', 'utimes', 'futimesat', 'utimensat', 'utimensat_time64'],
    why: 'programs that set a file mode also set its times when the input asks (tar, cp -p, git checkout, rsync, install): utimensat in glibc, utime and utimes in older code',
  },
  sym(
    'xattr-get',
    ['getxattr', 'lgetxattr', 'fgetxattr'],
    'extended attributes are read by path, without following links (a symlink), or by descriptor (an open file): tar, cp --preserve=xattr, rsync and ls -l (ACLs, SELinux labels) pick the l/f variant by the file at hand',
  ),
  sym(
    'xattr-list',
    ['listxattr', 'llistxattr', 'flistxattr'],
    'extended attributes are listed by path, without following links (a symlink), or by descriptor (an open file), by the file at hand',
  ),
  sym(
    'xattr-set',
    ['setxattr', 'lsetxattr', 'fsetxattr'],
    'extended attributes are set by path, without following links (a symlink in an archive takes lsetxattr), or by descriptor (an open file)',
  ),
  sym(
    'xattr-remove',
    ['removexattr', 'lremovexattr', 'fremovexattr'],
    'extended attributes are removed by path, without following links, or by descriptor, by the file at hand',
  ),
  {
    id: 'memory',
    when: ['mmap', 'mmap2', 'brk', 'munmap'],
    add: ['mmap', 'mmap2', 'brk', 'munmap', 'mprotect', 'mremap', 'madvise'],
    why: "glibc malloc grows with brk or mmap, shrinks large blocks with munmap or madvise(MADV_DONTNEED), moves them on realloc with mremap and sets up thread arenas with mprotect, all depending on the input's size",
  },
  sym(
    'sleep',
    ['nanosleep', 'clock_nanosleep', 'clock_nanosleep_time64'],
    'glibc sleep and usleep call clock_nanosleep, older code and other libcs nanosleep',
  ),
  sym(
    'send',
    ['sendto', 'sendmsg', 'sendmmsg', 'send'],
    'sockets are written with sendto, sendmsg or sendmmsg depending on the address and ancillary data (glibc send() is sendto; the DNS resolver uses sendmmsg)',
  ),
  sym(
    'recv',
    ['recvfrom', 'recvmsg', 'recv'],
    'sockets are read with recvfrom or recvmsg depending on the address and ancillary data (glibc recv() is recvfrom)',
  ),
  sym(
    'unlink',
    ['unlink', 'unlinkat', 'rmdir'],
    'files and directories are removed by path or relative to a directory (rm -r and tar use unlinkat, others unlink and rmdir)',
  ),
  sym(
    'rename',
    ['rename', 'renameat', 'renameat2'],
    'glibc rename is renameat or renameat2 depending on the ABI; mv and git use renameat2 for RENAME_NOREPLACE',
  ),
  sym(
    'chmod',
    ['chmod', 'fchmod', 'fchmodat'],
    'modes are set by path, by descriptor or relative to a directory depending on whether the file is open (fchmodat2 is not added: glibc probes it)',
  ),
  sym(
    'truncate',
    ['truncate', 'ftruncate', 'truncate64', 'ftruncate64'],
    'files are truncated by path or descriptor depending on whether they are open',
  ),
  {
    id: 'sync',
    when: ['fsync', 'fdatasync', 'rename', 'renameat', 'renameat2'],
    add: ['fsync', 'fdatasync'],
    why: 'programs that replace files by writing a temporary one and renaming it over (git refs and index, package managers, editors) flush it first with fsync or fdatasync when configured or on some paths (git gc, core.fsync), and databases pick one by configuration (sqlite PRAGMA synchronous, PostgreSQL wal_sync_method)',
  },
  {
    id: 'contention',
    when: ['futex', 'futex_time64', 'futex_waitv'],
    add: ['sched_yield', 'futex', 'futex_time64'],
    why: "threads that meet a held lock spin, then yield or sleep on the futex (glibc's and V8's spin locks, libuv's and Node.js's worker threads, the Go and Java runtimes): whether a run shows sched_yield depends on which thread held the lock at that moment (npm test recorded once allowed it in 2 runs of 6)",
    timing: true,
  },
  {
    id: 'clock',
    timing: true,
    when: [],
    add: ['clock_gettime', 'clock_gettime64', 'gettimeofday'],
    why: 'the vDSO answers these without a syscall on most machines, so traces rarely show them; where it cannot read the clock source (some VMs: hpet, xen; qemu-user) every call is a real syscall',
  },
];

/** The timing-dependent family a call belongs to (a recording may or may not show it), if any. */
export function timingFamily(name: string): CallFamily | undefined {
  return CALL_FAMILIES.find((f) => f.timing && f.add.includes(name));
}

export interface FamilyAddition {
  name: string;
  family: string;
  /** Allowed only when `(arg[index] & mask) == 0` (a restricted member). */
  unless?: { index: number; mask: bigint };
  /** The recorded call that brought it (the first trigger, by name), or "always". */
  trigger: string;
  why: string;
}

/**
 * What the families add to `recorded` (per ABI: the names recorded there), given `exists` (is this
 * name a syscall on that ABI). Deterministic: families in table order, names sorted.
 */
export function familyAdditions(
  recorded: ReadonlyMap<string, ReadonlySet<string>>,
  exists: (abi: string, name: string) => boolean,
  skip: ReadonlySet<string> = new Set(),
  /** Also the families with no trigger (false when extending a profile: its generation decided). */
  always = true,
): FamilyAddition[] {
  const out = new Map<string, FamilyAddition>();
  const all = new Set<string>();
  for (const names of recorded.values()) for (const n of names) all.add(n);
  for (const f of CALL_FAMILIES)
    for (const [abi, names] of [...recorded].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (names.size === 0) continue;
      if (f.when.length === 0 && !always) continue;
      const trigger = f.when.length === 0 ? 'always' : [...f.when].sort().find((n) => names.has(n));
      if (!trigger) continue;
      for (const name of f.add)
        if (!all.has(name) && !skip.has(name) && !out.has(name) && exists(abi, name))
          out.set(name, { name, family: f.id, trigger, why: f.why });
      if (!abi.startsWith('s390'))
        for (const r of f.restricted ?? [])
          if (!all.has(r.name) && !skip.has(r.name) && !out.has(r.name) && exists(abi, r.name))
            out.set(r.name, {
              name: r.name,
              family: f.id,
              trigger,
              why: `${f.why} (${r.why})`,
              unless: { index: r.index, mask: r.mask },
            });
    }
  return [...out.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
