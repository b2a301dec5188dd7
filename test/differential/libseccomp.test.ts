// Differential test against libseccomp (the oracle): Docker's and Podman's defaults and 300 seeded
// random profiles are compiled by libseccomp (as runc would) and by sysfence; both programs run
// through the emulator on the same case set and are compared with evaluate().
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCH_DEFS } from '../../src/arch/defs.js';
import { syscallTable } from '../../src/arch/tables.js';
import { emulate } from '../../src/bpf/emulate.js';
import type { Instruction } from '../../src/bpf/instruction.js';
import type { Case } from '../../src/compiler/cases.js';
import { compile } from '../../src/compiler/compile.js';
import { buildWithLibseccomp, compareWithLibseccomp } from '../../src/compiler/libseccomp.js';
import { actionOfRet } from '../../src/compiler/ret.js';
import { verifyProgram } from '../../src/compiler/verify.js';
import { evaluateData } from '../../src/profile/evaluate.js';
import type { Profile } from '../../src/profile/model.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { abiDomains, auditGroups, buildPolicy } from '../../src/profile/policy.js';
import { resolve } from '../../src/profile/resolve.js';
import { randomProfile } from '../helpers/random-profiles.js';
import { SHARED } from '../helpers/schemas.js';
import { havePythonSeccomp, requirement } from '../helpers/tools.js';

const skip = requirement(havePythonSeccomp(), "Debian's python3-seccomp (libseccomp oracle)");
const SEEDS = 300;
const opts = { nativeArch: 'x86_64' as const };

describe.skipIf(skip !== undefined)('sysfence vs libseccomp', () => {
  const named: [string, Profile][] = ['docker-default', 'podman-default'].map((f) => [
    f,
    resolve(parseDockerProfile(readFileSync(join(SHARED, 'profiles', `${f}.json`), 'utf8')).profile!, {
      arch: 'x86_64',
      kernelVersion: '6.1',
    }),
  ]);
  const random: [string, Profile][] = Array.from({ length: SEEDS }, (_, i) => [
    `seed ${i + 1}`,
    randomProfile(i + 1),
  ]);
  const all = [...named, ...random];

  it(`0 unexplained differences on Docker's and Podman's defaults and ${SEEDS} random profiles`, () => {
    const lib = buildWithLibseccomp(all.map(([, profile]) => ({ profile })));
    let cases = 0;
    let oursChecked = 0;
    const explained = new Map<string, number>();
    const refused: string[] = [];
    // disagreements not explained by name, grouped by (profile, arch, nr) for the rule-by-rule check
    const groups = new Map<string, { i: number; c: Case; expected: string; got: string; count: number }>();
    all.forEach(([name, profile], i) => {
      const res = lib.results[i]!;
      const ours = compile(profile, opts);
      const v = verifyProgram(profile, ours.instructions, opts);
      oursChecked += v.cases;
      expect(v.mismatches, `${name}: sysfence vs evaluate`).toEqual([]);
      if (!res.program) {
        refused.push(`${name}: ${res.error}`);
        return;
      }
      const d = compareWithLibseccomp(profile, res.program, res.skipped, opts);
      cases += d.cases;
      for (const x of d.disagreements) {
        if (x.explained) {
          explained.set(x.explained, (explained.get(x.explained) ?? 0) + 1);
          continue;
        }
        const key = `${i}:${x.case.arch}:${x.case.nr}`;
        const g = groups.get(key);
        if (g) g.count++;
        else groups.set(key, { i, c: x.case, expected: fmt(x.expected), got: fmt(x.libseccomp), count: 1 });
      }
    });
    // Evidence for libseccomp's bug: each rule of the syscall alone, built by libseccomp, agrees
    // with evaluate; all of them together (same action, so a plain OR) do not.
    const checks = [...groups.values()].map((g) => {
      const [, profile] = all[g.i]!;
      const abi = abiOf(profile, g.c);
      const sysName = abi ? syscallTable(abi).name(g.c.nr >>> 0) : undefined;
      // on a multiplexer (socketcall/ipc) the rules of the call selected by argument 0 count too
      const mux = abi?.multiplexers.find((m) => m.syscall === sysName);
      const sub = Number((g.c.args[0] ?? 0n) & 0xffffffffn);
      const names = new Set([
        sysName,
        ...Object.entries(mux?.calls ?? {})
          .filter(([, v]) => v === sub)
          .map(([n]) => n),
      ]);
      const rules = (profile.syscalls ?? []).filter((r) => (r.names ?? []).some((n) => names.has(n)));
      // the rules as libseccomp receives them: runc splits a rule that repeats an index
      const split = rules.flatMap((r) => {
        const idx = (r.args ?? []).map((a) => a.index);
        return new Set(idx).size < idx.length ? (r.args ?? []).map((a) => ({ ...r, args: [a] })) : [r];
      });
      return { g, singles: split.map((r) => ({ ...profile, syscalls: [r] })), multiplexed: !abi };
    });
    const singleBuilds = buildWithLibseccomp(
      checks.flatMap((k) => k.singles.map((profile) => ({ profile }))),
    ).results;
    let at = 0;
    const unexplained: string[] = [];
    let bugCases = 0;
    for (const k of checks) {
      const builds = singleBuilds.slice(at, at + k.singles.length);
      at += k.singles.length;
      if (comparesArchAsNr(lib.results[k.g.i]!.program!, k.g.c)) {
        explained.set(LIBSECCOMP_LOAD_BUG, (explained.get(LIBSECCOMP_LOAD_BUG) ?? 0) + k.g.count);
        continue;
      }
      const eachRight =
        !k.multiplexed &&
        k.singles.length > 1 &&
        k.singles.every((sp, j) => {
          const prog = builds[j]!.program;
          return (
            prog !== undefined &&
            fmt(actionOfRet(emulate(prog, k.g.c).ret)) === fmt(evaluateData(sp, k.g.c, opts))
          );
        });
      if (eachRight) bugCases += k.g.count;
      else
        unexplained.push(
          `${all[k.g.i]![0]}: arch 0x${k.g.c.arch.toString(16)} nr ${k.g.c.nr} args ${k.g.c.args.join(',')}: libseccomp ${k.g.got} vs ${k.g.expected} (${k.g.count} cases)`,
        );
    }
    if (bugCases > 0) explained.set(LIBSECCOMP_OR_BUG, bugCases);
    console.log(
      `libseccomp ${lib.version}: ${all.length} profiles, ${cases} cases compared, ${unexplained.length} unexplained; explained: ` +
        [...explained].map(([why, n]) => `${n} x ${why}`).join('; ') +
        `; sysfence vs evaluate: ${oursChecked} cases, 0 mismatches`,
    );
    expect(refused).toEqual([]);
    expect(unexplained.slice(0, 20)).toEqual([]);
    expect(cases).toBeGreaterThan(SEEDS * 1000);
  });
});

const LIBSECCOMP_OR_BUG =
  'libseccomp bug: ORed rules comparing one 64-bit argument are merged wrongly (each rule alone is right, together wrong; see docs/compiler.md)';

const LIBSECCOMP_LOAD_BUG =
  'libseccomp bug: the second architecture compares the arch word as if it were the syscall number (a missing `ld [0]`; see docs/compiler.md)';

/** True when the program's path for this case compares the arch word (last loaded from offset 4) with a non-AUDIT_ARCH constant. */
function comparesArchAsNr(prog: Instruction[], c: Case): boolean {
  const audit = new Set(ARCH_DEFS.map((a) => a.auditArch));
  let found = false;
  emulate(prog, c, 'little', (pc, _a, last) => {
    const i = prog[pc]!;
    if ((i.code & 0x07) === 0x05 && (i.code & 0xf0) !== 0 && last === 4 && !audit.has(i.k >>> 0))
      found = true;
  });
  return found;
}

function fmt(a: { kind: string; data: number }): string {
  return a.kind === 'ERRNO' || a.kind === 'TRACE' ? `${a.kind}(${a.data})` : a.kind;
}

function abiOf(profile: Profile, c: Case) {
  const policy = buildPolicy(profile, opts);
  const group = auditGroups(policy).find((g) => g[0]!.auditArch === c.arch);
  return group ? abiDomains(group).find((d) => c.nr >>> 0 >= d.start && c.nr >>> 0 <= d.end)?.abi : undefined;
}
