/**
 * A readable, stable text form of classic BPF, and the assembler that reads it back
 * (assemble(disassemble(p)) encodes to the same bytes for any program, valid or not).
 *
 *   0000: ld [4]                          ; arch
 *   0001: jeq #0xc000003e, 0002, 0009
 *   0009: ret #0x80000000                 ; KILL_PROCESS
 *
 * Jump targets are absolute instruction indices. An instruction with no canonical spelling
 * (unused fields set, unknown opcode) is written `.word CODE, JT, JF, K`.
 */
import { describeRet } from './actions.js';
import { BpfError } from './errors.js';
import type { Instruction, Program } from './instruction.js';
import * as op from './opcodes.js';

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
const ALU: Record<number, string> = {
  [op.BPF_ADD]: 'add',
  [op.BPF_SUB]: 'sub',
  [op.BPF_MUL]: 'mul',
  [op.BPF_DIV]: 'div',
  [op.BPF_OR]: 'or',
  [op.BPF_AND]: 'and',
  [op.BPF_LSH]: 'lsh',
  [op.BPF_RSH]: 'rsh',
  [op.BPF_MOD]: 'mod',
  [op.BPF_XOR]: 'xor',
};
const JMP: Record<number, string> = {
  [op.BPF_JEQ]: 'jeq',
  [op.BPF_JGT]: 'jgt',
  [op.BPF_JGE]: 'jge',
  [op.BPF_JSET]: 'jset',
};
const SIZE: Record<number, string> = { [op.BPF_W]: 'ld', [op.BPF_H]: 'ldh', [op.BPF_B]: 'ldb' };
const pad4 = (n: number) => String(n).padStart(4, '0');

/** The mnemonic text of one instruction at pc (without the pc prefix), or undefined. */
function mnemonic(i: Instruction, pc: number): string | undefined {
  const { code, k } = i;
  const cls = op.BPF_CLASS(code);
  // opcodes are 8-bit; only conditional jumps use jt/jf
  if (code > 0xff) return undefined;
  if ((cls !== op.BPF_JMP || op.BPF_OP(code) === op.BPF_JA) && (i.jt !== 0 || i.jf !== 0)) return undefined;
  switch (cls) {
    case op.BPF_LD: {
      const size = SIZE[op.BPF_SIZE(code)];
      const mode = op.BPF_MODE(code);
      if (size === undefined) return undefined;
      if (mode === op.BPF_ABS) return `${size} [${k}]`;
      if (mode === op.BPF_IND) return `${size} [x + ${k}]`;
      if (op.BPF_SIZE(code) !== op.BPF_W) return undefined;
      if (mode === op.BPF_IMM) return `ld #${hex(k)}`;
      if (mode === op.BPF_LEN && k === 0) return 'ld #len';
      if (mode === op.BPF_MEM) return `ld M[${k}]`;
      return undefined;
    }
    case op.BPF_LDX: {
      const mode = op.BPF_MODE(code);
      if (mode === op.BPF_MSH && op.BPF_SIZE(code) === op.BPF_B) return `ldxb 4*([${k}]&0xf)`;
      if (op.BPF_SIZE(code) !== op.BPF_W) return undefined;
      if (mode === op.BPF_IMM) return `ldx #${hex(k)}`;
      if (mode === op.BPF_LEN && k === 0) return 'ldx #len';
      if (mode === op.BPF_MEM) return `ldx M[${k}]`;
      return undefined;
    }
    case op.BPF_ST:
      return code === op.BPF_ST ? `st M[${k}]` : undefined;
    case op.BPF_STX:
      return code === op.BPF_STX ? `stx M[${k}]` : undefined;
    case op.BPF_ALU: {
      if (op.BPF_OP(code) === op.BPF_NEG)
        return code === (op.BPF_ALU | op.BPF_NEG) && k === 0 ? 'neg' : undefined;
      const name = ALU[op.BPF_OP(code)];
      if (name === undefined || (code & 0x07) !== op.BPF_ALU) return undefined;
      if (op.BPF_SRC(code) === op.BPF_X) return k === 0 ? `${name} x` : undefined;
      return `${name} #${hex(k)}`;
    }
    case op.BPF_JMP: {
      if (op.BPF_OP(code) === op.BPF_JA)
        return code === (op.BPF_JMP | op.BPF_JA) && i.jt === 0 && i.jf === 0 && pc + 1 + k <= 0xffffffff
          ? `ja ${pad4(pc + 1 + k)}`
          : undefined;
      const name = JMP[op.BPF_OP(code)];
      if (name === undefined) return undefined;
      const src = op.BPF_SRC(code) === op.BPF_X ? 'x' : `#${hex(k)}`;
      if (op.BPF_SRC(code) === op.BPF_X && k !== 0) return undefined;
      return `${name} ${src}, ${pad4(pc + 1 + i.jt)}, ${pad4(pc + 1 + i.jf)}`;
    }
    case op.BPF_RET:
      if (code === (op.BPF_RET | op.BPF_K)) return `ret #${hex(k)}`;
      if (code === (op.BPF_RET | op.BPF_A) && k === 0) return 'ret a';
      return undefined;
    case op.BPF_MISC:
      if (code === (op.BPF_MISC | op.BPF_TAX) && k === 0) return 'tax';
      if (code === (op.BPF_MISC | op.BPF_TXA) && k === 0) return 'txa';
      return undefined;
  }
  return undefined;
}

const LOAD_NAMES = (k: number, endian: 'little' | 'big'): string | undefined => {
  if (k === op.SECCOMP_DATA_NR) return 'nr';
  if (k === op.SECCOMP_DATA_ARCH) return 'arch';
  if (k === op.SECCOMP_DATA_IP) return `instruction_pointer ${endian === 'little' ? 'low' : 'high'} word`;
  if (k === op.SECCOMP_DATA_IP + 4) return `instruction_pointer ${endian === 'little' ? 'high' : 'low'} word`;
  if (k >= op.SECCOMP_DATA_ARGS && k < op.SECCOMP_DATA_SIZE && k % 4 === 0) {
    const n = (k - op.SECCOMP_DATA_ARGS) >> 3;
    const first = (k - op.SECCOMP_DATA_ARGS) % 8 === 0;
    return `args[${n}] ${first === (endian === 'little') ? 'low' : 'high'} word`;
  }
  return undefined;
};

export interface DisasmOptions {
  /** Extra comments per instruction index (from the compiler). */
  comments?: ReadonlyMap<number, string>;
  /** Byte order used to name argument halves in comments. */
  endian?: 'little' | 'big';
}

export function disassemble(p: Program, opts: DisasmOptions = {}): string {
  const lines = p.map((i, pc) => {
    const m = mnemonic(i, pc);
    const body = m ?? `.word ${hex(i.code)}, ${i.jt}, ${i.jf}, ${hex(i.k)}`;
    const notes: string[] = [];
    if (m !== undefined && i.code === (op.BPF_LD | op.BPF_W | op.BPF_ABS)) {
      const n = LOAD_NAMES(i.k, opts.endian ?? 'little');
      if (n) notes.push(n);
    }
    if (m !== undefined && i.code === (op.BPF_RET | op.BPF_K)) notes.push(describeRet(i.k));
    const extra = opts.comments?.get(pc);
    if (extra) notes.push(extra);
    const text = `${pad4(pc)}: ${body}`;
    return notes.length > 0 ? `${text.padEnd(40)} ; ${notes.join('; ')}` : text;
  });
  return `${lines.join('\n')}\n`;
}

const num = (s: string, pc: number): number => {
  const t = s.trim().replace(/^#/, '');
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new BpfError('asm-number', pc, `"${s}" is not a number`);
  const v = Number(t);
  if (v > 0xffffffff) throw new BpfError('asm-number', pc, `${s} does not fit in 32 bits`);
  return v >>> 0;
};

/** Reads the disassembler's text back into instructions. Comments (after ';') are ignored. */
export function assemble(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, lineNo) => {
    const line = raw.replace(/;.*$/, '').trim();
    if (line === '') return;
    const pc = out.length;
    const m = /^(\d+):\s*(.*)$/.exec(line);
    if (!m) throw new BpfError('asm-syntax', pc, `line ${lineNo + 1}: expected "NNNN: instruction"`);
    if (Number(m[1]) !== pc)
      throw new BpfError(
        'asm-pc',
        pc,
        `line ${lineNo + 1}: instruction index ${m[1]} where ${pc} was expected`,
      );
    const s = m[2]!.trim();
    const target = (t: string) => {
      const abs = num(t, pc);
      const off = abs - pc - 1;
      if (off < 0)
        throw new BpfError(
          'asm-backward-jump',
          pc,
          `line ${lineNo + 1}: jump target ${t} is not after the jump`,
        );
      return off;
    };
    const push = (code: number, k = 0, jt = 0, jf = 0) => out.push({ code, jt, jf, k: k >>> 0 });
    const aluOp = (name: string) => Number(Object.entries(ALU).find(([, n]) => n === name)![0]);
    const jmpOp = (name: string) => Number(Object.entries(JMP).find(([, n]) => n === name)![0]);
    const forms: [RegExp, (r: RegExpExecArray) => void][] = [
      [
        /^\.word\s+(\S+),\s*(\S+),\s*(\S+),\s*(\S+)$/,
        (r) => push(num(r[1]!, pc), num(r[4]!, pc), num(r[2]!, pc), num(r[3]!, pc)),
      ],
      [/^(ld|ldh|ldb) \[x \+ (\S+)\]$/, (r) => push(op.BPF_LD | sizeOf(r[1]!) | op.BPF_IND, num(r[2]!, pc))],
      [/^(ld|ldh|ldb) \[(\S+)\]$/, (r) => push(op.BPF_LD | sizeOf(r[1]!) | op.BPF_ABS, num(r[2]!, pc))],
      [/^ld #len$/, () => push(op.BPF_LD | op.BPF_W | op.BPF_LEN)],
      [/^ldx #len$/, () => push(op.BPF_LDX | op.BPF_W | op.BPF_LEN)],
      [/^ld (#\S+)$/, (r) => push(op.BPF_LD | op.BPF_IMM, num(r[1]!, pc))],
      [/^ldx (#\S+)$/, (r) => push(op.BPF_LDX | op.BPF_IMM, num(r[1]!, pc))],
      [/^ld M\[(\S+)\]$/, (r) => push(op.BPF_LD | op.BPF_MEM, num(r[1]!, pc))],
      [/^ldx M\[(\S+)\]$/, (r) => push(op.BPF_LDX | op.BPF_MEM, num(r[1]!, pc))],
      [/^ldxb 4\*\(\[(\S+)\]&0xf\)$/, (r) => push(op.BPF_LDX | op.BPF_B | op.BPF_MSH, num(r[1]!, pc))],
      [/^st M\[(\S+)\]$/, (r) => push(op.BPF_ST, num(r[1]!, pc))],
      [/^stx M\[(\S+)\]$/, (r) => push(op.BPF_STX, num(r[1]!, pc))],
      [/^neg$/, () => push(op.BPF_ALU | op.BPF_NEG)],
      [
        /^(add|sub|mul|div|or|and|lsh|rsh|mod|xor) (x|#\S+)$/,
        (r) =>
          r[2] === 'x'
            ? push(op.BPF_ALU | aluOp(r[1]!) | op.BPF_X)
            : push(op.BPF_ALU | aluOp(r[1]!) | op.BPF_K, num(r[2]!, pc)),
      ],
      [/^ja (\S+)$/, (r) => push(op.BPF_JMP | op.BPF_JA, target(r[1]!))],
      [
        /^(jeq|jgt|jge|jset) (x|#\S+),\s*(\S+),\s*(\S+)$/,
        (r) => {
          const jt = target(r[3]!);
          const jf = target(r[4]!);
          if (jt > 255 || jf > 255)
            throw new BpfError(
              'asm-jump-range',
              pc,
              `line ${lineNo + 1}: a conditional jump reaches at most 255 instructions`,
            );
          if (r[2] === 'x') push(op.BPF_JMP | jmpOp(r[1]!) | op.BPF_X, 0, jt, jf);
          else push(op.BPF_JMP | jmpOp(r[1]!) | op.BPF_K, num(r[2]!, pc), jt, jf);
        },
      ],
      [/^ret (#\S+)$/, (r) => push(op.BPF_RET | op.BPF_K, num(r[1]!, pc))],
      [/^ret a$/, () => push(op.BPF_RET | op.BPF_A)],
      [/^tax$/, () => push(op.BPF_MISC | op.BPF_TAX)],
      [/^txa$/, () => push(op.BPF_MISC | op.BPF_TXA)],
    ];
    for (const [re, handle] of forms) {
      const r = re.exec(s);
      if (r) {
        handle(r);
        return;
      }
    }
    throw new BpfError('asm-syntax', pc, `line ${lineNo + 1}: unknown instruction "${s}"`);
  });
  return out;
}

function sizeOf(m: string): number {
  return m === 'ld' ? op.BPF_W : m === 'ldh' ? op.BPF_H : op.BPF_B;
}
