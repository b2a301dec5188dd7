/**
 * The arguments of each system call, from the kernel's own prototypes
 * (`data/syscall-prototypes/prototypes.tsv`, extracted from include/linux/syscalls.h by
 * scripts/gen-syscall-prototypes.mjs). One fact serves two readers:
 *
 * - which arguments are pointers (`__user *`): a filter sees only the address, never the data, and
 *   the process can change the data after the check, so lint flags a condition on them;
 * - where the value arguments sysfence records with `--args` sit (`ARG_SPECS` names them by the
 *   kernel's parameter names; the indexes come from the prototype).
 *
 * Positions are those of 64-bit ABIs; on 32-bit ABIs a 64-bit argument (fanotify_mark's mask)
 * takes two registers and shifts what follows. clone's order is per architecture (CLONE_BACKWARDS*),
 * said where it matters (`argIndexes`).
 */
import type { ArchDef } from '../arch/types.js';
import { readTsv } from './data-files.js';

export interface SyscallArg {
  readonly index: number;
  /** The declared type, e.g. `const char __user *`. */
  readonly type: string;
  /** The parameter name in the prototype ('' where the kernel declares none). */
  readonly name: string;
  /** An address the process passes: the filter sees the number, not what it points to. */
  readonly pointer: boolean;
}

/**
 * Syscall-table names whose kernel entry point has another name (`stat` is sys_newstat), and the
 * 32-bit ABIs' variants that take the same arguments as the base call (`chown32`, `*_time64`).
 */
const ENTRY_POINTS: Readonly<Record<string, string>> = {
  stat: 'newstat',
  lstat: 'newlstat',
  fstat: 'newfstat',
  uname: 'newuname',
  olduname: 'uname',
  oldolduname: 'olduname',
  oldstat: 'stat',
  oldlstat: 'lstat',
  oldfstat: 'fstat',
  readdir: 'old_readdir',
  _llseek: 'llseek',
  _newselect: 'select',
  mmap2: 'mmap_pgoff',
  umount2: 'umount',
  ugetrlimit: 'getrlimit',
};

/**
 * Calls defined only in architecture sources, so absent from the generic header: their
 * prototypes as x86_64 (arch/x86/kernel/sys_x86_64.c, process_64.c, signal.c) and arm64 declare them.
 */
const ARCH_ONLY: Readonly<Record<string, string>> = {
  mmap: 'unsigned long addr; unsigned long len; unsigned long prot; unsigned long flags; unsigned long fd; unsigned long off',
  arch_prctl: 'int option; unsigned long arg2',
  rt_sigreturn: '',
  sigreturn: '',
  iopl: 'unsigned int level',
  modify_ldt: 'int func; void __user *ptr; unsigned long bytecount',
  set_thread_area: 'struct user_desc __user *u_info',
  get_thread_area: 'struct user_desc __user *u_info',
};

/**
 * Arguments the prototype declares as numbers that carry an address for the requests that
 * matter, so a condition on them checks an address too.
 */
const ADDRESS_VALUES: Readonly<Record<string, readonly number[]>> = {
  ioctl: [2], // `unsigned long arg`: a pointer to the request's struct for most requests
  ptrace: [2, 3], // addr and data: addresses in the tracee or the tracer for most requests
  arch_prctl: [1], // ARCH_GET_FS/GS write through it
};

function parse(list: string): SyscallArg[] {
  if (list.trim() === '') return [];
  return list.split('; ').map((p, index) => {
    const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)?$/.exec(p.trim());
    // a parameter without a name is all type (`int __user *`): a trailing word after `*` is a name
    const named = m?.[2] !== undefined && /[\s*]$/.test(m[1] ?? '');
    const type = (named ? (m?.[1] ?? '') : p).trim();
    return { index, type, name: named ? (m?.[2] ?? '') : '', pointer: type.includes('*') };
  });
}

let table: Map<string, SyscallArg[]> | undefined;
function prototypes(): Map<string, SyscallArg[]> {
  if (!table) {
    table = new Map();
    for (const [name, list] of readTsv('syscall-prototypes/prototypes.tsv'))
      if (name) table.set(name, parse(list ?? ''));
    for (const [name, list] of Object.entries(ARCH_ONLY)) table.set(name, parse(list));
  }
  return table;
}

/** The kernel's entry-point name for a syscall-table name. */
function entryPoint(name: string): string {
  return (
    ENTRY_POINTS[name] ??
    (prototypes().has(name)
      ? name
      : name
          .replace(/_time64$/, '')
          .replace(/time64$/, 'time')
          .replace(/32$/, ''))
  );
}

/** The arguments of `name` (a syscall-table name), or undefined when no prototype is known. */
export function syscallArgs(name: string): readonly SyscallArg[] | undefined {
  const args = prototypes().get(entryPoint(name));
  if (!args) return undefined;
  const extra = ADDRESS_VALUES[name];
  return extra ? args.map((a) => (extra.includes(a.index) ? { ...a, pointer: true } : a)) : args;
}

/** Indexes of the arguments of `name` that are addresses (empty when none or unknown). */
export function pointerArgs(name: string): readonly number[] {
  return (syscallArgs(name) ?? []).filter((a) => a.pointer).map((a) => a.index);
}

/**
 * The value arguments worth recording with `--args`, by the kernel's parameter names (indexes come
 * from the prototype; a name the prototype lacks is a test failure, never a silent skip). Plain
 * numbers only: families, flags, options, request codes, signals.
 */
export const ARG_SPECS: Readonly<Record<string, readonly (string | number)[]>> = {
  socket: [0, 1, 2], // family, type (with SOCK_NONBLOCK/CLOEXEC), protocol: unnamed in the header
  socketpair: [0, 1],
  clone: [0], // flags (on s390 the first two are swapped: argIndexes)
  unshare: ['unshare_flags'],
  setns: ['nstype'],
  personality: ['personality'],
  prctl: ['option'],
  arch_prctl: ['option'],
  ioctl: ['cmd'],
  fcntl: ['cmd'],
  fcntl64: ['cmd'],
  mmap: ['prot'],
  mmap2: ['prot'],
  mprotect: ['prot'],
  pkey_mprotect: ['prot'],
  madvise: ['behavior'],
  setsockopt: ['level', 'optname'],
  getsockopt: ['level', 'optname'],
  kill: ['sig'],
  tgkill: ['sig'],
};

/** Index of a named (or numbered) parameter of `name`; throws on a name the prototype lacks. */
function indexOf(name: string, p: string | number): number {
  if (typeof p === 'number') return p;
  const a = syscallArgs(name)?.find((x) => x.name === p);
  if (!a) throw new Error(`${name} has no parameter "${p}" in the kernel's prototype`);
  return a.index;
}

/** Argument indexes worth recording for `name` on `arch` (empty when none). */
export function argIndexes(arch: ArchDef, name: string): readonly number[] {
  // s390's clone takes (newsp, flags, ...) (CONFIG_CLONE_BACKWARDS2)
  if (name === 'clone' && (arch.id === 's390' || arch.id === 's390x')) return [1];
  const spec = ARG_SPECS[name];
  return spec ? spec.map((p) => indexOf(name, p)) : [];
}

export const ARG_SPEC_NAMES: readonly string[] = Object.keys(ARG_SPECS).sort();
