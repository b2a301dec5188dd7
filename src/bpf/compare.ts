/**
 * Two filter stacks compared on every call: for each (AUDIT_ARCH, syscall number) given, every path
 * of one against every path of the other, arguments free (bpf/symbolic.ts): where two paths give
 * different answers and some argument values take both, the stacks differ, and those values are the
 * witness. A stack is what the kernel runs: every filter, the strictest answer wins (KILL_PROCESS,
 * KILL_THREAD, TRAP, ERRNO, USER_NOTIF, TRACE, LOG, ALLOW), the one installed last among equals.
 */
import type { Program } from './instruction.js';
import { constrain, type FilterPath, filterPaths, type WordConstraints, witnessArgs } from './symbolic.js';

/** What one side answers for a call: a stack of programs, or a fixed answer (runc's stub, none). */
export type Answerer = (call: { arch: number; nr: number }) => { programs: Program[] } | { ret: number };

export interface StackDifference {
  arch: number;
  nr: number;
  args: bigint[];
  /** The two sides' return values for the witness. */
  left: number;
  right: number;
}

export type CompareResult = { differences: StackDifference[] } | { unsupported: string };

/** The kernel's order: the smaller signed action is the stricter (KILL_PROCESS is negative). */
const strictness = (ret: number) => (ret & 0xffff0000) | 0;

/** Every path of a stack: the conjunction of one path per filter, the strictest answer. */
function stackPaths(programs: readonly Program[], call: { arch: number; nr: number }): FilterPath[] | string {
  let combined: FilterPath[] = [{ words: new Map(), ret: 0x7fff0000 }];
  let first = true;
  for (const p of programs) {
    const r = filterPaths(p, call);
    if ('unsupported' in r) return r.unsupported;
    const next: FilterPath[] = [];
    for (const a of combined)
      for (const b of r.paths) {
        const words = meet(a.words, b.words);
        if (!words) continue;
        // filters run newest first: among equally strict answers the earlier one (newer) stays
        const ret = first || strictness(b.ret) < strictness(a.ret) ? b.ret : a.ret;
        next.push({ words, ret });
      }
    combined = next;
    first = false;
    if (combined.length > 50_000) return 'more than 50,000 paths through the stack';
  }
  return combined;
}

function meet(a: WordConstraints, b: WordConstraints): WordConstraints | undefined {
  let out: WordConstraints | undefined = a;
  for (const [off, c] of b) {
    if (!out) return undefined;
    out = constrain(out, off, c);
  }
  return out;
}

/**
 * Compares two sides on the given calls. `limit` bounds the differences collected (the first per
 * call is kept); `endian` is the byte order of the arguments' words.
 */
export function compareStacks(
  left: Answerer,
  right: Answerer,
  calls: Iterable<{ arch: number; nr: number }>,
  endian: 'little' | 'big',
  limit = 10_000,
): CompareResult {
  const differences: StackDifference[] = [];
  for (const call of calls) {
    const l = left(call);
    const r = right(call);
    const lp = 'ret' in l ? [{ words: new Map(), ret: l.ret } as FilterPath] : stackPaths(l.programs, call);
    const rp = 'ret' in r ? [{ words: new Map(), ret: r.ret } as FilterPath] : stackPaths(r.programs, call);
    if (typeof lp === 'string') return { unsupported: lp };
    if (typeof rp === 'string') return { unsupported: rp };
    found: for (const a of lp)
      for (const b of rp) {
        if (a.ret >>> 0 === b.ret >>> 0) continue;
        const words = meet(a.words, b.words);
        if (!words) continue;
        differences.push({
          ...call,
          args: witnessArgs(words, endian),
          left: a.ret >>> 0,
          right: b.ret >>> 0,
        });
        break found;
      }
    if (differences.length >= limit) break;
  }
  return { differences };
}
