/**
 * Argument matchers: each operator owns its BPF. 64-bit comparisons are split into the high and
 * low 32-bit words of seccomp_data.args[i] (which word comes first in memory is the ABI's byte
 * order); 32-bit ABIs compare the low word only.
 */

import type { ArchDef } from '../arch/types.js';
import type { ProgramBuilder, Target } from '../bpf/builder.js';
import * as op from '../bpf/opcodes.js';
import type { Condition } from '../profile/policy.js';

export function argWordOffsets(arch: ArchDef, index: number): { lo: number; hi: number } {
  const base = op.SECCOMP_DATA_ARGS + 8 * index;
  return arch.endian === 'little' ? { lo: base, hi: base + 4 } : { lo: base + 4, hi: base };
}

const M32 = 0xffffffffn;

/** Emits code that jumps to `t` when the condition holds and to `f` when it does not. */
export function emitCondition(b: ProgramBuilder, arch: ArchDef, c: Condition, t: Target, f: Target): void {
  const { lo, hi } = argWordOffsets(arch, c.index);
  const vlo = Number(c.value & M32);
  const vhi = Number((c.value >> 32n) & M32);
  const note = `args[${c.index}] ${c.op.replace('SCMP_CMP_', '')} 0x${c.value.toString(16)}${c.op === 'SCMP_CMP_MASKED_EQ' ? ` == 0x${c.valueTwo.toString(16)}` : ''}`;
  const wide = arch.argBits === 64;
  switch (c.op) {
    case 'SCMP_CMP_EQ':
    case 'SCMP_CMP_NE': {
      const [yes, no] = c.op === 'SCMP_CMP_EQ' ? [t, f] : [f, t];
      if (wide) b.ldAbs(hi, note).jump(op.BPF_JEQ, vhi, null, no);
      b.ldAbs(lo, wide ? undefined : note).jump(op.BPF_JEQ, vlo, yes, no);
      return;
    }
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      // GT/GE hold when true; LT = !GE and LE = !GT swap the targets.
      const strict = c.op === 'SCMP_CMP_GT' || c.op === 'SCMP_CMP_LE';
      const [yes, no] = c.op === 'SCMP_CMP_GT' || c.op === 'SCMP_CMP_GE' ? [t, f] : [f, t];
      if (wide) {
        b.ldAbs(hi, note);
        if (vhi === 0xffffffff) b.jump(op.BPF_JEQ, vhi, null, no);
        else b.jump(op.BPF_JGT, vhi, yes, null).jump(op.BPF_JEQ, vhi, null, no);
      }
      b.ldAbs(lo, wide ? undefined : note).jump(strict ? op.BPF_JGT : op.BPF_JGE, vlo, yes, no);
      return;
    }
    case 'SCMP_CMP_MASKED_EQ': {
      const mlo = Number(c.value & M32);
      const mhi = Number((c.value >> 32n) & M32);
      const dlo = Number(c.valueTwo & M32);
      const dhi = Number((c.valueTwo >> 32n) & M32);
      const word = (off: number, m: number, d: number, yes: Target, comment?: string) => {
        if ((d & ~m) >>> 0 !== 0) {
          // (x & m) can never equal d: the condition is false.
          b.ja(f as string, comment);
          return false;
        }
        if (m === 0) return true; // (x & 0) == 0 always holds
        b.ldAbs(off, comment);
        if (m !== 0xffffffff) b.alu(op.BPF_AND, m);
        b.jump(op.BPF_JEQ, d, yes, f);
        return true;
      };
      if (wide && !word(hi, mhi, dhi, null, note)) return;
      if (!word(lo, mlo, dlo, t, wide ? undefined : note)) return;
      if (mlo === 0) b.ja(t as string);
      return;
    }
  }
}
