/**
 * The exact decision: for one syscall with argument rules, whether libseccomp's filter (as the
 * model builds it) answers any argument values otherwise than the profile intends, with a witness
 * call when it does. Every path of the filter (bpf/symbolic.ts) is set against every region of the
 * profile's rules (the first matching rule decides; a rule is passed when one of its conditions
 * fails): a path and a region with different actions whose word constraints a value meets are a
 * difference. Nothing is sampled, so impossible conditions (GT 2^64-1), full ranges and rules far
 * apart in the argument space cannot hide a difference from lint.
 */
import type { ArchDef } from '../arch/types.js';
import { constrain, filterPaths, type WordConstraints, witnessArgs } from '../bpf/symbolic.js';
import {
  inRange,
  maskedEqual,
  maskedNotEqual,
  type WordConstraint,
  WordSearchBudget,
} from '../bpf/word-constraints.js';
import { actionOfRet } from '../compiler/ret.js';
import { modelProgram, runModel } from '../libseccomp/run.js';
import { type Action, sameAction } from '../profile/actions.js';
import { evaluateData } from '../profile/evaluate.js';
import type { Condition } from '../profile/policy.js';
import type { RuntimeFilter } from './verdict.js';

/** One way a condition holds (or fails): constraints on some words, all at once. */
type Conjunct = [offset: number, c: WordConstraint | undefined][];

const hiLo = (v: bigint) => [Number((v >> 32n) & 0xffffffffn), Number(v & 0xffffffffn)] as const;
const eq = (k: number): WordConstraint | undefined => maskedEqual(0xffffffff, k);
const ne = (k: number): WordConstraint => maskedNotEqual(0xffffffff, k);
const below = (k: number): WordConstraint | undefined => (k === 0 ? undefined : inRange(0, k - 1));
const above = (k: number): WordConstraint | undefined =>
  k === 0xffffffff ? undefined : inRange(k + 1, 0xffffffff);
const atMost = (k: number): WordConstraint | undefined => inRange(0, k);
const atLeast = (k: number): WordConstraint | undefined => inRange(k, 0xffffffff);

/**
 * The ways `c` holds (`negate`: fails) over the argument's words: on a 64-bit ABI a comparison
 * decides on the high word, or on the low word when the high words are equal; on a 32-bit ABI
 * only the low word counts (the value is already cut to 32 bits).
 */
function ways(c: Condition, abi: ArchDef, negate: boolean): Conjunct[] {
  const base = 16 + 8 * c.index;
  const L = abi.endian === 'little' ? base : base + 4;
  const H = abi.endian === 'little' ? base + 4 : base;
  const wide = abi.argBits === 64;
  const [vh, vl] = hiLo(c.value);
  const opOf = negate
    ? (
        {
          SCMP_CMP_EQ: 'SCMP_CMP_NE',
          SCMP_CMP_NE: 'SCMP_CMP_EQ',
          SCMP_CMP_LT: 'SCMP_CMP_GE',
          SCMP_CMP_GE: 'SCMP_CMP_LT',
          SCMP_CMP_LE: 'SCMP_CMP_GT',
          SCMP_CMP_GT: 'SCMP_CMP_LE',
          SCMP_CMP_MASKED_EQ: 'MASKED_NE',
        } as const
      )[c.op]
    : c.op;
  // a 32-bit ABI compares its 32-bit argument with the (cut) value: the high word plays no part
  const cmp = (
    lowOnly: (k: number) => WordConstraint | undefined,
    hiStrict: (k: number) => WordConstraint | undefined,
    lowTie: (k: number) => WordConstraint | undefined,
  ): Conjunct[] =>
    wide
      ? [
          [[H, hiStrict(vh)]],
          [
            [H, eq(vh)],
            [L, lowTie(vl)],
          ],
        ]
      : vh !== 0
        ? [] // cannot happen: values are cut to the width
        : [[[L, lowOnly(vl)]]];
  switch (opOf) {
    case 'SCMP_CMP_EQ':
      return wide
        ? [
            [
              [H, eq(vh)],
              [L, eq(vl)],
            ],
          ]
        : [[[L, eq(vl)]]];
    case 'SCMP_CMP_NE':
      return wide
        ? [
            [[H, ne(vh)]],
            [
              [H, eq(vh)],
              [L, ne(vl)],
            ],
          ]
        : [[[L, ne(vl)]]];
    case 'SCMP_CMP_LT':
      return cmp(below, below, below);
    case 'SCMP_CMP_LE':
      return cmp(atMost, below, atMost);
    case 'SCMP_CMP_GT':
      return cmp(above, above, above);
    case 'SCMP_CMP_GE':
      return cmp(atLeast, above, atLeast);
    case 'SCMP_CMP_MASKED_EQ': {
      const [mh, ml] = hiLo(c.value);
      const [th, tl] = hiLo(c.valueTwo & c.value);
      return wide
        ? [
            [
              [H, maskedEqual(mh, th)],
              [L, maskedEqual(ml, tl)],
            ],
          ]
        : [[[L, maskedEqual(ml, tl)]]];
    }
    case 'MASKED_NE': {
      const [mh, ml] = hiLo(c.value);
      const [th, tl] = hiLo(c.valueTwo & c.value);
      const neq = maskedNotEqual;
      return wide ? [[[H, neq(mh, th)]], [[L, neq(ml, tl)]]] : [[[L, neq(ml, tl)]]];
    }
  }
}

function apply(words: WordConstraints, conj: Conjunct): WordConstraints | undefined {
  let w: WordConstraints | undefined = words;
  for (const [off, c] of conj) {
    if (!w) return undefined;
    w = constrain(w, off, c);
  }
  return w;
}

export type ExactAnswer =
  | { differs: false }
  | { differs: true; args: bigint[]; runtime: Action; intent: Action }
  | { unsupported: string };

/** Budget of constraint steps per syscall: past it the answer is `unsupported`, never a guess. */
const BUDGET = 2_000_000;

/**
 * Whether libseccomp's filter (as modelled) answers some argument values of (abi, nr) otherwise
 * than the profile's rules intend; a witness when it does. `rf` must model libseccomp (runc, crun).
 * `allowance`, when given, is a step count shared by several decisions (a search that tries many
 * candidates): each step uses one, and when none is left the answer is `unsupported`.
 */
export function exactDifference(
  rf: RuntimeFilter,
  abi: ArchDef,
  nr: number,
  allowance?: { steps: number },
): ExactAnswer {
  if (!rf.filter) return { differs: false };
  const ap = rf.policy.byArch.get(abi.id);
  if (!ap) return { differs: false };
  const s = ap.syscalls.get(nr);
  // a fixed verdict (an unconditional rule, or none: the default) is a single region
  const fixed = s?.unconditional?.action ?? (s && s.conditional.length > 0 ? undefined : ap.defaultAction);
  const program = modelProgram(rf.filter).instructions;
  const endian = rf.filter.native.endian;
  let paths: ReturnType<typeof filterPaths>;
  try {
    paths = filterPaths(program, { arch: abi.auditArch, nr });
  } catch (e) {
    if (e instanceof WordSearchBudget) return { unsupported: 'a word constraint too hard to settle' };
    throw e;
  }
  if ('unsupported' in paths) return { unsupported: `libseccomp's filter: ${paths.unsupported}` };
  const rules = fixed ? [] : s!.conditional;
  const otherwise = fixed ?? ap.defaultAction;
  let steps = 0;
  // the regions of the intent, in order: rule r decides where its conditions hold and every
  // earlier rule fails (one of its conditions fails); the default where every rule fails. Rule r
  // holding is applied first: a region the path cannot meet is then left at once, not after
  // trying every way the earlier rules can fail.
  const tick = () => {
    if (++steps > BUDGET) throw new Budget();
    if (allowance && --allowance.steps < 0) throw new Budget();
  };
  const holdAll = (
    w: WordConstraints,
    r: number,
    k: number,
    then: (w: WordConstraints) => WordConstraints | undefined,
  ): WordConstraints | undefined => {
    tick();
    const conds = rules[r]!.conditions;
    if (k === conds.length) return then(w);
    for (const way of ways(conds[k]!, abi, false)) {
      const next = apply(w, way);
      if (!next) continue;
      const found = holdAll(next, r, k + 1, then);
      if (found) return found;
    }
    return undefined;
  };
  // rules i..upTo-1 fail: one of each one's conditions fails, one way
  const failFrom = (words: WordConstraints, i: number, upTo: number): WordConstraints | undefined => {
    tick();
    if (i === upTo) return words;
    for (const c of rules[i]!.conditions)
      for (const way of ways(c, abi, true)) {
        const next = apply(words, way);
        if (!next) continue;
        const found = failFrom(next, i + 1, upTo);
        if (found) return found;
      }
    return undefined;
  };
  const search = (words: WordConstraints, upTo: number): WordConstraints | undefined =>
    upTo === rules.length
      ? failFrom(words, 0, upTo)
      : holdAll(words, upTo, 0, (held) => failFrom(held, 0, upTo));
  try {
    for (const p of paths.paths) {
      const runtime = actionOfRet(p.ret);
      for (let r = 0; r <= rules.length; r++) {
        const intent = r < rules.length ? rules[r]!.action : otherwise;
        if (sameAction(intent, runtime)) continue;
        const w = search(p.words, r);
        if (!w) continue;
        const args = witnessArgs(w, endian);
        // the witness, run through both: it must show the difference (else the analysis is wrong)
        const call = { arch: abi.auditArch, nr, args };
        const got = actionOfRet(runModel(rf.filter, call).ret);
        const want = evaluateData(rf.profile, call, {
          nativeArch: rf.target.native,
          badArchAction: 'KILL_THREAD',
        });
        if (sameAction(got, want))
          return {
            unsupported: `a witness the analysis found does not show a difference (${args.join(', ')})`,
          };
        return { differs: true, args, runtime: got, intent: { kind: want.kind, data: want.data } };
      }
    }
  } catch (e) {
    if (e instanceof Budget)
      return {
        unsupported:
          allowance && allowance.steps < 0
            ? "the search's constraint steps are used up"
            : `more than ${BUDGET} constraint steps`,
      };
    if (e instanceof WordSearchBudget) return { unsupported: 'a word constraint too hard to settle' };
    throw e;
  }
  return { differs: false };
}

class Budget extends Error {}
