/** The kernel's checks for a seccomp filter (bpf_check_classic + seccomp_check_filter), as data errors. */
import { BpfError } from './errors.js';
import type { Program } from './instruction.js';
import * as op from './opcodes.js';

const ALLOWED = new Set<number>([
  op.BPF_LD | op.BPF_W | op.BPF_ABS,
  op.BPF_LD | op.BPF_W | op.BPF_LEN,
  op.BPF_LDX | op.BPF_W | op.BPF_LEN,
  op.BPF_RET | op.BPF_K,
  op.BPF_RET | op.BPF_A,
  ...[
    op.BPF_ADD,
    op.BPF_SUB,
    op.BPF_MUL,
    op.BPF_DIV,
    op.BPF_AND,
    op.BPF_OR,
    op.BPF_XOR,
    op.BPF_LSH,
    op.BPF_RSH,
  ].flatMap((o) => [op.BPF_ALU | o | op.BPF_K, op.BPF_ALU | o | op.BPF_X]),
  op.BPF_ALU | op.BPF_NEG,
  op.BPF_LD | op.BPF_IMM,
  op.BPF_LDX | op.BPF_IMM,
  op.BPF_MISC | op.BPF_TAX,
  op.BPF_MISC | op.BPF_TXA,
  op.BPF_LD | op.BPF_MEM,
  op.BPF_LDX | op.BPF_MEM,
  op.BPF_ST,
  op.BPF_STX,
  op.BPF_JMP | op.BPF_JA,
  ...[op.BPF_JEQ, op.BPF_JGE, op.BPF_JGT, op.BPF_JSET].flatMap((o) => [
    op.BPF_JMP | o | op.BPF_K,
    op.BPF_JMP | o | op.BPF_X,
  ]),
]);

/** Returns every problem the kernel would refuse the program for (empty when it would load it). */
export function validateProgram(p: Program): BpfError[] {
  const errors: BpfError[] = [];
  if (p.length === 0) return [new BpfError('bpf-empty', 0, 'a filter needs at least one instruction')];
  if (p.length > op.BPF_MAXINSNS)
    errors.push(
      new BpfError(
        'bpf-too-long',
        op.BPF_MAXINSNS,
        `${p.length} instructions; the kernel accepts at most ${op.BPF_MAXINSNS}`,
      ),
    );
  // Memory words written on every path before they are read (check_load_and_stores), tracked
  // conservatively as the intersection over incoming edges.
  const all = (1 << op.BPF_MEMWORDS) - 1;
  const valid: number[] = new Array(p.length).fill(all);
  valid[0] = 0;
  p.forEach((i, pc) => {
    const code = i.code;
    if (!ALLOWED.has(code)) {
      errors.push(
        new BpfError('bpf-opcode', pc, `opcode 0x${code.toString(16)} is not allowed in a seccomp filter`),
      );
      return;
    }
    const cls = op.BPF_CLASS(code);
    if (code === (op.BPF_LD | op.BPF_W | op.BPF_ABS) && (i.k % 4 !== 0 || i.k >= op.SECCOMP_DATA_SIZE))
      errors.push(
        new BpfError('bpf-load', pc, `load at offset ${i.k} is outside seccomp_data or not 4-byte aligned`),
      );
    if (code === (op.BPF_ALU | op.BPF_DIV | op.BPF_K) && i.k === 0)
      errors.push(new BpfError('bpf-div-zero', pc, 'division by zero'));
    const memOp =
      code === (op.BPF_LD | op.BPF_MEM) ||
      code === (op.BPF_LDX | op.BPF_MEM) ||
      cls === op.BPF_ST ||
      cls === op.BPF_STX;
    if (memOp && i.k >= op.BPF_MEMWORDS)
      errors.push(new BpfError('bpf-mem', pc, `scratch memory index ${i.k} is outside 0..15`));
    let mem = valid[pc]!;
    if (
      (code === (op.BPF_LD | op.BPF_MEM) || code === (op.BPF_LDX | op.BPF_MEM)) &&
      i.k < op.BPF_MEMWORDS &&
      !(mem & (1 << i.k))
    )
      errors.push(
        new BpfError('bpf-mem-uninit', pc, `scratch memory M[${i.k}] may be read before it is written`),
      );
    if ((cls === op.BPF_ST || cls === op.BPF_STX) && i.k < op.BPF_MEMWORDS) mem |= 1 << i.k;
    const flow = (target: number) => {
      if (target >= p.length)
        errors.push(
          new BpfError('bpf-jump-range', pc, `jump to ${target} is past the end (${p.length} instructions)`),
        );
      else valid[target] = valid[target]! & mem;
    };
    if (cls === op.BPF_RET) return;
    if (cls === op.BPF_JMP) {
      if (op.BPF_OP(code) === op.BPF_JA) flow(pc + 1 + i.k);
      else {
        flow(pc + 1 + i.jt);
        flow(pc + 1 + i.jf);
      }
    } else if (pc + 1 >= p.length) {
      errors.push(
        new BpfError('bpf-no-ret', pc, 'the last instruction is not a return: a path falls off the end'),
      );
    } else valid[pc + 1] = valid[pc + 1]! & mem;
  });
  return errors;
}
