// The real-workload evaluation (bench/workloads/evaluate.mjs): nginx, redis and PostgreSQL from
// Debian, each recorded as a container while its driver runs, then run fresh under the generated
// profile (ENOSYS default) and under it with --default-action kill. Every driver step must succeed,
// the server must stop cleanly, and no call may be denied except by the profile's own explicit
// rules. The sizes (allowed calls against Docker's default) are printed. Throughput (under the
// profile, under Docker's default, while recording) is a benchmark's business, not a test's:
// bench/workloads.mjs repeats the passes and prints the ratios.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// a plain ES module, shared with the benchmark
import { buildImage, pass, sizes } from '../../bench/workloads/evaluate.mjs';
import { findArch } from '../../src/arch/tables.js';
import { ebpfProblems } from '../../src/recorders/record.js';
import { tempDir } from '../helpers/proc.js';
import { haveDocker, requirement } from '../helpers/tools.js';

interface Step {
  name: string;
  ok: boolean;
  detail: string;
}
interface Denial {
  name: string;
  expected: boolean;
  verdict: string;
}
interface Pass {
  steps: Step[];
  throughput: number;
  unit: string;
  wallMs: number;
  readyMs: number;
  output: string;
  run?: {
    exit: { status: number };
    denials: Denial[];
    findings: number;
    killLogProblem: string | null;
    defaultAction: string;
  };
}

const x86_64 = findArch('x86_64')!;
const docker = haveDocker();
const skip =
  process.arch !== 'x64'
    ? 'the goals are for x86_64 (allowed names on x86_64)'
    : (requirement(docker, 'a running Docker engine (scripts/start-dockerd.sh)') ??
      requirement(process.getuid?.() === 0, 'root (debootstrap, eBPF)') ??
      requirement(ebpfProblems(x86_64).length === 0, `eBPF (${ebpfProblems(x86_64).join('; ')})`));

/** The goals of the evaluation: allowed names on x86_64, runtime set included. */
const GOALS = { nginx: 110, redis: 110, postgres: 130 } as const;
/**
 * With static reach (the default): calls the image's code can make that the run did not are
 * allowed and logged (SCMP_ACT_LOG); the total, allowed and logged, stays under these.
 */
const TOTAL_GOALS = { nginx: 150, redis: 150, postgres: 170 } as const;
const OPTIONS = { seconds: 4, requests: 10000 };

let dir = '';
const figures: string[] = [];

beforeAll(async () => {
  if (skip) return;
  await buildImage(); // debootstrap + apt-get + docker import, once per machine (the image is the cache)
  dir = tempDir('sysfence-eval-');
}, 900_000);

afterAll(async () => {
  if (skip) return;
  // the sizes, for the CI log
  console.log(`\nreal-workload evaluation (bench/workloads.mjs adds throughput):\n${figures.join('\n')}`);
});

const failed = (p: Pass) => p.steps.filter((s) => !s.ok);

for (const workload of Object.keys(GOALS) as (keyof typeof GOALS)[]) {
  describe.skipIf(skip !== undefined).sequential(`${workload} in a container`, () => {
    const passes: Record<string, Pass> = {};
    let size = { allowed: 0, logged: 0, dockerDefault: 0, runtimeSet: 0, recorded: 0 };

    it('recorded while the driver runs: every step succeeds and the server stops cleanly', async () => {
      const p: Pass = await pass(workload, 'record', { dir, ...OPTIONS });
      passes.record = p;
      expect(failed(p)).toEqual([]);
      const profile = JSON.parse(readFileSync(join(dir, `${workload}.json`), 'utf8'));
      expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
      expect(profile.defaultErrnoRet).toBe(38);
      const s = await sizes(dir, workload);
      expect(s.allowed).toBeLessThanOrEqual(GOALS[workload]);
      expect(s.allowed + s.logged).toBeLessThanOrEqual(TOTAL_GOALS[workload]);
      // static reach read the image's programs: some calls are predicted
      expect(s.logged).toBeGreaterThan(0);
      expect(s.allowed).toBeGreaterThanOrEqual(s.recorded);
      expect(s.dockerDefault).toBe(306);
      size = s;
    });

    for (const mode of ['profile', 'kill'] as const)
      it(`fresh container under the profile${mode === 'kill' ? ' with --default-action kill' : ''}: every step succeeds, no unexpected denial`, async () => {
        const p: Pass = await pass(workload, mode, { dir, ...OPTIONS });
        passes[mode] = p;
        expect(failed(p)).toEqual([]);
        expect(p.run!.defaultAction).toBe(mode === 'kill' ? 'SCMP_ACT_KILL_PROCESS' : 'SCMP_ACT_ERRNO');
        expect(p.run!.exit.status).toBe(0);
        expect(p.run!.killLogProblem).toBeNull();
        expect(p.run!.findings).toBe(0);
        // the only denials are the profile's explicit ENOSYS for probed calls (glibc's clone3)
        const written = JSON.parse(readFileSync(join(dir, `${workload}.json`), 'utf8')) as {
          syscalls: { names: string[]; errnoRet?: number }[];
        };
        const enosysRule = written.syscalls.findIndex((r) => r.errnoRet === 38);
        for (const d of p.run!.denials)
          expect([d.name, d.expected, d.verdict]).toEqual([d.name, true, `ERRNO(38) by rule ${enosysRule}`]);
      });

    it('sizes: allowed calls against Docker default', () => {
      const s = size;
      figures.push(
        `  ${workload}: ${s.allowed} allowed on x86_64 (goal <= ${GOALS[workload]}; recorded ${s.recorded}, runtime set ${s.runtimeSet}) + ${s.logged} predicted by static reach, allowed and logged (total goal <= ${TOTAL_GOALS[workload]}) vs Docker default ${s.dockerDefault}; ` +
          `recording took ${(passes.record!.wallMs / 1000).toFixed(1)} s, ready after ${(passes.record!.readyMs / 1000).toFixed(1)} s`,
      );
      expect(s.allowed).toBeGreaterThan(0);
    });
  });
}
