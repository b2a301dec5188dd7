/**
 * One function's ops to its summary: a constant propagation over its blocks (flow.ts), then one
 * pass that reads, at every system call and every call, what the locations hold. Architecture
 * facts come in `Abi`; nothing here knows an instruction set.
 */
import { solve, UNKNOWN, Values } from './flow.js';
import { K, type OpTable } from './ops.js';
import type { CallSite, FunctionSummary, Value } from './summary.js';

export interface Abi {
  /** Number of locations (registers, then the tracked outgoing stack slots). */
  locations: number;
  /** The stack pointer's location (never a value). */
  sp: number;
  /** The first tracked stack slot, and how many are tracked. */
  stack0: number;
  stackSlots: number;
  /**
   * A call pushes its return address (x86-64): at entry, slot i + 1 holds what the caller put in
   * its slot i (stack arguments: Go's ABI0, a C function's seventh), and a jump out (a tail call)
   * hands the callee our slot i + 1 as its caller's slot i.
   */
  callPushes?: boolean;
  /** Where the system call number is at a system call instruction. */
  sysReg: number;
  /** What a system call instruction changes. */
  sysClobber: readonly number[];
  /** Registers that hold a value at entry (arguments, or anything the caller left). */
  entryRegs: readonly number[];
  /** What a call changes (caller-saved registers). */
  afterCall: readonly number[];
  /** Where arguments travel (C's and Go's registers, and the stack slots): kept at each call. */
  argLocs: readonly number[];
}

/** A constant no code passes: marks a value loaded from a jump table (a switch's target). */
export const TABLE_MARK = -0x7ab1e;

export interface FunctionRangeLike {
  start: number;
  end: number;
  name?: string;
}

export function analyse(
  f: FunctionRangeLike,
  ops: OpTable,
  refs: readonly number[],
  abi: Abi,
  /** Functions (and PLT stubs) known never to return: a path ends at a call of one. */
  noReturn?: ReadonlySet<number>,
): FunctionSummary {
  const summary: FunctionSummary = {
    start: f.start,
    end: f.end,
    ...(f.name ? { name: f.name } : {}),
    sys: [],
    sysParams: [],
    unresolved: [],
    foreign: [],
    calls: [],
    indirect: [],
    refs: [...refs],
  };
  const n = ops.n;
  if (n === 0) return summary;
  const { k: kind, d: dst, s: src, v: imm, to: target, slot: slotOf, reg: regOf, flag, clob, lists } = ops;
  const inside = (a: number) => a >= f.start && a < f.end;
  // blocks: leaders are the entry, branch targets inside, and what follows a branch or an end
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  for (let i = 0; i < n; i++) {
    const k = kind[i];
    if (k === K.Jmp || k === K.Jcc || k === K.Ret || k === K.Stop) leader[i + 1] = 1;
    if ((k === K.Jmp || k === K.Jcc) && (target[i] as number) >= 0 && inside(target[i] as number)) {
      const t = ops.indexOf(target[i] as number);
      if (t >= 0) leader[t] = 1;
    }
  }
  const starts: number[] = [];
  const blockAt = new Int32Array(n + 1).fill(-1);
  for (let i = 0; i < n; i++)
    if (leader[i]) {
      blockAt[i] = starts.length;
      starts.push(i);
    }
  const blocks = starts.length;
  const L = abi.locations;
  const V = new Values();
  let tableJumps: number[] | undefined;
  const sys = new Set<number>();
  const params = new Set<number>();
  const clearStack = (st: number[]) => {
    for (let s = abi.stack0; s < abi.stack0 + abi.stackSlots; s++) st[s] = UNKNOWN;
  };
  /** The argument values at a call (a tail call: the stack slots as the callee's caller's). */
  const argsAt = (st: number[], tail: boolean): [number, Value][] => {
    const args: [number, Value][] = [];
    for (const l of abi.argLocs) {
      const stack = l >= abi.stack0 && l < abi.stack0 + abi.stackSlots;
      const from = tail && stack && abi.callPushes ? l + 1 : l;
      const v = from < abi.stack0 + abi.stackSlots || !stack ? (st[from] as number) : UNKNOWN;
      if (v === UNKNOWN) continue;
      // our own incoming stack arguments, still in place, are no argument of a call: a callee's
      // stack arguments are what the caller stored (only a jump out hands them on)
      if (!tail && stack && V.isEntry(v) && V.entryOf(v) >= abi.stack0) continue;
      args.push([l, V.toValue(v) as Value]);
    }
    return args;
  };
  const site = (i: number, st: number[], tail: boolean, cond = false): void => {
    const s: CallSite = { at: ops.at[i] as number };
    if (tail) s.tail = true;
    if (cond) s.cond = true;
    const args = argsAt(st, tail);
    if (args.length > 0) s.args = args;
    const reg = regOf[i] as number;
    if ((target[i] as number) >= 0) s.to = target[i] as number;
    else if ((slotOf[i] as number) >= 0) s.slot = slotOf[i] as number;
    else if (reg >= 0) {
      const v = st[reg] as number;
      const cs = V.constants(v);
      if (cs && cs.length === 1) s.to = cs[0] as number;
      else if (V.isEntry(v)) s.param = V.entryOf(v);
    }
    if (s.to === undefined && s.slot === undefined && s.param === undefined) summary.indirect.push(s.at);
    else summary.calls.push(s);
  };
  const transfer = (b: number, st: number[], collect: boolean): [number, number[]][] => {
    const first = starts[b] as number;
    const last = b + 1 < blocks ? (starts[b + 1] as number) : n;
    for (let i = first; i < last; i++) {
      const d = dst[i] as number;
      const s = src[i] as number;
      switch (kind[i]) {
        case K.Set:
          st[d] = V.constant(imm[i] as number);
          break;
        case K.Copy:
          st[d] = st[s] as number;
          break;
        case K.Clobber:
          if (d >= 0) st[d] = UNKNOWN;
          if (s >= 0) st[s] = UNKNOWN;
          if ((clob[i] as number) >= 0) for (const r of lists[clob[i] as number] as number[]) st[r] = UNKNOWN;
          break;
        case K.Add: {
          // a single constant only: a loop counter becomes unknown at once instead of growing a set
          const v = st[d] as number;
          st[d] = v >= 0 && v !== TABLE_MARK ? V.constant(v + (imm[i] as number)) : UNKNOWN;
          break;
        }
        case K.Xchg: {
          const t = st[d] as number;
          st[d] = st[s] as number;
          st[s] = t;
          break;
        }
        case K.Table:
          st[d] = V.constant(TABLE_MARK);
          break;
        case K.TableAdd: {
          const a = V.constants(st[d] as number);
          const c = s >= 0 ? V.constants(st[s] as number) : undefined;
          st[d] =
            a?.includes(TABLE_MARK) || c?.includes(TABLE_MARK)
              ? V.constant(TABLE_MARK)
              : a && c && a.length === 1 && c.length === 1
                ? V.constant((a[0] as number) + (c[0] as number))
                : UNKNOWN;
          break;
        }
        case K.Store:
          st[d] = s < 0 ? V.constant(imm[i] as number) : (st[s] as number);
          break;
        case K.StackMove: {
          const by = imm[i] as number;
          if (flag[i] === 1 && by % 8 === 0) {
            // the frame moved by a known amount: slot j is now what slot j - by/8 was
            // (in place: pushes and pops are everywhere, an array per move is the analysis's
            // largest allocation)
            const n = by / 8;
            const S = abi.stackSlots;
            const b0 = abi.stack0;
            if (n > 0)
              for (let j = S - 1; j >= 0; j--) st[b0 + j] = j - n >= 0 ? (st[b0 + j - n] as number) : UNKNOWN;
            else if (n < 0)
              for (let j = 0; j < S; j++) st[b0 + j] = j - n < S ? (st[b0 + j - n] as number) : UNKNOWN;
          } else clearStack(st);
          if (d >= 0) st[d] = UNKNOWN;
          break;
        }
        case K.Syscall: {
          if (collect) {
            const v = st[abi.sysReg] as number;
            const cs = V.constants(v);
            if (cs) for (const c of cs) sys.add(c);
            else if (V.isEntry(v)) params.add(V.entryOf(v));
            else summary.unresolved.push(ops.at[i] as number);
          }
          for (const r of abi.sysClobber) st[r] = UNKNOWN;
          break;
        }
        case K.Foreign:
          if (collect) summary.foreign.push(ops.at[i] as number);
          st[0] = UNKNOWN;
          break;
        case K.Call:
          if (collect) site(i, st, false);
          if (noReturn?.has(target[i] as number)) {
            // the path ends here; what follows in the block is still read (from nothing known)
            if (!collect) return [];
            st.fill(UNKNOWN);
            break;
          }
          for (const r of abi.afterCall) st[r] = UNKNOWN;
          clearStack(st);
          break;
        case K.Jcc: {
          const to = target[i] as number;
          // a conditional jump out of the function is a conditional tail call
          if (collect && to >= 0 && !inside(to)) site(i, st, true, true);
          const t = to >= 0 ? ops.indexOf(to) : -1;
          const succ: [number, number[]][] = [];
          if (t >= 0 && (blockAt[t] as number) >= 0) succ.push([blockAt[t] as number, st.slice()]);
          if (i + 1 < n) succ.push([blockAt[i + 1] as number, st]);
          return succ;
        }
        case K.Jmp: {
          const to = target[i] as number;
          if (to >= 0 && inside(to)) {
            const t = ops.indexOf(to);
            return t >= 0 && (blockAt[t] as number) >= 0 ? [[blockAt[t] as number, st]] : [];
          }
          const reg = regOf[i] as number;
          if (reg >= 0 && (flag[i] === 1 || V.constants(st[reg] as number)?.includes(TABLE_MARK))) {
            // a switch: its targets are blocks of this function that follow a jump (unknown which)
            if (!tableJumps) tableJumps = st.slice();
            else for (let j = 0; j < L; j++) tableJumps[j] = V.join(tableJumps[j] as number, st[j] as number);
            return [];
          }
          if (collect) site(i, st, true);
          return [];
        }
        case K.Ret:
        case K.Stop:
          return [];
      }
    }
    if (last < n) return [[blockAt[last] as number, st]];
    // code that runs off the function's end goes on into what follows (an assembly function whose
    // unwind entry stops early, such as glibc's __clone3 before its syscall): a tail call there
    if (collect && f.end > 0) {
      const k = kind[n - 1];
      if (k !== K.Jmp && k !== K.Ret && k !== K.Stop) fallOff(n - 1, st);
    }
    return [];
  };
  const fallOff = (i: number, st: number[]): void => {
    const s: CallSite = { at: ops.at[i] as number, tail: true, to: f.end };
    const args = argsAt(st, true);
    if (args.length > 0) s.args = args;
    summary.calls.push(s);
  };
  // whether the function can return by itself (a return, a jump out, running off its end)
  let returns = false;
  for (let i = 0; i < n && !returns; i++) {
    const k = kind[i];
    const to = target[i] as number;
    if (k === K.Ret) returns = true;
    else if (k === K.Jcc && to >= 0 && !inside(to)) returns = true;
    else if (k === K.Jmp && (to >= 0 ? !inside(to) : flag[i] !== 1)) returns = true;
  }
  const lastKind = kind[n - 1];
  if (!returns) {
    if (lastKind === K.Call) {
      const to = target[n - 1] as number;
      if (to >= 0) summary.noRet = to;
    } else if (lastKind === K.Jmp || lastKind === K.Stop) summary.noRet = -1;
  }
  const entry = new Array<number>(L).fill(UNKNOWN);
  for (const r of abi.entryRegs) entry[r] = V.entry(r);
  if (abi.callPushes)
    for (let j = 1; j < abi.stackSlots; j++) entry[abi.stack0 + j] = V.entry(abi.stack0 + j - 1);
  const unknown = (): number[] => (tableJumps ? tableJumps.slice() : new Array<number>(L).fill(UNKNOWN));
  const input = solve(blocks, entry, V, (b, st) => transfer(b, st, false), unknown);
  for (let b = 0; b < blocks; b++) transfer(b, (input[b] as number[]).slice(), true);
  summary.sys = [...sys].filter((c) => c !== TABLE_MARK).sort((a, b) => a - b);
  summary.sysParams = [...params].sort((a, b) => a - b);
  return summary;
}
