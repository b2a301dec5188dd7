// What sysfence says about libseccomp, held to the real library (python3-seccomp, the oracle):
// - lint flags exactly the profiles (and syscalls) whose libseccomp filter differs from their
//   intent, and every rewrite lint proposes means the same and is compiled exactly by libseccomp;
// - the profiles sysfence writes (generate --args, merge, run --learn and convert all pass through
//   ensureRuntimeExact) are compiled exactly by libseccomp.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syscallTable } from '../../src/arch/tables.js';
import { emulate } from '../../src/bpf/emulate.js';
import type { Instruction } from '../../src/bpf/instruction.js';
import { verificationCases } from '../../src/compiler/cases.js';
import { actionOfRet } from '../../src/compiler/ret.js';
import { runtimeSet } from '../../src/knowledge/runtime-sets.js';
import { formatAction } from '../../src/profile/actions.js';
import { evaluateData } from '../../src/profile/evaluate.js';
import { generate } from '../../src/profile/generate.js';
import type { Profile, SyscallRule } from '../../src/profile/model.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { buildPolicy } from '../../src/profile/policy.js';
import { ProfileError } from '../../src/profile/profile-error.js';
import { resolve } from '../../src/profile/resolve.js';
import { RecordingBuilder } from '../../src/recording/recording.js';
import { divergences } from '../../src/targets/divergences.js';
import { ensureRuntimeExact } from '../../src/targets/exact.js';
import { buildWithLibseccompAsync } from '../../src/targets/oracle.js';
import { replaceRules } from '../../src/targets/rewrite.js';
import { runtimeTarget } from '../../src/targets/target.js';
import { abiOfCall, runtimeFilter } from '../../src/targets/verdict.js';
import { lintLibseccompNames } from '../helpers/lint-names.js';
import { yieldToLoop } from '../helpers/proc.js';
import { mulberry32, overlapProfile, randomProfile } from '../helpers/random-profiles.js';
import { havePythonSeccomp, requirement } from '../helpers/tools.js';

const skip = requirement(havePythonSeccomp(), "Debian's python3-seccomp (libseccomp oracle)");
const native = 'x86_64' as const;
const target = runtimeTarget('libseccomp', { native });

/** Per profile: the syscall names where libseccomp's real filter differs from the intent ("*" = refused). */
async function realDifferences(ps: Profile[]): Promise<Set<string>[]> {
  const lib = await buildWithLibseccompAsync(ps.map((profile) => ({ profile, badArch: 'KILL_THREAD' })));
  const out: Set<string>[] = [];
  for (const [i, p] of ps.entries()) {
    await yieldToLoop();
    out.push(differencesOf(p, lib.results[i]!.program));
  }
  return out;
}

/**
 * The syscall names where `program` (libseccomp's filter, or none: refused) differs from `p`: on
 * the verification cases, and on the witness calls of the model's exact decision (lint decides by
 * a constraint search over every argument value, so its findings may lie outside any sample; each
 * witness is run through the real filter here, so a wrong witness cannot pass).
 */
function differencesOf(p: Profile, program: Instruction[] | undefined): Set<string> {
  if (!program) return new Set(['*']);
  const names = new Set<string>();
  const policy = buildPolicy(p, { nativeArch: native });
  const rf = runtimeFilter(p, target);
  const witnesses = rf.refused ? [] : divergences(p, target).syscalls.map((d) => d.witness);
  for (const c of [...verificationCases(policy), ...witnesses]) {
    const got = actionOfRet(emulate(program, c).ret >>> 0);
    const want = evaluateData(p, c, { nativeArch: native, badArchAction: 'KILL_THREAD' });
    if (formatAction(got) === formatAction(want)) continue;
    const abi = abiOfCall(policy, c.arch, c.nr);
    names.add((abi && syscallTable(abi).name(c.nr >>> 0)) ?? `#${c.nr}`);
  }
  return names;
}

/** The syscalls lint names in its libseccomp findings ("*" for a refusal), and its rewrites. */
const lintNames = (p: Profile) => lintLibseccompNames(p, target, true);

/** A generate --args profile of a seeded recording with argument values, made runtime-exact. */
function argsProfile(seed: number): Profile {
  const r = mulberry32(seed);
  const b = new RecordingBuilder();
  b.source('test', `seed ${seed}`);
  const abis = ['x86_64', ...(r() < 0.5 ? (['x86'] as const) : [])] as const;
  const values: Record<string, [number, bigint[]][]> = {
    socket: [
      [0, [1n, 2n, 10n, 16n]],
      [1, [1n, 2n, 0x80001n, 0x80801n]],
      [2, [0n, 6n, 17n]],
    ],
    clone: [[0, [0x3d0f00n, 0x1200011n, 0x11n, 0x7e020000n]]],
    ioctl: [[1, [0x5401n, 0x541bn, 0x5421n, 0x80045430n, 0xc0186201n, 0x4008ae8an]]],
    prctl: [[0, [1n, 15n, 16n, 22n, 38n, 0x59616d61n]]],
    mmap: [[2, [0n, 1n, 3n, 5n, 7n]]],
    fcntl: [[1, [0n, 1n, 2n, 3n, 4n, 1030n]]],
    kill: [[1, [0n, 9n, 15n, 19n]]],
  };
  for (const abi of abis)
    for (const name of ['read', 'write', 'close', 'exit_group', 'rt_sigaction'])
      b.call(abi, name, { pid: 1, executable: '/bin/app' });
  for (const abi of abis)
    for (const [name, idx] of Object.entries(values)) {
      if (r() < 0.3) continue;
      const picks = idx.map(([i, vs]) => [i, vs.filter(() => r() < 0.6)] as const);
      const n = 1 + Math.floor(r() * 3);
      for (let k = 0; k < n; k++) {
        const args = picks.map(
          ([i, vs]) => [i, String(vs[k % Math.max(1, vs.length)] ?? 0n)] as [number, string],
        );
        b.call(abi, name, { pid: 1, executable: '/bin/app', args });
      }
    }
  const g = generate([b.build()], {
    deny: 'enosys',
    companions: false,
    args: true,
    runtime: runtimeSet('none'),
    probed: true,
  });
  return ensureRuntimeExact(g.profile, { native }).profile;
}

describe.skipIf(skip !== undefined)('lint and written profiles vs libseccomp', () => {
  const named = ['docker-default', 'podman-default'].map((f) =>
    resolve(parseDockerProfile(readFileSync(join('data', 'profiles', `${f}.json`), 'utf8')).profile!, {
      arch: native,
      kernelVersion: '6.1',
    }),
  );
  const corpus: Profile[] = [
    ...named,
    ...Array.from({ length: 60 }, (_, i) => randomProfile(i + 1)),
    ...Array.from({ length: 240 }, (_, i) => overlapProfile(i + 1)),
  ];

  // in slices, so that no test blocks the worker for long
  const totals = { flagged: 0, proposals: 0 };
  const SLICE = 25;
  for (let from = 0; from < corpus.length; from += SLICE) {
    const slice = corpus.slice(from, from + SLICE);
    it(`profiles ${from + 1}-${from + slice.length}: lint names exactly the syscalls libseccomp gets wrong; every rewrite is proven`, async () => {
      const real = await realDifferences(slice);
      const mismatched: string[] = [];
      const proposals: { profile: Profile; name: string; rules: SyscallRule[] }[] = [];
      for (const [i, p] of slice.entries()) {
        await yieldToLoop();
        const l = lintNames(p);
        const r = real[i]!;
        // a refused profile: lint says so (and nothing else about libseccomp needs to be exact)
        const want = r.has('*') ? ['*'] : [...r].sort();
        const got = l.names.has('*') ? ['*'] : [...l.names].sort();
        if (want.join() !== got.join())
          mismatched.push(`profile ${from + i}: libseccomp differs on [${want}], lint names [${got}]`);
        if (want.length > 0) totals.flagged++;
        for (const w of l.rewrites) proposals.push({ profile: p, ...w });
      }
      expect(mismatched.slice(0, 10)).toEqual([]);
      // every proposed rewrite: the same meaning, and the real libseccomp compiles it exactly
      const rewritten = proposals.map((x) => replaceRules(x.profile, x.name, x.rules));
      const after = await realDifferences(rewritten);
      const wrong = proposals
        .map((x, i) => ({ x, diff: after[i]! }))
        .filter(({ x, diff }) => diff.has('*') || diff.has(x.name))
        .map(({ x }) => x.name);
      expect(wrong).toEqual([]);
      for (const [i, q] of rewritten.entries()) {
        await yieldToLoop();
        const p = proposals[i]!.profile;
        for (const c of verificationCases(buildPolicy(p, { nativeArch: native })))
          expect(formatAction(evaluateData(q, c, { nativeArch: native }))).toBe(
            formatAction(evaluateData(p, c, { nativeArch: native })),
          );
      }
      totals.proposals += proposals.length;
    });
  }

  it('over the lint corpus: many profiles differ, and lint proposes rewrites', () => {
    console.log(
      `lint vs libseccomp ${target.libseccomp}: ${corpus.length} profiles, ${totals.flagged} whose filter differs from the intent, all flagged and naming the same syscalls, no other; ${totals.proposals} rewrites proposed, all proven by the oracle`,
    );
    expect(totals.flagged).toBeGreaterThan(50);
    expect(totals.proposals).toBeGreaterThan(20);
  });

  const writtenTotals = { inputs: 0, written: 0, refused: 0, rewrites: 0 };
  const WRITE_SLICE = 40;
  for (let from = 1; from <= 240; from += WRITE_SLICE) {
    it(`profiles sysfence writes are compiled exactly: ensureRuntimeExact on overlap profiles ${from}-${from + WRITE_SLICE - 1}`, async () => {
      const inputs = Array.from({ length: WRITE_SLICE }, (_, i) => overlapProfile(from + i));
      const written: Profile[] = [];
      const originals: Profile[] = [];
      for (const p of inputs) {
        // (long synchronous work: let the worker answer vitest between profiles, or its RPC times out)
        await yieldToLoop();
        try {
          const r = ensureRuntimeExact(p, { native });
          writtenTotals.rewrites += r.rewritten.length;
          written.push(r.profile);
          originals.push(p);
        } catch (e) {
          if (!(e instanceof ProfileError)) throw e;
          writtenTotals.refused++;
        }
      }
      writtenTotals.inputs += inputs.length;
      writtenTotals.written += written.length;
      const real = await realDifferences(written);
      const bad = real.flatMap((d, i) => (d.size > 0 ? [`written ${i}: [${[...d]}]`] : []));
      expect(bad.slice(0, 10)).toEqual([]);
      for (const [i, q] of written.entries()) {
        await yieldToLoop();
        const p = originals[i]!;
        for (const c of verificationCases(buildPolicy(p, { nativeArch: native })))
          expect(formatAction(evaluateData(q, c, { nativeArch: native }))).toBe(
            formatAction(evaluateData(p, c, { nativeArch: native })),
          );
      }
    });
  }

  it('over the overlap corpus: most profiles are written, the rest refused, none written wrong', () => {
    console.log(
      `written profiles: ${writtenTotals.inputs} inputs, ${writtenTotals.written} written (${writtenTotals.rewrites} syscalls rewritten), ${writtenTotals.refused} refused (no exact form found or libseccomp refuses); libseccomp compiles every written one exactly`,
    );
    // this corpus is adversarial (overlapping rules of up to seven actions); what cannot be written
    // exactly is refused, never written wrong
    expect(writtenTotals.inputs).toBe(240);
    expect(writtenTotals.written).toBeGreaterThan(90);
  });

  const argsTotals = { profiles: 0, withArgs: 0 };
  for (let from = 1; from <= 120; from += 30) {
    it(`generate --args outputs are compiled exactly: seeded recordings with argument values ${from}-${from + 29}`, async () => {
      const profiles: Profile[] = [];
      for (let seed = from; seed < from + 30; seed++) {
        await yieldToLoop();
        profiles.push(argsProfile(seed));
      }
      const real = await realDifferences(profiles);
      expect(real.flatMap((d, i) => (d.size > 0 ? [`${from + i}: [${[...d]}]`] : []))).toEqual([]);
      argsTotals.profiles += profiles.length;
      argsTotals.withArgs += profiles.filter((p) => (p.syscalls ?? []).some((r) => r.args?.length)).length;
    });
  }

  it('generate --args: nearly every seeded profile has argument rules', () => {
    console.log(
      `generate --args: ${argsTotals.profiles} profiles (${argsTotals.withArgs} with argument rules), libseccomp compiles every one exactly`,
    );
    expect(argsTotals.profiles).toBe(120);
    expect(argsTotals.withArgs).toBeGreaterThan(100);
  });
});
