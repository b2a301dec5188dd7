// The real kernel: sysfence-compiled filters are loaded by a probe process (seccomp(2) directly,
// after PR_SET_NO_NEW_PRIVS) that makes real syscalls with chosen arguments; the kernel's outcome
// (return, errno, SIGSYS to a handler, killed) must equal evaluate() for every probe.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { encode } from '../../src/bpf/encode.js';
import { compile } from '../../src/compiler/compile.js';
import { evaluate, type Verdict } from '../../src/profile/evaluate.js';
import type { Profile, SyscallRule } from '../../src/profile/model.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { resolve } from '../../src/profile/resolve.js';
import { ok, run, tempDir } from '../helpers/proc.js';
import { referenceFile } from '../helpers/schemas.js';
import { haveTool, requirement } from '../helpers/tools.js';

const x86 = process.arch === 'x64';
const skip = x86
  ? requirement(haveTool('gcc'), 'gcc (to build the probe)')
  : 'the live probes are written for x86_64 hosts';
const dir = tempDir('sysfence-live-');

// Harmless x86_64 syscalls that ignore their arguments: any argument values are safe to send.
const NR = {
  getpid: 39,
  getppid: 110,
  getuid: 102,
  getgid: 104,
  geteuid: 107,
  getegid: 108,
  gettid: 186,
  sched_yield: 24,
  getpgrp: 111,
};
const A = (index: number, op: string, value: bigint, valueTwo?: bigint) =>
  ({ index, op, value, ...(valueTwo !== undefined ? { valueTwo } : {}) }) as NonNullable<
    SyscallRule['args']
  >[number];

const synthetic: Profile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 1234,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [
    { names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [A(0, 'SCMP_CMP_EQ', 5n)] },
    { names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [A(1, 'SCMP_CMP_EQ', 0x1_0000_0007n)] },
    {
      names: ['getppid'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 77,
      args: [A(1, 'SCMP_CMP_GT', 0x1_0000_0000n)],
    },
    { names: ['getuid'], action: 'SCMP_ACT_TRAP', args: [A(2, 'SCMP_CMP_MASKED_EQ', 0xff00n, 0x1200n)] },
    {
      names: ['getgid'],
      action: 'SCMP_ACT_KILL_PROCESS',
      args: [A(0, 'SCMP_CMP_LT', 10n), A(1, 'SCMP_CMP_NE', 3n)],
    },
    { names: ['geteuid'], action: 'SCMP_ACT_ALLOW', args: [A(3, 'SCMP_CMP_GE', 0xffffffffn)] },
    { names: ['getegid'], action: 'SCMP_ACT_LOG', args: [A(0, 'SCMP_CMP_EQ', 1n), A(0, 'SCMP_CMP_EQ', 2n)] },
    { names: ['getegid'], action: 'SCMP_ACT_LOG', args: [A(4, 'SCMP_CMP_LE', 0x8000_0000_0000_0000n)] },
    { names: ['gettid'], action: 'SCMP_ACT_KILL_THREAD' },
    { names: ['sched_yield'], action: 'SCMP_ACT_TRACE', errnoRet: 5 },
    { names: ['getpgrp'], action: 'SCMP_ACT_ALLOW' },
  ],
};
const allowDefault: Profile = {
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [
    { names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 4000, args: [A(5, 'SCMP_CMP_NE', 0n)] },
    {
      names: ['getuid'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 13,
      args: [A(0, 'SCMP_CMP_MASKED_EQ', 0xffff_0000_0000_0000n, 0xabcd_0000_0000_0000n)],
    },
    { names: ['getgid', 'geteuid'], action: 'SCMP_ACT_ERRNO', errnoRet: 21 },
  ],
};
const docker = resolve(
  parseDockerProfile(readFileSync(referenceFile('docker-default.json'), 'utf8')).profile!,
  {
    arch: 'x86_64',
    kernelVersion: '6.1',
  },
);

type Probe = { nr: number; args: bigint[] };
const VALUES = [
  0n,
  1n,
  2n,
  3n,
  5n,
  9n,
  10n,
  0x1200n,
  0x12ffn,
  0xffffffffn,
  0x1_0000_0000n,
  0x1_0000_0001n,
  0x1_0000_0007n,
  0x8000_0000_0000_0000n,
  0xabcd_0000_1234_0000n,
  (1n << 64n) - 1n,
];

function probesFor(names: (keyof typeof NR)[]): Probe[] {
  const out: Probe[] = [];
  for (const n of names)
    VALUES.forEach((v, i) => {
      const w = VALUES[(i * 7 + 3) % VALUES.length]!;
      out.push({ nr: NR[n], args: [v, w, v, w, v, i % 2 === 0 ? 0n : v] });
    });
  return out;
}

/** What the kernel must do for a verdict, as the probe prints it. */
function expectedOutcome(v: Verdict): string {
  switch (v.kind) {
    case 'ALLOW':
    case 'LOG':
      return 'RET';
    case 'ERRNO':
      return `ERRNO ${Math.min(v.data, 4095)}`;
    case 'TRACE':
    case 'NOTIFY':
      return 'ERRNO 38'; // no tracer / no listener: the kernel fails the call with ENOSYS
    case 'TRAP':
      return 'TRAP';
    case 'KILL_PROCESS':
    case 'KILL_THREAD':
      return 'SIGNAL 31';
  }
}

async function runProbes(
  name: string,
  profile: Profile,
  probes: Probe[],
): Promise<{ total: number; mismatches: string[] }> {
  const filter = join(dir, `${name}.bpf`);
  writeFileSync(filter, encode(compile(profile, { nativeArch: 'x86_64' }).instructions));
  const input = probes
    .map((p) => [p.nr, ...p.args].map((x) => `0x${BigInt.asUintN(64, BigInt(x)).toString(16)}`).join(' '))
    .join('\n');
  const r = await run(join(dir, 'probe'), [filter], { input: `${input}\n` });
  const lines = r.stdout.trim().split('\n');
  const mismatches: string[] = [];
  probes.forEach((p, i) => {
    const got = (lines[i] ?? '').trim();
    const want = expectedOutcome(
      evaluate(profile, findArch('x86_64')!, { nr: p.nr, args: p.args }, { nativeArch: 'x86_64' }),
    );
    // An allowed x32 call on a kernel built without CONFIG_X86_X32_ABI fails with the kernel's own ENOSYS.
    const same =
      want === 'RET' ? got.startsWith('RET ') || (p.nr >= 0x40000000 && got === 'ERRNO 38') : got === want;
    if (!same)
      mismatches.push(
        `${name}: nr ${p.nr} args ${p.args.map((a) => `0x${a.toString(16)}`).join(',')}: kernel "${got}", evaluate "${want}"`,
      );
  });
  return { total: probes.length, mismatches };
}

describe.skipIf(skip !== undefined)('live kernel probes', () => {
  it('the kernel agrees with evaluate on every probe', async () => {
    await ok(run('gcc', ['-O2', '-o', join(dir, 'probe'), join(import.meta.dirname, 'probe.c')]));
    const all = Object.keys(NR) as (keyof typeof NR)[];
    const runs = await Promise.all([
      runProbes('synthetic', synthetic, probesFor(all)),
      runProbes('allow-default', allowDefault, probesFor(all)),
      runProbes('docker-default', docker, [
        { nr: 39, args: [] },
        { nr: 135, args: [0xffffffffn] }, // personality query: allowed
        { nr: 135, args: [1n] }, // personality(1): EPERM
        { nr: 135, args: [0x1_ffff_ffffn] }, // high word set: not 0xffffffff on x86_64
        { nr: 41, args: [1n, 1n, 0n] }, // socket(AF_UNIX): allowed
        { nr: 41, args: [40n, 1n, 0n] }, // socket(AF_VSOCK): EPERM
        { nr: 165, args: [] }, // mount: EPERM (no CAP_SYS_ADMIN in the default set)
        { nr: 425, args: [] }, // io_uring_setup: EPERM
        { nr: 435, args: [] }, // clone3: ENOSYS
        { nr: 272, args: [0x10000000n] }, // unshare(CLONE_NEWUSER): EPERM
        { nr: 0x40000027, args: [] }, // an x32 getpid: x32 is in Docker's list, allowed by number
      ]),
      runProbes('x32-guard', { ...allowDefault, syscalls: [] }, [
        { nr: 0x40000000 + 39, args: [] }, // x32 getpid on an x86_64-only filter: bad architecture
        { nr: 39, args: [] },
      ]),
    ]);
    const total = runs.reduce((n, r) => n + r.total, 0);
    const mismatches = runs.flatMap((r) => r.mismatches);
    console.log(`live kernel probes: ${total} probes, ${mismatches.length} mismatches`);
    expect(mismatches).toEqual([]);
    expect(total).toBeGreaterThanOrEqual(200);
  });
});
