/**
 * libseccomp's per-syscall rule database, modelled: how the argument rules of one syscall are kept
 * as a graph of 32-bit comparisons, and what adding one more rule does to it. Written from
 * libseccomp's documented behaviour and from measurements of its output (python3-seccomp), and held
 * to the real library by test/differential/libseccomp-model.test.ts; it is sysfence's own code.
 *
 * The graph: a *level* is a list of sibling comparisons, kept in a fixed order (see `nodeBefore`);
 * each comparison leads, when it holds and when it does not, to an action, to another level, or to
 * nothing ("try the next sibling"). Nodes can be reachable from several parents (a range condition
 * leads from two of its comparisons to the same next level), so a change made through one parent is
 * seen through every other: that sharing, the reference counting that decides when a node goes
 * away, and the order of siblings are what make libseccomp's answer differ from a profile's intent
 * in some unions of rules, so they are kept exactly.
 */
import type { Operator } from '../profile/model.js';

/** The comparison a node makes on one 32-bit word (LT/LE/NE are expressed by swapping branches). */
export type Cmp = 'EQ' | 'GT' | 'GE' | 'MASKED_EQ';

export interface ArgNode {
  /** Argument index and which half of it (the high word only on 64-bit ABIs). */
  arg: number;
  high: boolean;
  /** seccomp_data offset of the word compared. */
  offset: number;
  cmp: Cmp;
  /** The profile's operator this node came from (it orders siblings). */
  orig: Operator;
  mask: number;
  datum: number;
  /** The condition's whole 64-bit value (libseccomp consults it in one merge case). */
  full: bigint;
  onTrue: ArgNode | null;
  onFalse: ArgNode | null;
  /**
   * The branches' own actions (seccomp return values). A value counts only with its flag set, but
   * libseccomp compares and overwrites values also where the flag is clear, so both are kept.
   */
  tFlag: boolean;
  tAct: number;
  fFlag: boolean;
  fAct: number;
  prev: ArgNode | null;
  next: ArgNode | null;
  refs: number;
  freed: boolean;
}

/** A place that holds a pointer to a node: a parent's branch, an entry's head, a local. */
export interface Slot {
  get(): ArgNode | null;
  set(n: ArgNode | null): void;
}

export const local = (n: ArgNode | null): Slot => {
  let v = n;
  return {
    get: () => v,
    set: (x) => {
      v = x;
    },
  };
};
export const trueSlot = (n: ArgNode): Slot => ({
  get: () => n.onTrue,
  set: (x) => {
    n.onTrue = x;
  },
});
export const falseSlot = (n: ArgNode): Slot => ({
  get: () => n.onFalse,
  set: (x) => {
    n.onFalse = x;
  },
});

/** libseccomp refuses a rule (runc then refuses to start the container). */
export class RuleConflict extends Error {
  constructor(readonly reason: 'EEXIST' | 'LOOP') {
    super(reason);
  }
}

/** A bound on the work one rule may cause: past it the real library never returns (measured). */
export class Budget {
  left: number;
  constructor(steps = 2_000_000) {
    this.left = steps;
  }
  step(): void {
    if (--this.left < 0) throw new RuleConflict('LOOP');
  }
}

export const ref = (n: ArgNode | null): ArgNode | null => {
  if (n) n.refs++;
  return n;
};

function levelStart(n: ArgNode, b: Budget): ArgNode {
  let s = n;
  while (s.prev) {
    b.step();
    s = s.prev;
  }
  return s;
}

const isLeaf = (n: ArgNode) => n.onTrue === null && n.onFalse === null;
const isZombie = (n: ArgNode) => isLeaf(n) && !n.tFlag && !n.fFlag;

/** Sibling order: argument (high word after low), then operator family, then value. */
function family(op: Operator): number {
  switch (op) {
    case 'SCMP_CMP_MASKED_EQ':
    case 'SCMP_CMP_EQ':
    case 'SCMP_CMP_NE':
      return 3;
    case 'SCMP_CMP_LE':
    case 'SCMP_CMP_LT':
      return 2;
    default:
      return 1;
  }
}

/** Whether `a` sorts after `b` among siblings (levels are kept from the greatest to the least). */
export function nodeBefore(a: ArgNode, b: ArgNode): boolean {
  const ka = a.arg * 2 + (a.high ? 1 : 0);
  const kb = b.arg * 2 + (b.high ? 1 : 0);
  if (ka !== kb) return ka < kb;
  const fa = family(a.orig);
  const fb = family(b.orig);
  if (fa !== fb) return fa < fb;
  // LT/LE: a larger bound counts as smaller, so smaller bounds come first
  if (a.orig === 'SCMP_CMP_LE' || a.orig === 'SCMP_CMP_LT') return a.datum > b.datum;
  return a.datum < b.datum;
}

/** Two nodes make the same comparison (the operator they came from does not matter). */
export function sameTest(a: ArgNode, b: ArgNode): boolean {
  return a.arg === b.arg && a.high === b.high && a.cmp === b.cmp && a.datum === b.datum && a.mask === b.mask;
}

/**
 * Drops one reference to the node in `slot`. A node nobody references any more leaves its level
 * (its neighbours are joined), takes its branches with it, and the slot moves to a neighbour.
 * Returns how many nodes went away.
 */
export function release(slot: Slot, b: Budget): number {
  const n = slot.get();
  if (!n) return 0;
  b.step();
  let count = 0;
  if (--n.refs === 0) {
    const lp = local(n.prev);
    const ln = local(n.next);
    const onTrue = local(n.onTrue);
    const onFalse = local(n.onFalse);
    const p0 = lp.get();
    const n0 = ln.get();
    if (p0) p0.next = null;
    if (n0) n0.prev = null;
    if (lp.get()) count += release(lp, b);
    if (ln.get()) count += release(ln, b);
    const p = lp.get();
    const q = ln.get();
    if (p) p.next = ref(q);
    if (q) q.prev = ref(p);
    slot.set(p ?? q ?? null);
    count += releaseTree(onTrue, b);
    count += releaseTree(onFalse, b);
    n.freed = true;
    count++;
  }
  return count;
}

/** Drops the whole level of `n` when nothing but the siblings themselves still points into it. */
function cleanLevel(n: ArgNode, b: Budget): number {
  const start = levelStart(n, b);
  for (let s: ArgNode | null = start; s; s = s.next) {
    b.step();
    const links = (s.prev ? 1 : 0) + (s.next ? 1 : 0);
    if (s.refs > links) return 0;
  }
  let count = 0;
  const cur = local(start);
  while (cur.get()) {
    b.step();
    count += release(cur, b);
  }
  return count;
}

/** Drops the reference held by `slot` and then the level it pointed into, if now unreferenced. */
export function releaseTree(slot: Slot, b: Budget): number {
  let count = release(slot, b);
  const n = slot.get();
  if (n) count += cleanLevel(n, b);
  return count;
}

/** Removes `target` (and what hangs below it) from the graph below `slot`; empty leaves go too. */
function removeNode(slot: Slot, target: ArgNode, b: Budget): number {
  const head = slot.get();
  if (!head) return 0;
  let c: ArgNode | null = levelStart(head, b);
  let count = 0;
  do {
    b.step();
    const cur: ArgNode = c;
    let remove = cur === target;
    if (!remove) {
      count += removeNode(trueSlot(cur), target, b);
      count += removeNode(falseSlot(cur), target, b);
      remove = isZombie(cur);
    }
    if (remove) {
      if (cur === slot.get()) slot.set(cur.prev ?? cur.next);
      if (cur.prev) cur.prev.next = cur.next;
      if (cur.next) cur.next.prev = cur.prev;
      cur.prev = null;
      cur.next = null;
      return count + release(local(cur), b);
    }
    c = cur.next;
  } while (c && count === 0);
  return count;
}

/** True when every action below `n`'s level (inclusive) equals `action`. */
function allActionsAre(n: ArgNode | null, action: number, b: Budget): boolean {
  if (!n) return true;
  for (let c: ArgNode | null = levelStart(n, b); c; c = c.next) {
    b.step();
    if (c.tFlag && c.tAct !== action) return false;
    if (c.fFlag && c.fAct !== action) return false;
    if (!allActionsAre(c.onTrue, action, b)) return false;
    if (!allActionsAre(c.onFalse, action, b)) return false;
  }
  return true;
}

/** What a pruning walk has seen so far (bit flags, combined the way the walk needs). */
const MATCH = 0x1;
const MATCH_ONCE = 0x2;
const MATCH_BOTH = MATCH | MATCH_ONCE;
const X_FINISHED = 0x10;
const N_FINISHED = 0x20;
const X_PREFIX = 0x100;
const N_PREFIX = 0x200;
/** The new rule adds nothing: an existing, shorter rule with its action already covers it. */
export const REDUNDANT = MATCH | X_FINISHED | N_PREFIX;

export interface PruneState {
  flags: number;
  action: number;
  /** The entry's head pointer (removal searches from it). */
  head: Slot;
}

/**
 * Before a new rule is merged, removes the parts of the existing graph it makes unnecessary (an
 * existing longer rule that the new, shorter one with the same action covers), and finds out
 * whether the new rule is itself unnecessary (`REDUNDANT` in `state.flags`). Returns the number of
 * nodes removed.
 */
export function prune(existing: Slot, nw: ArgNode | null, state: PruneState, b: Budget): number {
  let count = 0;
  const mine = { ...state };
  const done = () => {
    if (mine.flags & MATCH) state.flags |= mine.flags;
    else state.flags &= ~MATCH;
    return count;
  };
  const x = existing.get();
  if (!nw || !x) return done();
  if ((state.flags & MATCH_BOTH) === MATCH_ONCE) return done();
  const xs = local(levelStart(x, b));
  // a walk one level down; `xs` may move to a neighbour when the node it held goes away
  const below = (slot: Slot, n: ArgNode | null, flags: number): PruneState => {
    const sub: PruneState = { ...state, flags };
    ref(xs.get());
    count += prune(slot, n, sub, b);
    count += release(xs, b);
    return sub;
  };
  do {
    b.step();
    const cur = xs.get() as ArgNode;
    const following: ArgNode | null = cur.next;
    step: if (sameTest(cur, nw)) {
      mine.flags |= MATCH_BOTH;
      if (isLeaf(nw)) mine.flags |= N_FINISHED;
      if (isLeaf(cur)) mine.flags |= X_FINISHED;
      if ((cur.tFlag || cur.onTrue) && !(nw.tFlag || nw.onTrue)) return done();
      if ((cur.fFlag || cur.onFalse) && !(nw.fFlag || nw.onFalse)) return done();
      if (mine.flags & N_FINISHED && mine.flags & X_FINISHED) {
        if (nw.tFlag !== cur.tFlag || nw.tAct !== cur.tAct) return done();
        if (nw.fFlag !== cur.fFlag || nw.fAct !== cur.fAct) return done();
      }
      if (nw.onTrue) {
        const sub = below(trueSlot(xs.get() as ArgNode), nw.onTrue, state.flags | MATCH_BOTH);
        if (sub.flags & MATCH) mine.flags |= sub.flags;
        if (!xs.get()) break step;
      }
      if (nw.onFalse) {
        const sub = below(falseSlot(xs.get() as ArgNode), nw.onFalse, state.flags | MATCH_BOTH);
        if (sub.flags & MATCH) mine.flags |= sub.flags;
        if (!xs.get()) break step;
      }
      const now = xs.get() as ArgNode;
      const sameAct = allActionsAre(now, mine.action, b);
      if (sameAct && mine.flags & MATCH && mine.flags & N_FINISHED && mine.flags & X_PREFIX) {
        // the new rule is shorter: the existing longer one goes
        count += removeNode(mine.head, now, b);
        if (mine.head.get() === null) return done();
      } else if (sameAct && mine.flags & MATCH && mine.flags & X_FINISHED && mine.flags & N_PREFIX) {
        return done();
      }
    } else if (nodeBefore(cur, nw)) {
      if (state.flags & N_PREFIX) return done();
      // look for the new rule further down the existing graph
      const flags = (state.flags & ~MATCH) | X_PREFIX;
      if (cur.onTrue) {
        const sub = below(trueSlot(cur), nw, flags);
        if (sub.flags & MATCH) {
          mine.flags |= sub.flags;
          return done();
        }
        if (!xs.get()) break step;
      }
      const again = xs.get() as ArgNode;
      if (again.onFalse) {
        const sub = below(falseSlot(again), nw, flags);
        if (sub.flags & MATCH) {
          mine.flags |= sub.flags;
          return done();
        }
      }
    } else {
      if (state.flags & X_PREFIX) return done();
      // look for the existing node further down the new rule
      const flags = (state.flags & ~MATCH) | N_PREFIX;
      if (nw.onTrue) {
        const sub = below(xs, nw.onTrue, flags);
        if (sub.flags & MATCH) {
          mine.flags |= sub.flags;
          return done();
        }
        if (!xs.get()) break step;
      }
      if (nw.onFalse) {
        const sub = below(xs, nw.onFalse, flags);
        if (sub.flags & MATCH) {
          mine.flags |= sub.flags;
          return done();
        }
      }
    }
    xs.set(following);
  } while (xs.get());
  mine.flags &= ~MATCH;
  return done();
}

export interface MergeOptions {
  /**
   * libseccomp before 2.6 stores the new *true* action when a 64-bit false-branch action conflicts
   * (a slip fixed in 2.6.0, which stores the false action).
   */
  falseActionFix: boolean;
}

/**
 * Merges the new rule's graph `nw` into the level `existing` points into. Returns the number of
 * nodes the merge freed from the existing graph; throws RuleConflict where libseccomp refuses.
 */
export function merge(existing: Slot, nw: ArgNode, o: MergeOptions, b: Budget): number {
  let freed = 0;
  let x = existing.get();
  while (x) {
    b.step();
    if (sameTest(x, nw)) {
      if (nw.tFlag) {
        if (!x.tFlag) {
          if (!allActionsAre(x.onTrue, nw.tAct, b)) throw new RuleConflict('EEXIST');
          freed += release(trueSlot(x), b);
          x.onTrue = null;
          x.tAct = nw.tAct;
          x.tFlag = true;
        } else if (nw.tAct !== x.tAct) {
          if (nw.high && nw.full > x.full) x.tAct = nw.tAct;
          if (isLeaf(x) || isLeaf(nw)) throw new RuleConflict('EEXIST');
        }
      }
      if (nw.fFlag) {
        if (!x.fFlag) {
          if (!allActionsAre(x.onFalse, nw.fAct, b)) throw new RuleConflict('EEXIST');
          freed += release(falseSlot(x), b);
          x.onFalse = null;
          x.fAct = nw.fAct;
          x.fFlag = true;
        } else if (nw.fAct !== x.fAct) {
          if (nw.high && nw.full < x.full) {
            if (o.falseActionFix) x.fAct = nw.fAct;
            else x.tAct = nw.tAct;
          }
          if (isLeaf(x) || isLeaf(nw)) throw new RuleConflict('EEXIST');
        }
      }
      if (nw.onTrue) {
        if (x.onTrue) freed += merge(trueSlot(x), nw.onTrue, o, b);
        else if (!x.tFlag) x.onTrue = ref(nw.onTrue);
        else return freed;
      }
      if (nw.onFalse) {
        if (x.onFalse) freed += merge(falseSlot(x), nw.onFalse, o, b);
        else if (!x.fFlag) x.onFalse = ref(nw.onFalse);
        else return freed;
      }
      return freed;
    }
    if (!nodeBefore(x, nw)) {
      if (!x.next) {
        nw.prev = ref(x);
        x.next = ref(nw);
        return freed;
      }
      x = x.next;
      continue;
    }
    // the new node goes before x
    if (x.prev) {
      x.prev.next = ref(nw);
      nw.prev = x.prev;
      x.prev = ref(nw);
      nw.next = x;
    } else {
      x.prev = ref(nw);
      nw.next = ref(x);
    }
    if (existing.get() === x) {
      existing.set(ref(nw));
      release(local(x), b);
    }
    return freed;
  }
  return freed;
}
