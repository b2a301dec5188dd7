/**
 * What a syscall is about, for summaries people read (`explain`, the report): one category per
 * name. Risky calls (data/syscall-risks.tsv) are "privileged" whatever else they do, except the
 * everyday ones every process makes (clone, personality). Checked in order; the first match wins.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { riskyNames } from './syscall-info.js';

export const CATEGORIES = [
  'privileged',
  'file',
  'network',
  'process',
  'memory',
  'signals',
  'time',
  'ipc',
  'events',
  'system',
  'other',
] as const;
export type Category = (typeof CATEGORIES)[number];

const EVERYDAY_RISKY = new Set(['clone', 'clone3', 'personality', 'get_mempolicy', 'ustat']);

const RULES: [Category, RegExp][] = [
  [
    'network',
    /^(socket|socketpair|socketcall|bind|listen|accept4?|connect|getsockname|getpeername|sendto|recvfrom|sendm?msg|recvm?msg|send|recv|setsockopt|getsockopt|shutdown)$/,
  ],
  [
    'signals',
    /^(rt_)?sig(action|procmask|pending|suspend|timedwait|timedwait_time64|queueinfo|return|altstack|nal|nalfd4?)$|^(rt_tg)?sigqueueinfo$|^(t|tg)?kill$|^pause$|^restart_syscall$|^signalfd4?$|^sgetmask$|^ssetmask$|^pidfd_send_signal$/,
  ],
  [
    'time',
    /^(clock_|timer_|timerfd_)|^(nanosleep|gettimeofday|time|times|alarm|setitimer|getitimer|adjtimex|utimensat_time64|stime)$/,
  ],
  [
    'ipc',
    /^(pipe2?|eventfd2?|futex|futex_\w+|shm\w+|sem\w+|msg\w+|mq_\w+|ipc|process_vm_\w+|pidfd_getfd|memfd_create)$/,
  ],
  [
    'events',
    /^(epoll_\w+|poll|ppoll|ppoll_time64|select|_newselect|pselect6|pselect6_time64|io_(setup|destroy|submit|cancel|getevents|pgetevents)\w*|inotify_\w+|fanotify_\w+)$/,
  ],
  [
    'memory',
    /^(mmap2?|munmap|mremap|mprotect|pkey_\w+|madvise|process_madvise|m(un)?lock\w*|mincore|msync|brk|membarrier|memfd_secret|remap_file_pages|mseal|map_shadow_stack|cachestat|process_mrelease|set_mempolicy\w*|get_mempolicy|mbind|migrate_pages|move_pages|cacheflush|subpage_prot|userfaultfd|swapcontext)$/,
  ],
  [
    'process',
    /^(fork|vfork|clone3?|execve(at)?|exit(_group)?|wait4|waitid|waitpid|get(p|pp|t)id|set_tid_address|get(e)?[ug]id(32)?|get(res)?[ug]id(32)?|set(e|re|res|fs)?[ug]id(32)?|getgroups(32)?|setgroups(32)?|prctl|arch_prctl|personality|prlimit64|[gs]etrlimit|ugetrlimit|getrusage|sched_\w+|[gs]etpriority|nice|[gs]et_robust_list|rseq|capget|capset|setsid|getsid|setpgid|getpgid|getpgrp|pidfd_open|ioprio_[gs]et|seccomp|[gs]et_thread_area|set_tls|get_tls|kcmp|landlock_\w+|vm86(old)?|modify_ldt|uselib|lsm_\w+|listns|rseq_slice_yield)$/,
  ],
  [
    'system',
    /^(uname|olduname|oldolduname|newuname|sysinfo|getrandom|getcpu|sysfs|_sysctl|syslog|sync|ustat|riscv_\w+|s390_\w+|spu_\w+|sys_debug_setcontext|cachectl|sysmips|breakpoint|usr26|usr32|set_mempolicy_home_node)$/,
  ],
  [
    'file',
    /^(open|openat2?|creat|close(_range)?|read|write|p(read|write)(64|v|v2)?|readv|writev|lseek|_llseek|llseek|(new)?f?stat(at)?(64)?|lstat(64)?|statx|f?statfs(64)?|(f)?access(at2?)?|f?chmod(at2?)?|[lf]?chown(at)?(32)?|link(at)?|unlink(at)?|symlink(at)?|readlink(at)?|rename(at2?)?|mkdir(at)?|rmdir|mknod(at)?|f?truncate(64)?|f?sync|fdatasync|syncfs|sync_file_range2?|arm_sync_file_range|fallocate|fadvise64(_64)?|arm_fadvise64_64|readahead|getdents(64)?|readdir|getcwd|f?chdir|dup[23]?|fcntl(64)?|flock|ioctl|sendfile(64)?|splice|tee|vmsplice|copy_file_range|utimes?|utimensat|futimesat|umask|[lf]?(get|set|list|remove)xattr(at)?|name_to_handle_at|open_by_handle_at|quotactl(_fd)?|file_[gs]etattr|statmount|listmount|open_tree\w*|fsopen|fsconfig|fsmount|fspick|move_mount|mount\w*|umount2?|pivot_root|chroot|oldstat|oldfstat|oldlstat|ftime|stty|gtty|lock|mpx|prof|profil|break)$/,
  ],
];

let risky: Set<string> | undefined;

export function categoryOf(name: string): Category {
  risky ??= new Set(riskyNames());
  if (risky.has(name) && !EVERYDAY_RISKY.has(name)) return 'privileged';
  for (const [c, re] of RULES) if (re.test(name)) return c;
  return 'other';
}

const byAbi = new Map<string, Map<Category, string[]>>();

/** The ABI's syscalls (one name per number) per category, categories in CATEGORIES order. */
export function namesByCategory(abi: ArchDef): Map<Category, string[]> {
  let m = byAbi.get(abi.id);
  if (!m) {
    const t = syscallTable(abi);
    m = new Map(CATEGORIES.map((c) => [c, [] as string[]]));
    for (const [name, nr] of t.entries) if (t.name(nr) === name) m.get(categoryOf(name))!.push(name);
    byAbi.set(abi.id, m);
  }
  return m;
}
