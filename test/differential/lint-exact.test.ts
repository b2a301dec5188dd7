// lint names a syscall exactly when the libseccomp model answers some call of it otherwise than
// the profile intends, over 1,000 seeded profiles (random, overlapping, and edge ones: conditions
// no value meets, conditions every value meets, KILL_THREAD/KILL_PROCESS/TRAP/ERRNO mixed):
// - nothing lint flags is a false alarm: each flagged syscall has a witness call, run through the
//   model and through the profile's semantics, that gets two different answers;
// - nothing is missed: every syscall where a sample of calls (32 per syscall with argument rules,
//   from the conditions' boundary values crossed at random, beside the verification cases lint
//   runs itself) shows a difference is flagged. lint decides by a constraint search over every
//   path of the filter (no sampling), so this sample may only find a subset of what lint names.
import { describe, expect, it } from 'vitest';
import { syscallTable } from '../../src/arch/tables.js';
import type { Case } from '../../src/compiler/cases.js';
import type { Profile } from '../../src/profile/model.js';
import { divergences } from '../../src/targets/divergences.js';
import { runtimeTarget } from '../../src/targets/target.js';
import { abiOfCall, runtimeEvaluate, runtimeFilter } from '../../src/targets/verdict.js';
import { lintLibseccompNames } from '../helpers/lint-names.js';
import { yieldToLoop } from '../helpers/proc.js';
import { edgeProfile, mulberry32, overlapProfile, randomProfile } from '../helpers/random-profiles.js';

const target = runtimeTarget('libseccomp', { native: 'x86_64' });
/** The causes lint names per syscall (the stub for numbers the profile does not name is per ABI). */
const LINT_LABELS = new Set(['libseccomp-bug', 'precedence', 'no-number-load', 'unknown-name', 'stub']);
const PROFILES = 1000;
const SLICE = 100;

function corpus(i: number): Profile {
  return i % 3 === 0 ? randomProfile(i) : i % 3 === 1 ? overlapProfile(i) : edgeProfile(i);
}

/** The syscall names lint's libseccomp findings name ("*": refused); rewrites are proven in runtime-exact. */
const lintNames = (p: Profile): Set<string> => lintLibseccompNames(p, target, false).names;

/** More calls per syscall with argument rules: boundary values of its conditions, crossed at random. */
function* extraCases(p: Profile, seed: number): Generator<Case> {
  const rf = runtimeFilter(p, target);
  const r = mulberry32(seed);
  for (const a of rf.policy.arches) {
    const ap = rf.policy.byArch.get(a.id)!;
    for (const nr of ap.order) {
      const s = ap.syscalls.get(nr)!;
      if (s.conditional.length === 0) continue;
      const values = [0n, 1n, 0xffffffffn, 0x100000000n, (1n << 64n) - 1n];
      for (const c of s.conditional.flatMap((x) => x.conditions))
        for (const v of [c.value, c.valueTwo, c.value & c.valueTwo])
          for (const d of [-1n, 0n, 1n]) values.push(BigInt.asUintN(64, v + d));
      for (let k = 0; k < 32; k++)
        yield {
          arch: a.auditArch,
          nr,
          args: Array.from({ length: 6 }, () => values[Math.floor(r() * values.length)]!),
        };
    }
  }
}

describe('lint vs the libseccomp model: the exact decision', () => {
  let flaggedTotal = 0;
  let exactOnly = 0;
  for (let from = 1; from <= PROFILES; from += SLICE) {
    it(`profiles ${from}-${from + SLICE - 1}: lint flags a syscall exactly when the model differs`, async () => {
      const problems: string[] = [];
      for (let i = from; i < from + SLICE; i++) {
        await yieldToLoop();
        const p = corpus(i);
        const rf = runtimeFilter(p, target);
        const flagged = lintNames(p);
        if (rf.refused) {
          if (!flagged.has('*')) problems.push(`${i}: refused, lint does not say so`);
          continue;
        }
        // no false alarm: every flagged syscall's witness shows the difference
        const report = divergences(p, target);
        for (const d of report.syscalls) {
          const v = runtimeEvaluate(rf, d.witness);
          if (!v.divergence) problems.push(`${i}: ${d.abi.id} ${d.name}: its witness shows no difference`);
        }
        if (report.unproven.length > 0)
          problems.push(
            `${i}: not settled: ${report.unproven.map((u) => `${u.name} (${u.why})`).join(', ')}`,
          );
        // nothing missed: what sampled calls show is flagged
        const sampled = new Set<string>();
        for (const d of report.syscalls) if (LINT_LABELS.has(d.label)) sampled.add(d.name);
        for (const c of extraCases(p, i)) {
          const v = runtimeEvaluate(rf, c);
          if (!v.divergence || v.divergence.label === 'default-errno-dropped') continue;
          const abi = abiOfCall(rf.policy, c.arch, c.nr);
          const name = (abi && syscallTable(abi).name(c.nr >>> 0)) ?? `#${c.nr}`;
          if (v.divergence.label === 'stub' && !rf.policy.byArch.get(abi!.id)?.syscalls.has(c.nr >>> 0))
            continue;
          sampled.add(name);
        }
        for (const n of sampled)
          if (!flagged.has(n)) problems.push(`${i}: the model differs on ${n}; lint does not say so`);
        flaggedTotal += flagged.size;
        exactOnly += report.syscalls.filter((d) => d.exact && LINT_LABELS.has(d.label)).length;
      }
      expect(problems.slice(0, 10)).toEqual([]);
    });
  }

  it('the corpus reaches what sampling alone misses', () => {
    console.log(
      `lint vs the libseccomp model: ${PROFILES} profiles, ${flaggedTotal} syscalls flagged, ${exactOnly} of them found only by the exact decision (no sampled call showed them), each proven by its witness`,
    );
    expect(exactOnly).toBeGreaterThan(0);
  });
});
