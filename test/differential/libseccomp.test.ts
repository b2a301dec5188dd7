// The libseccomp model (src/libseccomp/) against the real library (Debian's python3-seccomp, the
// oracle): Docker's and Podman's defaults, 300 seeded random profiles and 1,000 seeded profiles
// made of overlapping rules (several arguments, different actions, ORed 64-bit ranges, pairs
// libseccomp refuses). For every profile: libseccomp refuses it (or never finishes) exactly when
// the model says so, and on every verification case the program libseccomp builds gives exactly
// the model's answer. Every case where runc's answer differs from the profile's intent is labelled.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulate } from '../../src/bpf/emulate.js';
import { verificationCases } from '../../src/compiler/cases.js';
import { compile } from '../../src/compiler/compile.js';
import { verifyProgram } from '../../src/compiler/verify.js';
import { buildLibseccompFilter } from '../../src/libseccomp/filter.js';
import { modelProgram, runModel } from '../../src/libseccomp/run.js';
import type { Profile } from '../../src/profile/model.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { buildPolicy } from '../../src/profile/policy.js';
import { resolve } from '../../src/profile/resolve.js';
import { buildWithLibseccompAsync, type LibseccompBuild } from '../../src/targets/oracle.js';
import { runtimeTarget } from '../../src/targets/target.js';
import { type DivergenceLabel, runtimeEvaluate, runtimeFilter } from '../../src/targets/verdict.js';
import { yieldToLoop } from '../helpers/proc.js';
import { overlapProfile, randomProfile } from '../helpers/random-profiles.js';
import { havePythonSeccomp, requirement } from '../helpers/tools.js';

const skip = requirement(havePythonSeccomp(), "Debian's python3-seccomp (libseccomp oracle)");
const RANDOM = 300;
const OVERLAP = 1000;
const opts = { nativeArch: 'x86_64' as const };

describe.skipIf(skip !== undefined)('the libseccomp model vs libseccomp', () => {
  const named: [string, Profile][] = ['docker-default', 'podman-default'].map((f) => [
    f,
    resolve(parseDockerProfile(readFileSync(join('data', 'profiles', `${f}.json`), 'utf8')).profile!, {
      arch: 'x86_64',
      kernelVersion: '6.1',
    }),
  ]);
  const corpus: [string, Profile][] = [
    ...named,
    ...Array.from({ length: RANDOM }, (_, i): [string, Profile] => [`random ${i + 1}`, randomProfile(i + 1)]),
    ...Array.from({ length: OVERLAP }, (_, i): [string, Profile] => [
      `overlap ${i + 1}`,
      overlapProfile(i + 1),
    ]),
  ];
  const target = runtimeTarget('runc', { native: 'x86_64' });
  let version = '';
  let cases = 0;
  let oursChecked = 0;
  let sameSize = 0;
  let sized = 0;
  const unexplained: string[] = [];
  const refusals = { agree: 0, hangs: 0 };
  const labels = new Map<DivergenceLabel, number>();
  const labelledProfiles = new Map<DivergenceLabel, number>();

  // in slices, so that no test blocks the worker for long
  const SLICE = 150;
  for (let from = 0; from < corpus.length; from += SLICE) {
    const slice = corpus.slice(from, from + SLICE);
    it(`profiles ${from + 1}-${from + slice.length}: refusals and every case agree`, async () => {
      const lib = await buildWithLibseccompAsync(
        slice.map(([, profile]) => ({ profile, badArch: 'KILL_THREAD' })),
      );
      version = lib.version;
      for (const [i, [name, profile]] of slice.entries()) {
        await yieldToLoop();
        check(name, profile, lib.results[i]!);
      }
    });
  }

  function check(name: string, profile: Profile, real: LibseccompBuild) {
    const model = buildLibseccompFilter(profile, { version: '2.5', native: 'x86_64' });
    // sysfence's own compiler is held to the intent on the same corpus
    const v = verifyProgram(profile, compile(profile, opts).instructions, opts);
    oursChecked += v.cases;
    expect(v.mismatches, `${name}: sysfence vs evaluate`).toEqual([]);
    if (!real.program || model.refused) {
      if (!real.program && model.refused && real.timeout === (model.refused.reason === 'hang')) {
        refusals.agree++;
        if (real.timeout) refusals.hangs++;
      } else
        unexplained.push(
          `${name}: libseccomp ${real.error ?? 'builds it'}; model ${model.refused?.message ?? 'builds it'}`,
        );
      const seen = new Set<DivergenceLabel>(['refused']);
      for (const l of seen) labelledProfiles.set(l, (labelledProfiles.get(l) ?? 0) + 1);
      return;
    }
    const program = modelProgram(model).instructions;
    if (real.program.length < 256) {
      sized++;
      if (program.length === real.program.length) sameSize++;
    }
    const rf = runtimeFilter(profile, target);
    const seen = new Set<DivergenceLabel>();
    let shown = 0;
    for (const c of verificationCases(buildPolicy(profile, opts))) {
      cases++;
      const got = emulate(real.program, c).ret >>> 0;
      const want = runModel(model, c).ret >>> 0;
      if (got !== want && shown++ < 2)
        unexplained.push(
          `${name}: arch 0x${c.arch.toString(16)} nr ${c.nr} args ${c.args.map((a) => `0x${a.toString(16)}`).join(',')}: libseccomp 0x${got.toString(16)}, model 0x${want.toString(16)}`,
        );
      const d = runtimeEvaluate(rf, c).divergence;
      if (d) {
        labels.set(d.label, (labels.get(d.label) ?? 0) + 1);
        seen.add(d.label);
      }
    }
    for (const l of seen) labelledProfiles.set(l, (labelledProfiles.get(l) ?? 0) + 1);
  }

  it(`over all ${corpus.length} profiles: 0 unexplained, every cause of difference labelled and reached`, async () => {
    const table = [...labels]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([l, n]) => `${l} ${n} cases in ${labelledProfiles.get(l)} profiles`)
      .join('; ');
    console.log(
      `libseccomp ${version} vs model: ${corpus.length} profiles, ${cases} cases, ${unexplained.length} unexplained; ` +
        `refused by both: ${refusals.agree} profiles (${refusals.hangs} never finish); ` +
        `same program size: ${sameSize} of ${sized} programs under 256 instructions. ` +
        `runc vs intent, by label: ${table}; refused ${labelledProfiles.get('refused') ?? 0} profiles. ` +
        `sysfence vs evaluate: ${oursChecked} cases, 0 mismatches`,
    );
    expect(unexplained.slice(0, 20)).toEqual([]);
    expect(sameSize).toBe(sized);
    // the corpus reaches every cause of difference (otherwise it proves less than it claims)
    for (const l of ['stub', 'unknown-name', 'no-number-load', 'precedence', 'libseccomp-bug'] as const)
      expect(labels.get(l) ?? 0, l).toBeGreaterThan(0);
    expect(labelledProfiles.get('refused') ?? 0).toBeGreaterThan(20);
    expect(refusals.hangs).toBeGreaterThan(0);
    expect(cases).toBeGreaterThan(1_000_000);
  });
});
