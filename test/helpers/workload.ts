// The completeness workload (test/fixtures/record): the syscalls it makes, per ABI. Shared by the
// live recording suite and the import tests on logs captured from the same workload.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'record');

/** The calls the workload makes itself: every `syscall(SYS_x` in its source. */
export function direct(file: string): string[] {
  const src = readFileSync(join(fixtures, file), 'utf8');
  return [...new Set([...src.matchAll(/syscall\(SYS_([a-z0-9_]+)/g)].map((m) => m[1]!))].sort();
}

// What static glibc 2.36 adds on its own. x86_64: start-up (arch_prctl, brk, set_tid_address,
// set_robust_list, rseq, prlimit64), pthread_create (clone3, rt_sigprocmask, and mmap/mprotect
// which the workload makes anyway), fork (clone), sigaction (rt_sigaction), return from the
// handler (rt_sigreturn) and the thread's end (exit). i386: start-up (set_thread_area, brk,
// set_tid_address, set_robust_list, rseq, ugetrlimit, readlink of /proc/self/exe, getrandom,
// mprotect) and exit_group.
export const RUNTIME_64 = [
  'arch_prctl',
  'brk',
  'clone',
  'clone3',
  'exit',
  'prlimit64',
  'rseq',
  'rt_sigaction',
  'rt_sigprocmask',
  'rt_sigreturn',
  'set_robust_list',
  'set_tid_address',
];
export const RUNTIME_32 = [
  'brk',
  'exit_group',
  'getrandom',
  'mprotect',
  'readlink',
  'rseq',
  'set_robust_list',
  'set_thread_area',
  'set_tid_address',
  'ugetrlimit',
];

export const EXPECTED_64 = [...new Set([...direct('workload.c'), ...RUNTIME_64])].sort();
export const EXPECTED_32 = [...new Set([...direct('workload32.c'), ...RUNTIME_32])].sort();
