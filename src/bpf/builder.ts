/**
 * ProgramBuilder: code generation places instructions and symbolic labels; build() is the one
 * resolver that turns labels into offsets. Conditional jumps reach at most 255 instructions
 * forward; a longer one is rewritten to jump to an inserted `ja` (32-bit offset) right after it.
 */
import { BpfError } from './errors.js';
import type { Instruction } from './instruction.js';
import { BPF_ABS, BPF_ALU, BPF_JA, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W } from './opcodes.js';

/** A label name, or null for "the next instruction". */
export type Target = string | null;

type Item =
  | { kind: 'insn'; code: number; k: number; comment?: string }
  | { kind: 'jcond'; code: number; k: number; jt: Target; jf: Target; comment?: string }
  | { kind: 'ja'; target: string; comment?: string }
  | { kind: 'label'; name: string };

export interface BuiltProgram {
  instructions: Instruction[];
  /** A comment per instruction index, for the disassembler. */
  comments: Map<number, string>;
}

export class ProgramBuilder {
  private readonly items: Item[] = [];
  private counter = 0;
  private pending: string | undefined;

  /** A comment for the next instruction emitted (shown by the disassembler). */
  comment(text: string): this {
    this.pending = this.pending === undefined ? text : `${this.pending}; ${text}`;
    return this;
  }

  private take(comment: string | undefined): string | undefined {
    const c =
      comment === undefined
        ? this.pending
        : this.pending === undefined
          ? comment
          : `${this.pending}; ${comment}`;
    this.pending = undefined;
    return c;
  }

  /** A fresh, unique label name. */
  newLabel(prefix = 'L'): string {
    return `${prefix}${this.counter++}`;
  }

  label(name: string): this {
    this.items.push({ kind: 'label', name });
    return this;
  }

  insn(code: number, k = 0, comment?: string): this {
    comment = this.take(comment);
    this.items.push(
      comment === undefined
        ? { kind: 'insn', code, k: k >>> 0 }
        : { kind: 'insn', code, k: k >>> 0, comment },
    );
    return this;
  }

  /** A = seccomp_data[off] (32-bit load). */
  ldAbs(off: number, comment?: string): this {
    return this.insn(BPF_LD | BPF_W | BPF_ABS, off, comment);
  }

  /** A = A op k. */
  alu(op: number, k: number, comment?: string): this {
    return this.insn(BPF_ALU | op | BPF_K, k, comment);
  }

  /** if (A op k) goto jt else goto jf. */
  jump(op: number, k: number, jt: Target, jf: Target, comment?: string): this {
    comment = this.take(comment);
    const item: Item = { kind: 'jcond', code: BPF_JMP | op | BPF_K, k: k >>> 0, jt, jf };
    if (comment !== undefined) item.comment = comment;
    this.items.push(item);
    return this;
  }

  ja(target: string, comment?: string): this {
    comment = this.take(comment);
    this.items.push(comment === undefined ? { kind: 'ja', target } : { kind: 'ja', target, comment });
    return this;
  }

  ret(k: number, comment?: string): this {
    return this.insn(BPF_RET | BPF_K, k, comment);
  }

  build(): BuiltProgram {
    // Work on a list of concrete slots; long conditional jumps get trampolines until stable.
    type Slot = { item: Exclude<Item, { kind: 'label' }>; trampolineOf?: number };
    const slots: Slot[] = [];
    const labelAt = new Map<string, number>(); // label -> slot index it precedes
    const pending: string[] = [];
    const labelsBefore = new Map<number, string[]>();
    for (const it of this.items) {
      if (it.kind === 'label') {
        if (labelAt.has(it.name) || pending.includes(it.name))
          throw new BpfError('bpf-duplicate-label', slots.length, `label ${it.name} placed twice`);
        pending.push(it.name);
        continue;
      }
      for (const l of pending) labelAt.set(l, slots.length);
      if (pending.length > 0) labelsBefore.set(slots.length, [...pending]);
      pending.length = 0;
      slots.push({ item: it });
    }
    for (const l of pending) labelAt.set(l, slots.length); // a label at the very end
    // Resolve with trampolines. Positions: each slot is one instruction.
    type Concrete = { code: number; k: number; jt: Target; jf: Target; ja?: string; comment?: string };
    let code: Concrete[] = slots.map((s) => {
      const it = s.item;
      const c: Concrete =
        it.kind === 'jcond'
          ? { code: it.code, k: it.k, jt: it.jt, jf: it.jf }
          : it.kind === 'ja'
            ? { code: BPF_JMP | BPF_JA, k: 0, jt: null, jf: null, ja: it.target }
            : { code: it.code, k: it.k, jt: null, jf: null };
      if (it.comment !== undefined) c.comment = it.comment;
      return c;
    });
    // label -> index in `code`, kept up to date as trampolines are inserted
    let labels = new Map(labelAt);
    // "next instruction" targets become labels too, so that an inserted trampoline does not
    // capture a fall-through
    code.forEach((c, i) => {
      if (c.ja !== undefined || (c.code & 0x07) !== BPF_JMP) return;
      for (const side of ['jt', 'jf'] as const) {
        if (c[side] === null) {
          const name = `\u0002next${i}`;
          labels.set(name, i + 1);
          c[side] = name;
        }
      }
    });
    for (let round = 0; round < 64; round++) {
      let changed = false;
      const next: Concrete[] = [];
      const shift: number[] = []; // old index -> new index
      code.forEach((c, i) => {
        const inserts: Concrete[] = [];
        if (c.ja === undefined && (c.code & 0x07) === BPF_JMP) {
          for (const side of ['jt', 'jf'] as const) {
            const t = c[side];
            if (t === null || t.startsWith('\u0000')) continue;
            const at = labels.get(t);
            if (at === undefined)
              throw new BpfError('bpf-undefined-label', i, `jump to undefined label ${t}`);
            const off = at - i - 1;
            if (off < 0) throw new BpfError('bpf-backward-jump', i, `jump to ${t} goes backwards`);
            if (off > 255) {
              inserts.push({ code: BPF_JMP | BPF_JA, k: 0, jt: null, jf: null, ja: t });
              c[side] = `\u0000${inserts.length - 1}`;
              changed = true;
            }
          }
        }
        shift.push(next.length);
        next.push(c, ...inserts);
      });
      if (!changed) break;
      const newLabels = new Map<string, number>();
      for (const [l, at] of labels) newLabels.set(l, at < shift.length ? shift[at]! : next.length);
      // trampoline markers become labels pointing at the inserted ja
      let n = 0;
      code.forEach((c, i) => {
        for (const side of ['jt', 'jf'] as const) {
          const t = c[side];
          if (t?.startsWith('\u0000')) {
            const name = `\u0001tramp${round}_${n++}`;
            newLabels.set(name, shift[i]! + 1 + Number(t.slice(1)));
            c[side] = name;
          }
        }
      });
      code = next;
      labels = newLabels;
      if (round === 63) throw new BpfError('bpf-resolve', 0, 'jump resolution did not converge');
    }
    const instructions: Instruction[] = [];
    const comments = new Map<number, string>();
    code.forEach((c, i) => {
      const off = (t: Target): number => {
        if (t === null) return 0;
        const at = labels.get(t);
        if (at === undefined) throw new BpfError('bpf-undefined-label', i, `jump to undefined label ${t}`);
        return at - i - 1;
      };
      if (c.ja !== undefined) {
        const o = off(c.ja);
        if (o < 0) throw new BpfError('bpf-backward-jump', i, `ja to ${c.ja} goes backwards`);
        instructions.push({ code: c.code, jt: 0, jf: 0, k: o >>> 0 });
      } else if ((c.code & 0x07) === BPF_JMP) {
        instructions.push({ code: c.code, jt: off(c.jt), jf: off(c.jf), k: c.k >>> 0 });
      } else {
        instructions.push({ code: c.code, jt: 0, jf: 0, k: c.k >>> 0 });
      }
      if (c.comment !== undefined) comments.set(i, c.comment);
    });
    return { instructions, comments };
  }
}
