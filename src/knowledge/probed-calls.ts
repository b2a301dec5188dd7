/**
 * Calls that libraries try first and fall back from only when the kernel says ENOSYS ("this
 * kernel does not have it"); any other error is taken as the call's real answer and fails the
 * operation. A profile that does not allow them must deny them with ENOSYS, and it must say so
 * with an explicit rule, not through `defaultErrnoRet`: Docker 20.10 (Debian 12's docker.io)
 * ignores defaultErrnoRet and denies with EPERM, SeccompProfile v1 has no such field, and a
 * `--default-action kill` run would kill the probe. Measured here: redis-server 7.0 under a
 * generated profile on Docker 20.10 exits with "Can't initialize Background Jobs" because clone3
 * got EPERM; with the explicit rule glibc falls back to clone and it serves.
 *
 * A call is listed when a widely used library or runtime is known to probe it this way; calls
 * whose users take EPERM as "unsupported" too (copy_file_range in coreutils and Go, io_uring in
 * libuv) are not listed.
 */
export const ENOSYS_PROBED: readonly { name: string; who: string }[] = [
  { name: 'clone3', who: 'glibc >= 2.34 pthread_create, fork and posix_spawn fall back to clone' },
  { name: 'close_range', who: 'glibc closefrom, posix_spawn and systemd fall back to close loops' },
  { name: 'execveat', who: 'glibc fexecve falls back to execve of /proc/self/fd' },
  { name: 'faccessat2', who: 'glibc >= 2.33 faccessat falls back to faccessat' },
  { name: 'fchmodat2', who: 'glibc >= 2.39 fchmodat(AT_SYMLINK_NOFOLLOW) falls back to O_PATH' },
  { name: 'fsopen', who: 'util-linux mount >= 2.39 falls back to mount(2)' },
  { name: 'getrandom', who: 'OpenSSL and older glibc fall back to /dev/urandom' },
  { name: 'landlock_create_ruleset', who: 'Landlock users run without the sandbox on ENOSYS' },
  { name: 'membarrier', who: 'liburcu and the .NET runtime fall back to signals' },
  { name: 'memfd_create', who: 'systemd, Mesa and Go fall back to temporary files' },
  { name: 'mount_setattr', who: 'util-linux mount >= 2.39, runc and crun fall back to remounts' },
  { name: 'open_tree', who: 'util-linux mount >= 2.39 falls back to mount(2)' },
  { name: 'openat2', who: 'runc, crun and systemd fall back to openat' },
  { name: 'pidfd_getfd', who: 'systemd and Go fall back to SCM_RIGHTS or none' },
  { name: 'pidfd_open', who: 'Go >= 1.23 os/exec, systemd and Python fall back to pid-based waits' },
  { name: 'pidfd_send_signal', who: 'Go >= 1.23 os.Process and systemd fall back to kill' },
  { name: 'preadv2', who: 'glibc preadv2 with no flags falls back to preadv' },
  { name: 'pwritev2', who: 'glibc pwritev2 with no flags falls back to pwritev' },
  { name: 'statx', who: 'glibc (32-bit ABIs), Rust std and coreutils fall back to fstatat' },
];
