/**
 * verify: emulate(compile(p)) must equal evaluate(p) on every case of verificationCases().
 */
import { emulate } from '../bpf/emulate.js';
import type { Program } from '../bpf/instruction.js';
import type { Action } from '../profile/actions.js';
import { type EvaluateOptions, evaluateData } from '../profile/evaluate.js';
import type { Profile } from '../profile/model.js';
import { buildPolicy, type PolicyOptions } from '../profile/policy.js';
import { type Case, verificationCases } from './cases.js';
import { actionOfRet } from './ret.js';

export interface Mismatch {
  case: Case;
  expected: Action;
  got: Action;
}

export interface VerifyResult {
  cases: number;
  mismatches: Mismatch[];
}

/** Checks a program against the profile's reference semantics. Stops collecting after `limit` mismatches. */
export function verifyProgram(
  profile: Profile,
  program: Program,
  opts: EvaluateOptions & PolicyOptions,
  limit = 20,
): VerifyResult {
  const policy = buildPolicy(profile, opts);
  const endianOf = new Map(policy.arches.map((a) => [a.auditArch, a.endian]));
  let cases = 0;
  const mismatches: Mismatch[] = [];
  for (const c of verificationCases(policy)) {
    cases++;
    const expected = evaluateData(profile, c, opts);
    const got = actionOfRet(emulate(program, c, endianOf.get(c.arch) ?? 'little').ret);
    if (got.kind !== expected.kind || got.data !== expected.data) {
      if (mismatches.length < limit)
        mismatches.push({ case: c, expected: { kind: expected.kind, data: expected.data }, got });
    }
  }
  return { cases, mismatches };
}
