// Seeded random profiles for differential tests: all operators, repeated argument indices, several
// architectures (little-endian ones: libseccomp refuses to mix byte orders with the x86_64 host),
// every action. Per syscall, conditional rules share one action (libseccomp refuses
// or reorders overlapping conditional rules with different actions; see docs/semantics.md).
import { IPC, SOCKETCALL } from '../../src/arch/multiplexers.js';
import {
  type ActionName,
  ACTIONS as ALL_ACTIONS,
  type ArgCondition,
  OPERATORS,
  type Operator,
  type Profile,
  type SyscallRule,
} from '../../src/profile/model.js';

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ARCH_SETS = [
  ['SCMP_ARCH_X86_64'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_MIPSEL'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_MIPSEL64N32'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_MIPSEL64'],
];
const ACTIONS: readonly ActionName[] = ALL_ACTIONS;
const DEFAULTS: ActionName[] = [
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_LOG',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
];
const OPS: readonly Operator[] = OPERATORS;
// names present on most ABIs, plus multiplexed socket/ipc calls and x86-only ones
const NAMES = [
  'read',
  'write',
  'openat',
  'close',
  'mmap',
  'mprotect',
  'ioctl',
  'fcntl',
  'socket',
  'connect',
  'bind',
  'sendto',
  'recvfrom',
  'accept4',
  'semop',
  'shmget',
  'msgsnd',
  'clone',
  'personality',
  'prctl',
  'getpid',
  'kill',
  'futex',
  'epoll_wait',
  'arch_prctl',
  'socketcall',
  'ipc',
  'lseek',
  'madvise',
  'setsockopt',
  'getsockopt',
  'send',
  'recv',
  'unshare',
  'mount',
  'ptrace',
  'exit_group',
  'clock_gettime',
  'pipe2',
  'dup3',
];

const MULTIPLEXED = new Set([...Object.keys(SOCKETCALL.calls), ...Object.keys(IPC.calls)]);

export function randomProfile(seed: number): Profile {
  const r = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const value = (): bigint => {
    switch (Math.floor(r() * 7)) {
      case 0:
        return BigInt(Math.floor(r() * 16));
      case 1:
        return BigInt(Math.floor(r() * 0x100000000));
      case 2:
        return 0xffffffffn - BigInt(Math.floor(r() * 3));
      case 3:
        return 0x100000000n + BigInt(Math.floor(r() * 3));
      case 4:
        return (1n << 64n) - 1n - BigInt(Math.floor(r() * 3));
      case 5:
        return (BigInt(Math.floor(r() * 0x100000000)) << 32n) | BigInt(Math.floor(r() * 0x100000000));
      default:
        return BigInt(1 << Math.floor(r() * 31));
    }
  };
  const defaultAction = pick(DEFAULTS);
  const profile: Profile = { defaultAction, architectures: [...pick(ARCH_SETS)], syscalls: [] };
  if (defaultAction === 'SCMP_ACT_ERRNO') profile.defaultErrnoRet = pick([1, 38, 13]);
  const used = new Set<string>();
  const count = 3 + Math.floor(r() * 18);
  for (let n = 0; n < count; n++) {
    const name = pick(NAMES);
    if (used.has(name)) continue;
    used.add(name);
    let action = pick(ACTIONS);
    while (action === defaultAction) action = pick(ACTIONS);
    const withErrno = (rule: SyscallRule): SyscallRule => {
      if ((rule.action === 'SCMP_ACT_ERRNO' || rule.action === 'SCMP_ACT_TRACE') && r() < 0.7)
        rule.errnoRet = Math.floor(r() * 200);
      return rule;
    };
    const kind = r();
    // socketcall/ipc carry the multiplexed calls' rules as conditional ones: their own rules stay
    // unconditional here (overlapping conditional rules with different actions are outside the
    // semantics libseccomp and sysfence share; validate warns about them)
    if (kind < 0.35 || name === 'socketcall' || name === 'ipc') {
      profile.syscalls!.push(withErrno({ names: [name], action }));
      continue;
    }
    const rules = 1 + Math.floor(r() * 3);
    const errno =
      action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE' ? Math.floor(r() * 200) : undefined;
    for (let k = 0; k < rules; k++) {
      const args: ArgCondition[] = [];
      const nconds = 1 + Math.floor(r() * 3);
      for (let c = 0; c < nconds; c++) {
        const op = pick(OPS);
        const index = r() < 0.3 && args.length > 0 ? args[0]!.index : Math.floor(r() * 6);
        const a: ArgCondition = { index, value: value(), op };
        if (op === 'SCMP_CMP_MASKED_EQ') a.valueTwo = r() < 0.8 ? a.value & value() : value();
        args.push(a);
      }
      const rule: SyscallRule = { names: [name], action, args };
      if (errno !== undefined) rule.errnoRet = errno;
      profile.syscalls!.push(rule);
    }
    // sometimes an unconditional rule for the same syscall too (it must win), except for calls that
    // socketcall/ipc multiplex: there libseccomp turns it into a conditional rule and refuses the
    // conflict (EEXIST; validate reports multiplexed-conflict)
    if (kind > 0.9 && !MULTIPLEXED.has(name)) {
      let other = pick(ACTIONS);
      while (other === defaultAction) other = pick(ACTIONS);
      profile.syscalls!.push(withErrno({ names: [name], action: other }));
    }
  }
  return profile;
}

const OVERLAP_ARCHES = [
  ['SCMP_ARCH_X86_64'],
  ['SCMP_ARCH_X86_64'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_MIPSEL'],
  ['SCMP_ARCH_X86_64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_MIPSEL64N32'],
];
const OVERLAP_NAMES = [
  'getpid',
  'read',
  'write',
  'ioctl',
  'socket',
  'recv',
  'send',
  'semop',
  'clone',
  'prctl',
  'mmap',
  'open',
  'personality',
  'fcntl',
  'kill',
];
const OVERLAP_ACTIONS: ActionName[] = [
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_LOG',
  'SCMP_ACT_TRACE',
];
const BOUNDARY: bigint[] = [
  0n,
  1n,
  2n,
  3n,
  5n,
  8n,
  0xffffffffn,
  0x100000000n,
  0x100000001n,
  0x1ffffffffn,
  0x200000003n,
  (1n << 64n) - 1n,
];

/**
 * Seeded profiles made to hit where libseccomp and a profile's intent part: several rules per
 * syscall with different actions whose conditions overlap (the same argument, or several), ORed
 * 64-bit ranges on one argument, values on both sides of 2^32, identical conditions with different
 * actions (libseccomp refuses those), and rule sets that share a comparison's upper word.
 */
export function overlapProfile(seed: number): Profile {
  const r = mulberry32(seed * 7919 + 17);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const value = (): bigint =>
    r() < 0.65
      ? pick(BOUNDARY)
      : (BigInt(Math.floor(r() * 0x100000000)) << BigInt(r() < 0.5 ? 32 : 0)) | BigInt(Math.floor(r() * 16));
  const defaultAction = pick<ActionName>(['SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW', 'SCMP_ACT_KILL_PROCESS']);
  const profile: Profile = { defaultAction, architectures: [...pick(OVERLAP_ARCHES)], syscalls: [] };
  if (defaultAction === 'SCMP_ACT_ERRNO') profile.defaultErrnoRet = pick([1, 38]);
  const syscalls = 1 + Math.floor(r() * 4);
  for (let s = 0; s < syscalls; s++) {
    const name = pick(OVERLAP_NAMES);
    const rules = 1 + Math.floor(r() * 4);
    // a shared argument set makes overlaps likely
    const indices = [Math.floor(r() * 3), Math.floor(r() * 3)];
    let previous: ArgCondition[] | undefined;
    for (let k = 0; k < rules; k++) {
      let action = pick(OVERLAP_ACTIONS);
      while (action === defaultAction) action = pick(OVERLAP_ACTIONS);
      const rule: SyscallRule = { names: [name], action };
      if (action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE') rule.errnoRet = pick([5, 9, 13]);
      const shape = r();
      if (shape < 0.08) {
        profile.syscalls!.push(rule);
        continue;
      }
      let args: ArgCondition[];
      if (previous && shape < 0.18) {
        // the previous rule's conditions again (libseccomp refuses them with another action)
        args = previous.map((c) => ({ ...c }));
      } else if (previous && shape < 0.3) {
        // a prefix of the previous rule (shares comparisons, and upper words)
        args = previous.slice(0, Math.max(1, previous.length - 1)).map((c) => ({ ...c, value: c.value }));
      } else {
        const n = 1 + Math.floor(r() * 3);
        args = [];
        for (let c = 0; c < n; c++) {
          const op = pick(OPERATORS);
          const index = r() < 0.75 ? pick(indices) : Math.floor(r() * 6);
          if (args.some((a) => a.index === index) && r() < 0.7) continue;
          const a: ArgCondition = { index, value: value(), op };
          if (op === 'SCMP_CMP_MASKED_EQ') a.valueTwo = r() < 0.7 ? a.value & value() : value();
          args.push(a);
        }
        if (args.length === 0) args.push({ index: indices[0]!, value: value(), op: 'SCMP_CMP_EQ' });
      }
      rule.args = args;
      previous = args;
      profile.syscalls!.push(rule);
    }
  }
  return profile;
}

const EDGE_VALUES: bigint[] = [
  0n,
  1n,
  0xffffffffn,
  0x100000000n,
  (1n << 64n) - 1n,
  (1n << 63n) - 1n,
  1n << 63n,
  0x80000000n,
];

/**
 * Seeded profiles at the edges libseccomp's code generation has: conditions no value meets (GT
 * 2^64-1, LT 0, a MASKED_EQ wanting bits outside its mask), conditions every value meets (GE 0, LE
 * 2^64-1, MASKED_EQ with mask 0), next to EQ/NE pairs on other arguments, with KILL_THREAD,
 * KILL_PROCESS, TRAP and ERRNO mixed on one syscall.
 */
export function edgeProfile(seed: number): Profile {
  const r = mulberry32(seed * 104729 + 3);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const defaultAction = pick<ActionName>(['SCMP_ACT_ERRNO', 'SCMP_ACT_ALLOW', 'SCMP_ACT_KILL_THREAD']);
  const profile: Profile = {
    defaultAction,
    architectures: [...pick([['SCMP_ARCH_X86_64'], ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']])],
    syscalls: [],
  };
  if (defaultAction === 'SCMP_ACT_ERRNO') profile.defaultErrnoRet = 38;
  const edge = (): ArgCondition => {
    const index = Math.floor(r() * 4);
    switch (Math.floor(r() * 7)) {
      case 0:
        return { index, op: 'SCMP_CMP_GT', value: (1n << 64n) - 1n }; // never
      case 1:
        return { index, op: 'SCMP_CMP_LT', value: 0n }; // never
      case 2:
        return { index, op: 'SCMP_CMP_GE', value: 0n }; // always
      case 3:
        return { index, op: 'SCMP_CMP_LE', value: (1n << 64n) - 1n }; // always
      case 4:
        return { index, op: 'SCMP_CMP_MASKED_EQ', value: 0n, valueTwo: 0n }; // always
      case 5:
        return { index, op: 'SCMP_CMP_MASKED_EQ', value: 0xffn, valueTwo: 0x100n }; // never
      default:
        return { index, op: pick(['SCMP_CMP_EQ', 'SCMP_CMP_NE'] as const), value: pick(EDGE_VALUES) };
    }
  };
  const actions: ActionName[] = [
    'SCMP_ACT_KILL_THREAD',
    'SCMP_ACT_KILL_PROCESS',
    'SCMP_ACT_TRAP',
    'SCMP_ACT_ERRNO',
    'SCMP_ACT_ALLOW',
    'SCMP_ACT_LOG',
  ];
  const syscalls = 1 + Math.floor(r() * 3);
  for (let s = 0; s < syscalls; s++) {
    const name = pick(['read', 'write', 'ioctl', 'mmap', 'prctl', 'fcntl', 'kill']);
    const rules = 1 + Math.floor(r() * 4);
    for (let k = 0; k < rules; k++) {
      let action = pick(actions);
      while (action === defaultAction) action = pick(actions);
      const args: ArgCondition[] = [];
      const n = 1 + Math.floor(r() * 3);
      for (let c = 0; c < n; c++) {
        const a = edge();
        if (!args.some((x) => x.index === a.index)) args.push(a);
      }
      const rule: SyscallRule = { names: [name], action, args };
      if (action === 'SCMP_ACT_ERRNO') rule.errnoRet = pick([1, 5, 38]);
      profile.syscalls!.push(rule);
    }
  }
  return profile;
}
