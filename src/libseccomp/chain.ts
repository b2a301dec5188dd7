/**
 * One rule as libseccomp stores it before merging: its conditions in argument order, each turned
 * into 32-bit comparisons. On 64-bit ABIs (libseccomp's own diagrams in its db.c documentation):
 *
 *   a == v, a & m == v, a != v   hi(a) == hi(v), then lo(a) == lo(v)          (2 nodes)
 *   a > v, a >= v, a < v, a <= v hi(a) > hi(v); else hi(a) == hi(v), then     (3 nodes)
 *                                lo(a) > lo(v) (for > and <=) or lo(a) >= lo(v) (for >= and <)
 *
 * `!=`, `<` and `<=` take the other branches as "holds". On 32-bit ABIs (and x32) each condition is
 * one comparison of the low word (values are cut to 32 bits). A MASKED_EQ whose mask is 0 in the
 * compared width is left out. The branches that mean "the condition holds" lead to the next
 * condition's first node (shared by all of them) or, for the last condition, to the rule's action.
 */
import type { ArchDef } from '../arch/types.js';
import type { Operator } from '../profile/model.js';
import type { ArgNode, Cmp } from './tree.js';

export interface RawCondition {
  index: number;
  op: Operator;
  /** libseccomp's datum_a / datum_b: for MASKED_EQ the mask and the value, else the value. */
  a: bigint;
  b: bigint;
}

export interface NewRule {
  /** Head of the comparison graph, or null for a rule without conditions. */
  head: ArgNode | null;
  /** Nodes created (libseccomp's node count, which orders syscalls in the filter). */
  nodes: number;
}

const LO = 0xffffffffn;
const lo = (v: bigint) => Number(v & LO);
const hi = (v: bigint) => Number((v >> 32n) & LO);

function node(
  arch: ArchDef,
  arg: number,
  high: boolean,
  cmp: Cmp,
  orig: Operator,
  mask: number,
  datum: number,
  full: bigint,
): ArgNode {
  const base = 16 + 8 * arg;
  // the high word is at +4 on little-endian ABIs, at +0 on big-endian ones
  const offset = arch.endian === 'little' ? base + (high ? 4 : 0) : base + (high ? 0 : 4);
  return {
    arg,
    high,
    offset,
    cmp,
    orig,
    mask: mask >>> 0,
    datum: (datum & mask) >>> 0,
    full,
    onTrue: null,
    onFalse: null,
    tFlag: false,
    tAct: 0,
    fFlag: false,
    fAct: 0,
    prev: null,
    next: null,
    refs: 0,
    freed: false,
  };
}

const holdsOnFalse = (op: Operator) => op === 'SCMP_CMP_NE' || op === 'SCMP_CMP_LT' || op === 'SCMP_CMP_LE';

/** The comparison graph of one rule (conditions with distinct indices) on one ABI. */
export function buildRule(arch: ArchDef, conditions: readonly RawCondition[], action: number): NewRule {
  const byIndex = [...conditions].sort((x, y) => x.index - y.index);
  // the places that lead on when a condition holds: [node, branch] pairs
  let open: Array<[ArgNode, 't' | 'f']> = [];
  let head: ArgNode | null = null;
  let nodes = 0;
  const link = (first: ArgNode) => {
    if (!head) {
      head = first;
      first.refs++;
    }
    for (const [n, side] of open) {
      if (side === 't') n.onTrue = first;
      else n.onFalse = first;
      first.refs++;
    }
  };
  for (const c of byIndex) {
    const isMasked = c.op === 'SCMP_CMP_MASKED_EQ';
    const mask = isMasked ? c.a : (1n << 64n) - 1n;
    const datum = isMasked ? c.b : c.a;
    if (arch.argBits === 32) {
      if (isMasked && lo(mask) === 0) continue;
      const cmp: Cmp =
        c.op === 'SCMP_CMP_NE' || c.op === 'SCMP_CMP_EQ'
          ? 'EQ'
          : c.op === 'SCMP_CMP_LT' || c.op === 'SCMP_CMP_GE'
            ? 'GE'
            : c.op === 'SCMP_CMP_LE' || c.op === 'SCMP_CMP_GT'
              ? 'GT'
              : 'MASKED_EQ';
      const n = node(arch, c.index, false, cmp, c.op, lo(mask), lo(datum), datum);
      link(n);
      nodes++;
      open = [[n, holdsOnFalse(c.op) ? 'f' : 't']];
      continue;
    }
    if (isMasked && lo(mask) === 0 && hi(mask) === 0) continue;
    switch (c.op) {
      case 'SCMP_CMP_GT':
      case 'SCMP_CMP_GE':
      case 'SCMP_CMP_LT':
      case 'SCMP_CMP_LE': {
        const lowCmp: Cmp = c.op === 'SCMP_CMP_GT' || c.op === 'SCMP_CMP_LE' ? 'GT' : 'GE';
        const h1 = node(arch, c.index, true, 'GT', c.op, hi(mask), hi(datum), datum);
        const h2 = node(arch, c.index, true, 'EQ', c.op, hi(mask), hi(datum), datum);
        const l = node(arch, c.index, false, lowCmp, c.op, lo(mask), lo(datum), datum);
        h1.onFalse = h2;
        h2.refs++;
        h2.onTrue = l;
        l.refs++;
        link(h1);
        nodes += 3;
        open =
          c.op === 'SCMP_CMP_GT' || c.op === 'SCMP_CMP_GE'
            ? [
                [h1, 't'],
                [l, 't'],
              ]
            : [
                [h2, 'f'],
                [l, 'f'],
              ];
        break;
      }
      default: {
        const cmp: Cmp = isMasked ? 'MASKED_EQ' : 'EQ';
        const h = node(arch, c.index, true, cmp, c.op, hi(mask), hi(datum), datum);
        const l = node(arch, c.index, false, cmp, c.op, lo(mask), lo(datum), datum);
        h.onTrue = l;
        l.refs++;
        link(h);
        nodes += 2;
        open =
          c.op === 'SCMP_CMP_NE'
            ? [
                [h, 'f'],
                [l, 'f'],
              ]
            : [[l, 't']];
      }
    }
  }
  for (const [n, side] of open) {
    if (side === 't') {
      n.tFlag = true;
      n.tAct = action;
    } else {
      n.fFlag = true;
      n.fAct = action;
    }
  }
  return { head, nodes };
}
