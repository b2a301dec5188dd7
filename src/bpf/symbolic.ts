/**
 * Every path of a seccomp filter for one (arch, nr), with the arguments left free: what each path
 * requires of the 32-bit words of seccomp_data it compares, and what it returns. Paths whose
 * requirements no value meets are dropped as they are found. With it, two filters (or a filter and
 * a profile's rules) are compared on all argument values, not on samples.
 *
 * The accumulator is tracked as a constant, a word of seccomp_data, or a word ANDed with a mask;
 * anything else a seccomp filter could do with it (arithmetic on arguments, X-relative loads, the
 * scratch memory) makes the analysis say `unsupported`, never guess.
 */
import type { Program } from './instruction.js';
import * as op from './opcodes.js';
import {
  ANY_WORD,
  inRange,
  maskedEqual,
  maskedNotEqual,
  meetWords,
  solveWord,
  type WordConstraint,
} from './word-constraints.js';

/** Per seccomp_data word offset (8, 12: instruction pointer; 16.. : arguments), its constraint. */
export type WordConstraints = ReadonlyMap<number, WordConstraint>;

export interface FilterPath {
  words: WordConstraints;
  ret: number;
}

export type PathsResult = { paths: FilterPath[] } | { unsupported: string };

type Acc =
  | { kind: 'const'; v: number }
  | { kind: 'word'; off: number }
  | { kind: 'masked'; off: number; mask: number };

const u32 = (x: number) => x >>> 0;

/** The constraints with `c` added on `off`, or undefined when nothing meets them. */
export function constrain(
  words: WordConstraints,
  off: number,
  c: WordConstraint | undefined,
): Map<number, WordConstraint> | undefined {
  if (!c) return undefined;
  const met = meetWords(words.get(off) ?? ANY_WORD, c);
  if (!met || solveWord(met) === undefined) return undefined;
  const out = new Map(words);
  out.set(off, met);
  return out;
}

/** What a jump on the accumulator requires of its word, when taken and when not. */
function branches(
  a: Acc,
  jop: number,
  k: number,
): [WordConstraint | undefined, WordConstraint | undefined] | boolean {
  if (a.kind === 'const') {
    switch (jop) {
      case op.BPF_JEQ:
        return a.v === k;
      case op.BPF_JGT:
        return a.v > k;
      case op.BPF_JGE:
        return a.v >= k;
      default:
        return u32(a.v & k) !== 0;
    }
  }
  // the word itself is the word ANDed with all ones
  const m = a.kind === 'word' ? 0xffffffff : a.mask;
  switch (jop) {
    case op.BPF_JEQ:
      return [maskedEqual(m, k), maskedNotEqual(m, k)];
    case op.BPF_JGT:
      return [k === 0xffffffff ? undefined : inRange(k + 1, 0xffffffff, m), inRange(0, k, m)];
    case op.BPF_JGE:
      return [inRange(k, 0xffffffff, m), k === 0 ? undefined : inRange(0, k - 1, m)];
    default: {
      const bits = u32(m & k);
      return [maskedNotEqual(bits, 0), maskedEqual(bits, 0)];
    }
  }
}

/**
 * The paths of `program` for a call with this arch and nr (both known), its arguments free.
 * `limit` bounds the paths explored (a filter of a few thousand instructions has far fewer).
 */
export function filterPaths(
  program: Program,
  call: { arch: number; nr: number },
  limit = 200_000,
): PathsResult {
  const paths: FilterPath[] = [];
  let explored = 0;
  const stack: { pc: number; a: Acc; words: WordConstraints }[] = [
    { pc: 0, a: { kind: 'const', v: 0 }, words: new Map() },
  ];
  while (stack.length > 0) {
    if (++explored > limit) return { unsupported: `more than ${limit} paths` };
    let { pc, a, words } = stack.pop()!;
    for (;;) {
      const i = program[pc];
      if (!i) return { unsupported: `execution falls off the program at ${pc}` };
      const cls = op.BPF_CLASS(i.code);
      const k = u32(i.k);
      if (cls === op.BPF_RET) {
        if (op.BPF_RVAL(i.code) !== op.BPF_K) return { unsupported: `return of the accumulator at ${pc}` };
        paths.push({ words, ret: k });
        break;
      }
      if (cls === op.BPF_LD) {
        const mode = op.BPF_MODE(i.code);
        if (mode === op.BPF_IMM) a = { kind: 'const', v: k };
        else if (mode === op.BPF_ABS && op.BPF_SIZE(i.code) === op.BPF_W) {
          if (k === op.SECCOMP_DATA_NR) a = { kind: 'const', v: u32(call.nr) };
          else if (k === op.SECCOMP_DATA_ARCH) a = { kind: 'const', v: u32(call.arch) };
          else if (k % 4 === 0 && k >= 8 && k < op.SECCOMP_DATA_SIZE) a = { kind: 'word', off: k };
          else return { unsupported: `load at ${k} (instruction ${pc})` };
        } else return { unsupported: `load mode 0x${i.code.toString(16)} at ${pc}` };
        pc++;
        continue;
      }
      if (cls === op.BPF_ALU && op.BPF_OP(i.code) === op.BPF_AND && op.BPF_SRC(i.code) === op.BPF_K) {
        if (a.kind === 'const') a = { kind: 'const', v: u32(a.v & k) };
        else a = { kind: 'masked', off: a.off, mask: u32((a.kind === 'masked' ? a.mask : 0xffffffff) & k) };
        pc++;
        continue;
      }
      if (cls === op.BPF_JMP) {
        const jop = op.BPF_OP(i.code);
        if (jop === op.BPF_JA) {
          pc = pc + 1 + k;
          continue;
        }
        if (op.BPF_SRC(i.code) !== op.BPF_K) return { unsupported: `jump on X at ${pc}` };
        const b = branches(a, jop, k);
        const taken = pc + 1 + i.jt;
        const not = pc + 1 + i.jf;
        if (typeof b === 'boolean') {
          pc = b ? taken : not;
          continue;
        }
        if (a.kind === 'const') return { unsupported: `jump at ${pc}` };
        const off = a.off;
        const t = constrain(words, off, b[0]);
        const f = constrain(words, off, b[1]);
        if (t && f) {
          stack.push({ pc: not, a, words: f });
          pc = taken;
          words = t;
        } else if (t) {
          pc = taken;
          words = t;
        } else if (f) {
          pc = not;
          words = f;
        } else break; // neither branch can be taken: the path ends here unmet
        continue;
      }
      return { unsupported: `instruction 0x${i.code.toString(16)} at ${pc}` };
    }
  }
  return { paths };
}

/** A seccomp_data argument vector meeting the constraints (free words 0). */
export function witnessArgs(words: WordConstraints, endian: 'little' | 'big'): bigint[] {
  const word = (off: number) => BigInt(solveWord(words.get(off) ?? ANY_WORD) ?? 0);
  return Array.from({ length: 6 }, (_, i) => {
    const first = word(op.SECCOMP_DATA_ARGS + 8 * i);
    const second = word(op.SECCOMP_DATA_ARGS + 8 * i + 4);
    return endian === 'little' ? (second << 32n) | first : (first << 32n) | second;
  });
}
