/** One classic BPF instruction: struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }. */
export interface Instruction {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const insn = (code: number, k = 0, jt = 0, jf = 0): Instruction => ({ code, jt, jf, k: k >>> 0 });

export type Program = readonly Instruction[];
