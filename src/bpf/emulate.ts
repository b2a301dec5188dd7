/**
 * A classic BPF interpreter over struct seccomp_data (the full instruction set, not only what
 * seccomp allows), counting executed instructions and the offsets the path loaded.
 */
import { BpfError } from './errors.js';
import type { Program } from './instruction.js';
import * as op from './opcodes.js';

export interface SeccompData {
  nr: number;
  /** AUDIT_ARCH_* value. */
  arch: number;
  instructionPointer?: bigint;
  args?: readonly bigint[];
}

export interface EmulationResult {
  /** The filter's return value (action | data). */
  ret: number;
  /** Instructions executed. */
  steps: number;
  /** seccomp_data offsets loaded on the way (sorted, unique). */
  loads: number[];
}

/** The 64-byte seccomp_data in the given byte order. */
export function seccompDataBytes(d: SeccompData, endian: 'little' | 'big'): DataView {
  const view = new DataView(new ArrayBuffer(op.SECCOMP_DATA_SIZE));
  const le = endian === 'little';
  view.setInt32(op.SECCOMP_DATA_NR, d.nr | 0, le);
  view.setUint32(op.SECCOMP_DATA_ARCH, d.arch >>> 0, le);
  view.setBigUint64(op.SECCOMP_DATA_IP, BigInt.asUintN(64, d.instructionPointer ?? 0n), le);
  for (let i = 0; i < 6; i++)
    view.setBigUint64(op.SECCOMP_DATA_ARGS + 8 * i, BigInt.asUintN(64, d.args?.[i] ?? 0n), le);
  return view;
}

/** Called before each instruction runs, with the accumulator and where it was last loaded from. */
export type StepHook = (pc: number, a: number, lastLoad: number | undefined) => void;

export function emulate(
  p: Program,
  d: SeccompData,
  endian: 'little' | 'big' = 'little',
  onStep?: StepHook,
): EmulationResult {
  const data = seccompDataBytes(d, endian);
  const le = endian === 'little';
  const mem = new Uint32Array(op.BPF_MEMWORDS);
  const loads = new Set<number>();
  let A = 0;
  let X = 0;
  let pc = 0;
  let steps = 0;
  let lastLoad: number | undefined;
  const load = (off: number, size: number): number => {
    if (off < 0 || off + size > op.SECCOMP_DATA_SIZE)
      throw new BpfError('bpf-load', pc, `load of ${size} bytes at ${off} is outside seccomp_data`);
    loads.add(off);
    lastLoad = off;
    return size === 4 ? data.getUint32(off, le) : size === 2 ? data.getUint16(off, le) : data.getUint8(off);
  };
  const finish = (ret: number): EmulationResult => ({
    ret: ret >>> 0,
    steps,
    loads: [...loads].sort((a, b) => a - b),
  });
  while (true) {
    const i = p[pc];
    if (!i) throw new BpfError('bpf-no-ret', pc, 'execution fell off the end of the program');
    steps++;
    onStep?.(pc, A, lastLoad);
    const code = i.code;
    const k = i.k >>> 0;
    const size = op.BPF_SIZE(code) === op.BPF_W ? 4 : op.BPF_SIZE(code) === op.BPF_H ? 2 : 1;
    switch (op.BPF_CLASS(code)) {
      case op.BPF_LD:
        switch (op.BPF_MODE(code)) {
          case op.BPF_ABS:
            A = load(k, size);
            break;
          case op.BPF_IND:
            A = load((X + k) >>> 0, size);
            break;
          case op.BPF_IMM:
            A = k;
            break;
          case op.BPF_LEN:
            A = op.SECCOMP_DATA_SIZE;
            break;
          case op.BPF_MEM:
            A = mem[k & 15]!;
            break;
          default:
            throw new BpfError('bpf-opcode', pc, `bad load mode in 0x${code.toString(16)}`);
        }
        break;
      case op.BPF_LDX:
        switch (op.BPF_MODE(code)) {
          case op.BPF_IMM:
            X = k;
            break;
          case op.BPF_LEN:
            X = op.SECCOMP_DATA_SIZE;
            break;
          case op.BPF_MEM:
            X = mem[k & 15]!;
            break;
          case op.BPF_MSH:
            X = (load(k, 1) & 0xf) << 2;
            break;
          default:
            throw new BpfError('bpf-opcode', pc, `bad ldx mode in 0x${code.toString(16)}`);
        }
        break;
      case op.BPF_ST:
        mem[k & 15] = A;
        break;
      case op.BPF_STX:
        mem[k & 15] = X;
        break;
      case op.BPF_ALU: {
        const v = op.BPF_SRC(code) === op.BPF_X ? X : k;
        switch (op.BPF_OP(code)) {
          case op.BPF_ADD:
            A = (A + v) >>> 0;
            break;
          case op.BPF_SUB:
            A = (A - v) >>> 0;
            break;
          case op.BPF_MUL:
            A = Math.imul(A, v) >>> 0;
            break;
          case op.BPF_DIV:
            // division by zero ends the program with 0, as in the kernel's interpreter
            if (v === 0) return finish(0);
            A = Math.floor(A / v) >>> 0;
            break;
          case op.BPF_MOD:
            if (v === 0) return finish(0);
            A = (A % v) >>> 0;
            break;
          case op.BPF_OR:
            A = (A | v) >>> 0;
            break;
          case op.BPF_AND:
            A = (A & v) >>> 0;
            break;
          case op.BPF_XOR:
            A = (A ^ v) >>> 0;
            break;
          case op.BPF_LSH:
            A = v >= 32 ? 0 : (A << v) >>> 0;
            break;
          case op.BPF_RSH:
            A = v >= 32 ? 0 : A >>> v;
            break;
          case op.BPF_NEG:
            A = -A >>> 0;
            break;
          default:
            throw new BpfError('bpf-opcode', pc, `bad alu op in 0x${code.toString(16)}`);
        }
        break;
      }
      case op.BPF_JMP: {
        const v = op.BPF_SRC(code) === op.BPF_X ? X : k;
        let taken: boolean;
        switch (op.BPF_OP(code)) {
          case op.BPF_JA:
            pc += 1 + k;
            continue;
          case op.BPF_JEQ:
            taken = A === v;
            break;
          case op.BPF_JGT:
            taken = A > v;
            break;
          case op.BPF_JGE:
            taken = A >= v;
            break;
          case op.BPF_JSET:
            taken = (A & v) !== 0;
            break;
          default:
            throw new BpfError('bpf-opcode', pc, `bad jump op in 0x${code.toString(16)}`);
        }
        pc += 1 + (taken ? i.jt : i.jf);
        continue;
      }
      case op.BPF_RET:
        return finish(op.BPF_RVAL(code) === op.BPF_A ? A : k);
      case op.BPF_MISC:
        if (op.BPF_MISCOP(code) === op.BPF_TAX) X = A;
        else A = X;
        break;
      default:
        throw new BpfError('bpf-opcode', pc, `bad opcode 0x${code.toString(16)}`);
    }
    pc++;
  }
}
