// evaluate(): the reference semantics, row by row, each with the reason it must hold.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/profile/evaluate.js';
import type { Profile, SyscallRule } from '../../src/profile/model.js';

const P = (syscalls: SyscallRule[], extra: Partial<Profile> = {}): Profile => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  syscalls,
  ...extra,
});
const EQ = (index: number, value: bigint) => ({ index, value, op: 'SCMP_CMP_EQ' as const });
const U64 = (1n << 64n) - 1n;
const X32 = 0x40000000;

type Row = [reason: string, profile: Profile, arch: string, nr: number, args: bigint[], expected: string];

const personality = P([
  { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [EQ(0, 8n)] },
  { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [EQ(0, 0xffffffffn)] },
]);
const andRule = P([{ names: ['mmap'], action: 'SCMP_ACT_ALLOW', args: [EQ(2, 3n), EQ(3, 0x22n)] }]);
const repeated = P([
  {
    names: ['socket'],
    action: 'SCMP_ACT_ALLOW',
    args: [
      { index: 0, value: 1n, op: 'SCMP_CMP_NE' },
      { index: 0, value: 2n, op: 'SCMP_CMP_NE' },
    ],
  },
]);
const uncondWins = P([
  { names: ['ioctl'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [EQ(1, 0x5401n)] },
  { names: ['ioctl'], action: 'SCMP_ACT_ALLOW' },
  { names: ['ioctl'], action: 'SCMP_ACT_LOG' },
]);
const firstUncond = P([
  { names: ['read'], action: 'SCMP_ACT_LOG' },
  { names: ['read'], action: 'SCMP_ACT_ALLOW' },
]);
const eqDefault = P([
  { names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
  { names: ['read'], action: 'SCMP_ACT_ALLOW' },
]);
const masked = P([
  {
    names: ['clone'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 0, value: 0x7e020000n, valueTwo: 0n, op: 'SCMP_CMP_MASKED_EQ' }],
  },
]);
const wide = P([
  {
    names: ['lseek'],
    action: 'SCMP_ACT_ALLOW',
    args: [{ index: 1, value: 0x1_0000_0005n, op: 'SCMP_CMP_EQ' }],
  },
]);
const gt = P([
  { names: ['lseek'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 0xffffffffn, op: 'SCMP_CMP_GT' }] },
]);
const sock = P([
  { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 38n, op: 'SCMP_CMP_LT' }] },
]);
const actions = P([
  { names: ['read'], action: 'SCMP_ACT_KILL' },
  { names: ['write'], action: 'SCMP_ACT_KILL_PROCESS' },
  { names: ['open'], action: 'SCMP_ACT_TRAP' },
  { names: ['close'], action: 'SCMP_ACT_TRACE' },
  { names: ['stat'], action: 'SCMP_ACT_TRACE', errnoRet: 7 },
  { names: ['fstat'], action: 'SCMP_ACT_LOG' },
  { names: ['lstat'], action: 'SCMP_ACT_NOTIFY' },
  { names: ['poll'], action: 'SCMP_ACT_ERRNO' },
  { names: ['lseek'], action: 'SCMP_ACT_ERRNO', errnoRet: 0 },
]);
const noArches: Profile = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO' }],
};
const x86only = P([{ names: ['read'], action: 'SCMP_ACT_ALLOW' }], { architectures: ['SCMP_ARCH_X86_64'] });
const i386only = P([{ names: ['read'], action: 'SCMP_ACT_ALLOW' }], { architectures: ['SCMP_ARCH_X86'] });
const x32only: Profile = { defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X32'], syscalls: [] };

const rows: Row[] = [
  ['a conditional rule matches its value', personality, 'x86_64', 135, [8n], 'ALLOW'],
  ['ORed rules for one syscall: the second rule matches', personality, 'x86_64', 135, [0xffffffffn], 'ALLOW'],
  ['no rule matches: the default with its errno', personality, 'x86_64', 135, [9n], 'ERRNO(38)'],
  [
    '64-bit ABI compares all 64 bits: 0x1_0000_0008 is not 8',
    personality,
    'x86_64',
    135,
    [0x1_0000_0008n],
    'ERRNO(38)',
  ],
  [
    '32-bit ABI compares the low word only: 0x1_0000_0008 is 8 on x86',
    personality,
    'x86',
    136,
    [0x1_0000_0008n],
    'ALLOW',
  ],
  [
    'x32 compares the low word only, like libseccomp',
    personality,
    'x32',
    X32 + 135,
    [0x1_0000_0008n],
    'ALLOW',
  ],
  ['conditions in one rule are ANDed: both hold', andRule, 'x86_64', 9, [0n, 0n, 3n, 0x22n], 'ALLOW'],
  ['conditions in one rule are ANDed: one fails', andRule, 'x86_64', 9, [0n, 0n, 3n, 0x21n], 'ERRNO(38)'],
  ['a repeated index splits the rule into ORed rules: 1 != 2 holds', repeated, 'x86_64', 41, [1n], 'ALLOW'],
  ['a repeated index splits the rule into ORed rules: 5 passes both', repeated, 'x86_64', 41, [5n], 'ALLOW'],
  ['unconditional beats conditional, whatever the order', uncondWins, 'x86_64', 16, [0n, 0x5401n], 'ALLOW'],
  ['the first unconditional rule wins over later ones', firstUncond, 'x86_64', 0, [], 'LOG'],
  ['a rule equal to the default is dropped, so the next one applies', eqDefault, 'x86_64', 0, [], 'ALLOW'],
  ['MASKED_EQ is (arg & value) == valueTwo: no namespace flags', masked, 'x86_64', 56, [0x11n], 'ALLOW'],
  ['MASKED_EQ: CLONE_NEWUSER set', masked, 'x86_64', 56, [0x10000000n], 'ERRNO(38)'],
  ['64-bit value on a 64-bit ABI matches exactly', wide, 'x86_64', 8, [0n, 0x1_0000_0005n], 'ALLOW'],
  ['64-bit value on a 32-bit ABI: only its low word (5) is compared', wide, 'x86', 19, [0n, 5n], 'ALLOW'],
  ['GT above 2^32-1 on a 64-bit ABI', gt, 'x86_64', 8, [0n, 0x1_0000_0000n], 'ALLOW'],
  ['GT at 2^64-1', gt, 'x86_64', 8, [0n, U64], 'ALLOW'],
  ['GT equal is not greater', gt, 'x86_64', 8, [0n, 0xffffffffn], 'ERRNO(38)'],
  ['x86 socket direct syscall (359) keeps its condition', sock, 'x86', 359, [40n], 'ERRNO(38)'],
  [
    'x86 socketcall(SYS_SOCKET): libseccomp replaces arg0 with the sub-call, so the family check is lost',
    sock,
    'x86',
    102,
    [1n, 40n],
    'ALLOW',
  ],
  ['x86 socketcall with another sub-call is not allowed', sock, 'x86', 102, [2n], 'ERRNO(38)'],
  ['x86_64 has no socketcall: its socket rule stays on 41', sock, 'x86_64', 41, [37n], 'ALLOW'],
  ['SCMP_ACT_KILL is KILL_THREAD', actions, 'x86_64', 0, [], 'KILL_THREAD'],
  ['KILL_PROCESS', actions, 'x86_64', 1, [], 'KILL_PROCESS'],
  ['TRAP', actions, 'x86_64', 2, [], 'TRAP'],
  ['TRACE without errnoRet carries EPERM (runc)', actions, 'x86_64', 3, [], 'TRACE(1)'],
  ['TRACE with errnoRet carries it', actions, 'x86_64', 4, [], 'TRACE(7)'],
  ['LOG', actions, 'x86_64', 5, [], 'LOG'],
  ['NOTIFY', actions, 'x86_64', 6, [], 'NOTIFY'],
  ['ERRNO without errnoRet is EPERM (runc)', actions, 'x86_64', 7, [], 'ERRNO(1)'],
  ['ERRNO(0) is kept: the call returns 0 without running', actions, 'x86_64', 8, [], 'ERRNO(0)'],
  ['a number no table knows gets the default', actions, 'x86_64', 4000, [], 'ERRNO(38)'],
  ['nr -1 gets the default', actions, 'x86_64', -1, [], 'ERRNO(38)'],
  ['no architectures: the native ABI (given) is the filter', noArches, 'x86_64', 0, [], 'ERRNO(1)'],
  ['no architectures: any other ABI is a bad architecture', noArches, 'aarch64', 63, [], 'KILL_PROCESS'],
  ['an ABI outside the list is a bad architecture', x86only, 'x86', 3, [], 'KILL_PROCESS'],
  ['x32 calls on an x86_64-only filter are a bad architecture', x86only, 'x32', X32 + 0, [], 'KILL_PROCESS'],
  [
    '-1 (a tracer skipping a call) on an x86_64-only filter is not a bad architecture',
    x86only,
    'x86_64',
    -1,
    [],
    'ERRNO(38)',
  ],
  [
    'runc always keeps the native ABI: an x86-only profile still filters x86_64 calls by its rules',
    i386only,
    'x86_64',
    0,
    [],
    'ALLOW',
  ],
  [
    'an x32-only profile on an x86_64 host: x86_64 numbers follow the native ABI',
    x32only,
    'x86_64',
    0,
    [],
    'ERRNO(1)',
  ],
];

describe('evaluate (reference semantics)', () => {
  for (const [reason, profile, arch, nr, args, expected] of rows) {
    it(reason, () => {
      const v = evaluate(profile, arch, { nr, args }, { nativeArch: 'x86_64' });
      const got = v.kind === 'ERRNO' || v.kind === 'TRACE' ? `${v.kind}(${v.data})` : v.kind;
      expect(got).toBe(expected);
    });
  }

  it('reports which rule decided', () => {
    expect(evaluate(uncondWins, 'x86_64', { nr: 16 })).toEqual({
      kind: 'ALLOW',
      data: 0,
      source: 'rule',
      rule: 1,
    });
    expect(evaluate(personality, 'x86_64', { nr: 135, args: [9n] })).toEqual({
      kind: 'ERRNO',
      data: 38,
      source: 'default',
    });
  });

  it('the bad-architecture action can be set (libseccomp kills the thread)', () => {
    expect(evaluate(x86only, 'x86', { nr: 3 }, { badArchAction: 'KILL_THREAD' }).kind).toBe('KILL_THREAD');
  });

  it('refuses an unresolved profile', () => {
    expect(() =>
      evaluate(
        {
          defaultAction: 'SCMP_ACT_ERRNO',
          syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } }],
        },
        'x86_64',
        { nr: 0 },
        { nativeArch: 'x86_64' },
      ),
    ).toThrow(/resolve\(\) the profile first/);
  });
});
