// The runtime verdict against real containers: seeded profiles with overlapping argument rules (on
// syscalls neither the probe nor runc itself makes) run under Docker (runc + libseccomp); a probe
// in the container makes calls chosen where sysfence says the runtime differs from the profile (and
// others), and the kernel's outcome must equal sysfence's runtime verdict (target docker: Docker
// 20.10 drops defaultErrnoRet, runc adds its ENOSYS stub, libseccomp builds the filter) every time.
// Profiles the model says libseccomp refuses must not start.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findArch, syscallTable } from '../../src/arch/tables.js';
import { verificationCases } from '../../src/compiler/cases.js';
import { runtimeSet } from '../../src/knowledge/runtime-sets.js';
import type { Action } from '../../src/profile/actions.js';
import type { ActionName, ArgCondition, Profile, SyscallRule } from '../../src/profile/model.js';
import { OPERATORS } from '../../src/profile/model.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { runtimeTarget } from '../../src/targets/target.js';
import { type DivergenceLabel, runtimeEvaluate, runtimeFilter } from '../../src/targets/verdict.js';
import { ok, run, tempDir } from '../helpers/proc.js';
import { mulberry32 } from '../helpers/random-profiles.js';
import { haveDocker, haveTool, requirement } from '../helpers/tools.js';

const docker = haveDocker();
const skip =
  process.arch !== 'x64'
    ? 'the probe is written for x86_64'
    : (requirement(process.getuid?.() === 0, 'root (containers)') ??
      requirement(haveTool('gcc'), 'gcc') ??
      requirement(docker, 'a running Docker engine (scripts/start-dockerd.sh)'));

const IMAGE = 'sysfence/runtime-probe:test';
const PROFILES = 36;
const PER_PROFILE = 12;
/** Calls that never fail and ignore their arguments; runc does not make them after loading the filter. */
const TESTED = ['getuid', 'getgid', 'geteuid', 'getegid', 'getpgrp', 'gettid'];
/** What the probe itself calls. */
const PROBE = ['mmap', 'rt_sigaction', 'fork', 'wait4', 'write', 'exit_group', 'rt_sigreturn', 'execve'];
const x86_64 = findArch('x86_64')!;
const target = runtimeTarget('docker', { native: 'x86_64' });
let dir = '';

beforeAll(async () => {
  if (skip) return;
  dir = tempDir('sysfence-rv-');
  const src = join(import.meta.dirname, 'runtime-probe.c');
  await ok(
    run('gcc', [
      '-O2',
      '-fno-builtin',
      '-fno-tree-loop-distribute-patterns',
      '-fno-stack-protector',
      '-static',
      '-nostdlib',
      '-o',
      join(dir, 'probe'),
      src,
    ]),
  );
  await ok(
    run('sh', ['-c', `tar -C '${dir}' -c probe | docker import -c 'ENTRYPOINT ["/probe"]' - ${IMAGE}`]),
  );
});

afterAll(async () => {
  if (skip) return;
  await run('docker', ['rmi', '-f', IMAGE]);
  rmSync(dir, { recursive: true, force: true });
});

const BOUNDARY = [0n, 1n, 2n, 5n, 0xffffffffn, 0x100000000n, 0x100000001n, 0x1ffffffffn, (1n << 64n) - 1n];
const ACTIONS: ActionName[] = [
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_LOG',
  'SCMP_ACT_TRACE',
];

/** A seeded profile: the probe's and runc's calls allowed, overlapping argument rules on TESTED. */
function liveProfile(seed: number): Profile {
  const r = mulberry32(seed * 104729 + 7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const defaultAction = pick<ActionName>([
    'SCMP_ACT_ERRNO',
    'SCMP_ACT_ERRNO',
    'SCMP_ACT_KILL_PROCESS',
    'SCMP_ACT_ALLOW',
    'SCMP_ACT_TRAP',
  ]);
  const p: Profile = { defaultAction, architectures: ['SCMP_ARCH_X86_64'], syscalls: [] };
  if (defaultAction === 'SCMP_ACT_ERRNO') p.defaultErrnoRet = pick([1, 38, 77]);
  p.syscalls!.push({
    names: [...new Set([...PROBE, ...runtimeSet('docker').syscalls.map((s) => s.name)])].sort(),
    action: 'SCMP_ACT_ALLOW',
  });
  const value = () =>
    r() < 0.7 ? pick(BOUNDARY) : BigInt(Math.floor(r() * 0x100000000)) << BigInt(r() < 0.5 ? 32 : 0);
  for (const name of TESTED) {
    if (r() < 0.35) continue;
    const n = 1 + Math.floor(r() * 4);
    for (let k = 0; k < n; k++) {
      let action = pick(ACTIONS);
      while (action === defaultAction) action = pick(ACTIONS);
      const rule: SyscallRule = { names: [name], action };
      if (action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE')
        rule.errnoRet = 1 + Math.floor(r() * 150);
      if (r() > 0.1) {
        const args: ArgCondition[] = [];
        const conds = 1 + Math.floor(r() * 2);
        for (let c = 0; c < conds; c++) {
          const op = pick(OPERATORS);
          const index = Math.floor(r() * 3);
          if (args.some((a) => a.index === index)) continue;
          const a: ArgCondition = { index, op, value: value() };
          if (op === 'SCMP_CMP_MASKED_EQ') a.valueTwo = r() < 0.7 ? a.value & value() : value();
          args.push(a);
        }
        rule.args = args;
      }
      p.syscalls!.push(rule);
    }
  }
  return p;
}

/** What the probe prints for an action the kernel takes. */
function outcome(a: Action): string {
  switch (a.kind) {
    case 'ALLOW':
    case 'LOG':
      return 'RET';
    case 'ERRNO':
      return `ERRNO ${a.data}`;
    case 'TRACE':
      return 'ERRNO 38'; // no tracer attached: the kernel skips the call with -ENOSYS
    case 'TRAP':
      return 'TRAP';
    default:
      return 'SIGNAL 31';
  }
}

const hex = (v: bigint | number) => BigInt(v).toString(16);

describe.skipIf(skip !== undefined)(
  'runtime verdicts in real containers (Docker 20.10 + runc + libseccomp)',
  () => {
    const stats = {
      profiles: 0,
      probes: 0,
      differing: 0,
      refused: 0,
      labels: new Map<DivergenceLabel, number>(),
    };
    const mismatches: string[] = [];

    it(`${PROFILES} seeded profiles, ${PER_PROFILE} probes each: the kernel's outcome is the runtime verdict`, async () => {
      for (let seed = 1; seed <= PROFILES; seed++) {
        const p = liveProfile(seed);
        const rf = runtimeFilter(p, target);
        const file = join(dir, `p${seed}.json`);
        writeFileSync(file, serializeDocker(p));
        const probeIn = (cases: string[]) =>
          run(
            'docker',
            ['run', '--rm', '--network', 'none', '--security-opt', `seccomp=${file}`, IMAGE, ...cases],
            { timeout: 60_000 },
          );
        stats.profiles++;
        if (rf.refused) {
          const r = await probeIn(['1ce,0,0,0,0,0,0']);
          stats.refused++;
          if (r.status === 0 || !/seccomp/i.test(r.stderr))
            mismatches.push(
              `seed ${seed}: sysfence says runc refuses it (${rf.refused.message}); docker run: exit ${r.status} ${r.stderr.trim()}`,
            );
          continue;
        }
        // the probes: every case where the runtime differs from the profile first, then others
        const wanted = new Set(TESTED.map((n) => syscallTable(x86_64).number(n)!));
        const all = [
          ...verificationCases(rf.policy, (arch, nr) => arch === x86_64.auditArch && wanted.has(nr)),
        ];
        // runc's stub: mseal(0, 0, 0) succeeds where nothing filters it
        all.push({ arch: x86_64.auditArch, nr: 462, args: [0n, 0n, 0n, 0n, 0n, 0n] });
        const judged = all.map((c) => ({ c, v: runtimeEvaluate(rf, c) }));
        const r = mulberry32(seed);
        const differing = judged.filter((j) => j.v.divergence);
        const same = judged.filter((j) => !j.v.divergence).sort(() => r() - 0.5);
        const chosen = [...differing.slice(0, PER_PROFILE - 4), ...same].slice(0, PER_PROFILE);
        const out = await probeIn(chosen.map(({ c }) => [c.nr, ...c.args.slice(0, 6)].map(hex).join(',')));
        const lines = out.stdout.trim().split('\n');
        chosen.forEach(({ c, v }, i) => {
          stats.probes++;
          if (v.divergence) {
            stats.differing++;
            stats.labels.set(v.divergence.label, (stats.labels.get(v.divergence.label) ?? 0) + 1);
          }
          const want = outcome(v.action);
          if (lines[i] !== want)
            mismatches.push(
              `seed ${seed}: nr ${c.nr} args ${c.args.map((a) => `0x${hex(a)}`).join(',')}: kernel ${lines[i] ?? `nothing (exit ${out.status}: ${out.stderr.trim()})`}, sysfence ${want}${v.divergence ? ` [${v.divergence.label}]` : ''}`,
            );
        });
      }
      console.log(
        `runtime verdicts in containers: ${stats.profiles} profiles (${stats.refused} refused by runc, as predicted), ${stats.probes} probes, ${stats.differing} where the runtime differs from the profile (${[...stats.labels].map(([l, n]) => `${l} ${n}`).join(', ')}), ${mismatches.length} mismatches`,
      );
      expect(mismatches).toEqual([]);
      expect(stats.probes).toBeGreaterThanOrEqual(300);
      expect(stats.differing).toBeGreaterThan(20);
    });
  },
);
