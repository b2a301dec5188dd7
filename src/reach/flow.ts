/**
 * The constant propagation both decoders run over a function's blocks, with values packed into
 * numbers so that a state is a number[]: UNKNOWN (-1), a register's entry value (ENTRY - r),
 * a constant 0 <= c < 2^52 as itself, and anything else (negative constants, sets of up to
 * MAX_CONSTANTS constants) as an index into an interning table (SETS - i).
 */
import type { Value } from './summary.js';

export const UNKNOWN = -1;
const ENTRY = -2; // ENTRY - r for r in 0..63
const SETS = -100; // SETS - i
export const MAX_CONSTANTS = 8;

export class Values {
  private readonly sets: number[][] = [];
  private readonly index = new Map<string, number>();
  entry(r: number): number {
    return ENTRY - r;
  }
  isEntry(v: number): boolean {
    return v <= ENTRY && v > SETS;
  }
  entryOf(v: number): number {
    return ENTRY - v;
  }
  constant(c: number): number {
    return c >= 0 && c < 2 ** 52 && Number.isInteger(c) ? c : this.set([c]);
  }
  set(cs: number[]): number {
    if (cs.length === 1 && (cs[0] as number) >= 0 && (cs[0] as number) < 2 ** 52) return cs[0] as number;
    const key = cs.join(',');
    let i = this.index.get(key);
    if (i === undefined) {
      i = this.sets.length;
      this.sets.push(cs);
      this.index.set(key, i);
    }
    return SETS - i;
  }
  /** The constants a value stands for (undefined: not constants). */
  constants(v: number): number[] | undefined {
    if (v >= 0) return [v];
    if (v <= SETS) return this.sets[SETS - v];
    return undefined;
  }
  join(a: number, b: number): number {
    if (a === b) return a;
    if (a === UNKNOWN || b === UNKNOWN || this.isEntry(a) || this.isEntry(b)) return UNKNOWN;
    if (a >= 0 && b >= 0) return this.set(a < b ? [a, b] : [b, a]);
    const u = [...new Set([...(this.constants(a) as number[]), ...(this.constants(b) as number[])])].sort(
      (x, y) => x - y,
    );
    return u.length <= MAX_CONSTANTS ? this.set(u) : UNKNOWN;
  }
  /** A value in the summary's (serialisable) form. */
  toValue(v: number): Value | undefined {
    if (v === UNKNOWN) return undefined;
    if (this.isEntry(v)) return { e: this.entryOf(v) };
    return { c: this.constants(v) as number[] };
  }
}

/**
 * A forward data-flow over a function's blocks to a fixpoint. `transfer` runs a block from its
 * entry state (which it may change) and returns its successors with the state leaving towards
 * each. Blocks no known edge reaches (after a jump table, or code only a call that does not
 * return reaches) start from `unreached()`. Returns each block's entry state.
 */
export function solve(
  blocks: number,
  entry: number[],
  values: Values,
  transfer: (block: number, state: number[]) => [number, number[]][],
  unreached: () => number[],
): number[][] {
  const input: (number[] | undefined)[] = new Array(blocks).fill(undefined);
  input[0] = entry;
  const queued = new Uint8Array(blocks);
  const work: number[] = [0];
  queued[0] = 1;
  const run = (): void => {
    while (work.length > 0) {
      const b = work.pop() as number;
      queued[b] = 0;
      for (const [succ, out] of transfer(b, (input[b] as number[]).slice())) {
        const had = input[succ];
        if (had === undefined) input[succ] = out;
        else {
          let changed = false;
          for (let i = 0; i < had.length; i++) {
            const j = values.join(had[i] as number, out[i] as number);
            if (j !== had[i]) {
              had[i] = j;
              changed = true;
            }
          }
          if (!changed) continue;
        }
        if (!queued[succ]) {
          queued[succ] = 1;
          work.push(succ);
        }
      }
    }
  };
  run();
  for (let b = 0; b < blocks; b++)
    if (input[b] === undefined) {
      input[b] = unreached();
      queued[b] = 1;
      work.push(b);
      run();
    }
  return input as number[][];
}

/**
 * A fixpoint over callers: whenever a function learns something, each call of it gets
 * `step(callee, caller, call index)`, which moves it to the caller and says whether the caller
 * learned anything; every function is visited at least once. `callers[g]`: [caller, call index].
 */
export function propagateToCallers(
  callers: readonly (readonly [number, number][])[],
  step: (callee: number, caller: number, call: number) => boolean,
): void {
  const work = callers.map((_, i) => i);
  const queued = new Uint8Array(callers.length).fill(1);
  while (work.length > 0) {
    const g = work.pop() as number;
    queued[g] = 0;
    for (const [fi, ci] of callers[g] as [number, number][]) {
      if (!step(g, fi, ci) || queued[fi]) continue;
      queued[fi] = 1;
      work.push(fi);
    }
  }
}
