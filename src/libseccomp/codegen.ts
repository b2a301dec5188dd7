/**
 * The program libseccomp generates from its rule databases, rebuilt: an equivalent classic BPF
 * filter (same decisions on every input) that sysfence's emulator can run. Modelled from
 * libseccomp's documented structure and from its measured output:
 *
 * - Code is made of blocks. A block for a comparison loads the argument word only when the
 *   accumulator is not already *assumed* to hold it (the assumption flows from sibling to sibling
 *   along a level, and into a deeper level from the comparison that leads there), masks it when the
 *   mask differs, and compares. Identical blocks (same instructions, targets and assumptions) are
 *   one block.
 * - Per ABI section: the architecture check; for x86_64 or x32 alone, the x32-bit check (it loads
 *   the syscall number); then one `jeq` block per syscall, highest priority first, falling to the
 *   next. Outside lone x86_64/x32 sections only the first syscall's block loads the number, and a
 *   pseudo syscall is never emitted (so the number may never be loaded at all).
 * - Layout: starting from the end of the list of top-level blocks, the last block with a jump to a
 *   block not yet placed gets that block placed right after it (its last instruction's targets
 *   first, the true branch before the false). A block placed after one that leaves the accumulator
 *   in another state than it assumes gets a load (and mask) in front: that repairs some, but not
 *   all, of the cases where a fall-through arrives with another word than assumed.
 */

import { ProgramBuilder } from '../bpf/builder.js';
import type { Instruction } from '../bpf/instruction.js';
import { BPF_AND, BPF_JEQ, BPF_JGE, BPF_JGT } from '../bpf/opcodes.js';
import type { ArchDb, LibseccompFilter, SysEntry } from './filter.js';
import type { ArgNode } from './tree.js';

interface Acc {
  offset: number;
  mask: number;
}
const FULL = 0xffffffff;
const UNDEF: Acc = { offset: -1, mask: FULL };
const sameAcc = (a: Acc, b: Acc) => a.offset === b.offset && a.mask === b.mask;
const X32_BIT = 0x40000000;
const WANT = 'want:';

type Op = 'ld' | 'and' | 'jeq' | 'jgt' | 'jge' | 'ret';
/** A jump target: a block, the next instruction, or the section after this one. */
type Target = Block | 'none' | 'next-section';

interface Ins {
  op: Op;
  k: number;
  jt?: Target;
  jf?: Target;
  /** For comparisons: the word the comparison was written for (offset), for explanations. */
  want?: number;
}

export interface Block {
  id: number;
  ins: Ins[];
  accStart: Acc;
  accEnd: Acc;
  /** Part of the initial list (never pulled in by the layout). */
  listed: boolean;
  placed: boolean;
}

class Blocks {
  private readonly byKey = new Map<string, Block>();
  /** Registers a listed block so that an identical block made later is this one. */
  adopt(b: Block): void {
    this.byKey.set(this.key(b.ins, b.accStart, b.accEnd), b);
  }
  private n = 0;
  make(ins: Ins[], accStart: Acc, accEnd: Acc, listed: boolean): Block {
    return { id: this.n++, ins, accStart: { ...accStart }, accEnd: { ...accEnd }, listed, placed: listed };
  }
  /** The one block with these instructions, targets and assumptions. */
  private key(ins: Ins[], accStart: Acc, accEnd: Acc): string {
    const t = (x: Target | undefined) => (x === undefined ? '' : typeof x === 'string' ? x : `#${x.id}`);
    return `${accStart.offset}/${accStart.mask}>${accEnd.offset}/${accEnd.mask}|${ins
      .map((i) => `${i.op}:${i.k}:${t(i.jt)}:${t(i.jf)}`)
      .join(';')}`;
  }
  intern(ins: Ins[], accStart: Acc, accEnd: Acc): Block {
    const key = this.key(ins, accStart, accEnd);
    let b = this.byKey.get(key);
    if (!b) {
      b = this.make(ins, accStart, accEnd, false);
      this.byKey.set(key, b);
    }
    return b;
  }
  action(ret: number): Block {
    return this.intern([{ op: 'ret', k: ret }], UNDEF, UNDEF);
  }
}

const levelNodes = (n: ArgNode): ArgNode[] => {
  let s = n;
  while (s.prev) s = s.prev;
  const out: ArgNode[] = [];
  for (let c: ArgNode | null = s; c; c = c.next) out.push(c);
  return out;
};

const CMP_OP: Record<ArgNode['cmp'], Op> = { EQ: 'jeq', MASKED_EQ: 'jeq', GT: 'jgt', GE: 'jge' };

/** The blocks of one level, given the assumed accumulator and where its last sibling falls to. */
function level(bs: Blocks, head: ArgNode, assumed: Acc, fall: Block): Block {
  const nodes = levelNodes(head);
  const acc: Acc = { ...assumed };
  const raw = nodes.map((n) => {
    const ins: Ins[] = [];
    let start: Acc = { ...acc };
    if (n.offset !== acc.offset || (n.mask & acc.mask) >>> 0 !== n.mask) {
      ins.push({ op: 'ld', k: n.offset });
      acc.offset = n.offset;
      acc.mask = FULL;
      start = UNDEF;
    }
    if (n.mask !== acc.mask) {
      ins.push({ op: 'and', k: n.mask });
      acc.mask = n.mask;
    }
    return { n, ins, start, end: { ...acc } };
  });
  let next = fall;
  for (let i = raw.length - 1; i >= 0; i--) {
    const { n, ins, start, end } = raw[i]!;
    const target = (sub: ArgNode | null, flag: boolean, act: number): Block =>
      sub ? level(bs, sub, end, next) : flag ? bs.action(act) : next;
    const jt = target(n.onTrue, n.tFlag, n.tAct);
    const jf = target(n.onFalse, n.fFlag, n.fAct);
    next = bs.intern([...ins, { op: CMP_OP[n.cmp], k: n.datum, jt, jf, want: n.offset }], start, end);
  }
  return next;
}

/** Priority order (stable: list order, the first database's entries first). */
function byPriority(dbs: ArchDb[]): SysEntry[] {
  const all = dbs.flatMap((d) => d.entries);
  return all
    .map((e, i) => ({ e, i }))
    .sort((a, b) => b.e.priority - a.e.priority || a.i - b.i)
    .map((x) => x.e);
}

interface Section {
  dbs: ArchDb[];
  blocks: Block[];
}

function section(bs: Blocks, dbs: ArchDb[], def: Block, bad: Block): Section {
  const alone = dbs.length === 1 && (dbs[0]!.arch.id === 'x86_64' || dbs[0]!.arch.id === 'x32');
  const ordered = byPriority(dbs);
  const head = ordered[0];
  const syscalls: Block[] = [];
  let next: Block = def;
  for (let i = ordered.length - 1; i >= 0; i--) {
    const e = ordered[i]!;
    if (e.pseudo) continue;
    const reset = !alone && e === head;
    const assumed: Acc = reset ? { offset: 0, mask: FULL } : UNDEF;
    const chain = e.chains ? level(bs, e.chains, assumed, def) : bs.action(e.action);
    const ins: Ins[] = reset ? [{ op: 'ld', k: 0 }] : [];
    ins.push({ op: 'jeq', k: e.num, jt: chain, jf: next, want: 0 });
    const b = bs.make(ins, reset ? UNDEF : { offset: 0, mask: FULL }, { offset: 0, mask: FULL }, true);
    syscalls.unshift(b);
    next = b;
  }
  const first = syscalls[0] ?? def;
  const blocks: Block[] = [];
  const arch = dbs[0]!.arch;
  if (alone && arch.id === 'x86_64')
    blocks.push(
      bs.make(
        [
          { op: 'ld', k: 0 },
          { op: 'jge', k: X32_BIT, jt: 'none', jf: first, want: 0 },
          { op: 'jeq', k: FULL, jt: first, jf: bad, want: 0 },
        ],
        UNDEF,
        { offset: 0, mask: FULL },
        true,
      ),
    );
  else if (alone)
    blocks.push(
      bs.make(
        [
          { op: 'ld', k: 0 },
          { op: 'jge', k: X32_BIT, jt: first, jf: bad, want: 0 },
        ],
        UNDEF,
        { offset: 0, mask: FULL },
        true,
      ),
    );
  const entry = blocks[0] ?? first;
  blocks.unshift(
    bs.make([{ op: 'jeq', k: arch.auditArch, jt: entry, jf: 'next-section', want: 4 }], UNDEF, UNDEF, true),
  );
  blocks.push(...syscalls);
  return { dbs, blocks };
}

/**
 * The entry libseccomp puts first in the section of an AUDIT_ARCH value when it is a pseudo
 * syscall (a name the ABI lacks): then no block of the section loads the syscall number.
 */
export function pseudoHead(f: LibseccompFilter, auditArch: number): SysEntry | undefined {
  const dbs = sectionDbs(f).find((d) => d[0]!.arch.auditArch === auditArch >>> 0);
  if (!dbs) return undefined;
  const alone = dbs.length === 1 && (dbs[0]!.arch.id === 'x86_64' || dbs[0]!.arch.id === 'x32');
  const head = byPriority(dbs)[0];
  return !alone && head?.pseudo ? head : undefined;
}

/** The ABI databases grouped as libseccomp groups them into sections (x86_64 with x32). */
export function sectionDbs(f: LibseccompFilter): ArchDb[][] {
  const ids = f.dbs.map((d) => d.arch.id);
  const i64 = ids.indexOf('x86_64');
  const i32 = ids.indexOf('x32');
  const out: ArchDb[][] = [];
  f.dbs.forEach((db, i) => {
    if (i === i64 && i32 >= 0) {
      if (i32 > i) out.push([db, f.dbs[i32]!]);
      return;
    }
    if (i === i32 && i64 >= 0) {
      if (i64 > i) out.push([db, f.dbs[i64]!]);
      return;
    }
    out.push([db]);
  });
  return out;
}

export interface LibseccompProgram {
  instructions: Instruction[];
  /** Per instruction: the seccomp_data offset a comparison was written for (explanations). */
  wants: Map<number, number>;
}

/** The program libseccomp would generate for a (not refused) filter model. */
export function generateProgram(f: LibseccompFilter): LibseccompProgram {
  const bs = new Blocks();
  // the bad-architecture return is listed first: an identical action (or default) is this block
  const bad = bs.make([{ op: 'ret', k: f.badArchRet }], UNDEF, UNDEF, true);
  bs.adopt(bad);
  const def = bs.action(f.defaultRet);
  const top = bs.make([{ op: 'ld', k: 4 }], UNDEF, { offset: 4, mask: FULL }, true);
  const sections = sectionDbs(f).map((dbs) => section(bs, dbs, def, bad));
  // the list: load the arch word, each section, the bad-architecture return
  const list: Block[] = [top, ...sections.flatMap((s) => s.blocks), bad];
  const sectionEnd = new Map<Block, Block>();
  sections.forEach((s, i) => {
    sectionEnd.set(s.blocks[0]!, sections[i + 1]?.blocks[0] ?? bad);
  });
  // layout: pull in the blocks that are jumped to, one at a time
  for (;;) {
    let pulled = false;
    for (let at = list.length - 1; at >= 0 && !pulled; at--) {
      const from = list[at]!;
      for (let j = from.ins.length - 1; j >= 0 && !pulled; j--) {
        const i = from.ins[j]!;
        for (const t of [i.jt, i.jf]) {
          if (t === undefined || typeof t === 'string' || t.placed) continue;
          t.placed = true;
          if (t.accStart.offset !== -1 && !sameAcc(from.accEnd, t.accStart)) {
            const fix: Ins[] = [{ op: 'ld', k: t.accStart.offset }];
            if (t.accStart.mask !== FULL) fix.push({ op: 'and', k: t.accStart.mask });
            t.ins = [...fix, ...t.ins];
            t.accStart = UNDEF;
          }
          list.splice(at + 1, 0, t);
          pulled = true;
          break;
        }
      }
    }
    if (!pulled) break;
  }
  const b = new ProgramBuilder();
  const label = (x: Block) => `B${x.id}`;
  for (const blk of list) {
    b.label(label(blk));
    for (const i of blk.ins) {
      const target = (t: Target | undefined) =>
        t === undefined || t === 'none'
          ? null
          : t === 'next-section'
            ? label(sectionEnd.get(blk)!)
            : label(t);
      switch (i.op) {
        case 'ld':
          b.ldAbs(i.k);
          break;
        case 'and':
          b.alu(BPF_AND, i.k);
          break;
        case 'ret':
          b.ret(i.k);
          break;
        default:
          if (i.want !== undefined) b.comment(`${WANT}${i.want}`);
          b.jump(
            i.op === 'jeq' ? BPF_JEQ : i.op === 'jgt' ? BPF_JGT : BPF_JGE,
            i.k,
            target(i.jt),
            target(i.jf),
          );
      }
    }
  }
  const built = b.build();
  const wants = new Map<number, number>();
  for (const [pc, c] of built.comments) if (c.startsWith(WANT)) wants.set(pc, Number(c.slice(WANT.length)));
  return { instructions: built.instructions, wants };
}
