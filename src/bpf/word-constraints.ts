/**
 * Constraints on one 32-bit word of seccomp_data, as a filter's comparisons make them: ranges of
 * the word or of `word & mask` (jgt, jge; libseccomp's stale accumulator compares a masked word
 * with a range), bits fixed to values (jeq on the word or on `word & mask`, jset false), and
 * values or masked values it must not have (jeq false, jset true). `solveWord` finds a value that
 * meets them all or proves none does, by a search over the bits from the top with every
 * constraint's bounds checked at each step: exact, so a difference between two filters is found
 * whenever one exists, not only when a sampled argument happens to show it.
 */

export interface WordConstraint {
  /** `lo <= (word & mask) <= hi` for each entry (mask 0xffffffff: the word itself). */
  ranges: readonly (readonly [mask: number, lo: number, hi: number])[];
  /** Bits whose value is fixed, and those values. */
  fixedMask: number;
  fixedBits: number;
  /** `(word & mask) != value` for each entry. */
  notEqual: readonly (readonly [mask: number, value: number])[];
}

export const ANY_WORD: WordConstraint = { ranges: [], fixedMask: 0, fixedBits: 0, notEqual: [] };

const u32 = (x: number) => x >>> 0;
const FULL = 0xffffffff;

/** `lo <= (word & mask) <= hi`. */
export const inRange = (lo: number, hi: number, mask = FULL): WordConstraint | undefined =>
  lo > hi ? undefined : { ...ANY_WORD, ranges: [[u32(mask), u32(lo), u32(hi)]] };

/** `(word & mask) == value` (undefined when value has bits outside the mask: nothing matches). */
export function maskedEqual(mask: number, value: number): WordConstraint | undefined {
  if (u32(value & ~mask) !== 0) return undefined;
  return { ...ANY_WORD, fixedMask: u32(mask), fixedBits: u32(value) };
}

/** `(word & mask) != value`. */
export const maskedNotEqual = (mask: number, value: number): WordConstraint => ({
  ...ANY_WORD,
  notEqual: [[u32(mask), u32(value)]],
});

/** Both constraints at once, or undefined when their fixed bits disagree. */
export function meetWords(a: WordConstraint, b: WordConstraint): WordConstraint | undefined {
  const both = u32(a.fixedMask & b.fixedMask);
  if (u32(a.fixedBits & both) !== u32(b.fixedBits & both)) return undefined;
  // ranges on the same mask meet into one
  const ranges = new Map<number, [number, number]>();
  for (const [m, lo, hi] of [...a.ranges, ...b.ranges]) {
    const r = ranges.get(m);
    const next: [number, number] = r ? [Math.max(r[0], lo), Math.min(r[1], hi)] : [lo, hi];
    if (next[0] > next[1]) return undefined;
    ranges.set(m, next);
  }
  return {
    ranges: [...ranges].map(([m, [lo, hi]]) => [m, lo, hi] as const),
    fixedMask: u32(a.fixedMask | b.fixedMask),
    fixedBits: u32(a.fixedBits | b.fixedBits),
    notEqual: [...a.notEqual, ...b.notEqual],
  };
}

/** The search gave up (see solveWord's `budget`): the constraint is undecided, not unmet. */
export class WordSearchBudget extends Error {}

/**
 * A value meeting the constraint, or undefined when none does. The search assigns bits from the
 * top; fixed bits count as known from the start, a bit no open constraint looks at is set to 0
 * without branching, and past `budget` steps it throws WordSearchBudget rather than guess.
 */
export function solveWord(c: WordConstraint, budget = 100_000): number | undefined {
  const ranges = c.ranges;
  const notEqual = c.notEqual.filter(([m, v]) => u32(v & ~m) === 0); // others always hold
  const rangeBits = ranges.reduce((acc, [m]) => u32(acc | m), 0);
  let steps = 0;
  const search = (i: number, assigned: number, val: number): number | undefined => {
    if (++steps > budget) throw new WordSearchBudget();
    const known = u32(assigned | c.fixedMask);
    const kval = u32(val | (c.fixedBits & ~assigned));
    const open = u32(~known);
    for (const [m, lo, hi] of ranges) {
      const min = u32(kval & m);
      const max = u32(min | (m & open));
      if (max < lo || min > hi) return undefined;
    }
    // the not-equals some unknown bit can still satisfy (the others hold already, or fail now)
    let watched = 0;
    for (const [m, v] of notEqual) {
      if (u32(kval & m & known) !== u32(v & known)) continue; // a known bit differs: holds
      if (u32(m & open) === 0) return undefined; // every bit known and equal: fails
      watched = u32(watched | m);
    }
    if (i < 0) return kval;
    const bit = u32(2 ** i);
    const withBit = u32(assigned | bit);
    if (u32(c.fixedMask & bit) !== 0) return search(i - 1, withBit, u32(val | (c.fixedBits & bit)));
    // a bit neither a range nor an open not-equal looks at: any value does, take 0
    if (u32((rangeBits | watched) & bit) === 0) return search(i - 1, withBit, val);
    return search(i - 1, withBit, val) ?? search(i - 1, withBit, u32(val | bit));
  };
  return search(31, 0, 0);
}
