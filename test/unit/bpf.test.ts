// bpf/: codec, builder (labels, long jumps), validator, disassembler/assembler, emulator.
import { describe, expect, it } from 'vitest';
import { ProgramBuilder } from '../../src/bpf/builder.js';
import { assemble, disassemble } from '../../src/bpf/disasm.js';
import { emulate } from '../../src/bpf/emulate.js';
import { decode, encode } from '../../src/bpf/encode.js';
import type { Instruction } from '../../src/bpf/instruction.js';
import * as op from '../../src/bpf/opcodes.js';
import { validateProgram } from '../../src/bpf/validate.js';
import { mulberry32 } from '../helpers/random-profiles.js';

const I = (code: number, jt: number, jf: number, k: number): Instruction => ({ code, jt, jf, k });
const X86_64 = 0xc000003e;

describe('encode/decode', () => {
  it("is the kernel's struct sock_filter: u16 code, u8 jt, u8 jf, u32 k, little-endian here", () => {
    const bytes = encode([I(0x15, 1, 2, 0xc000003e), I(0x06, 0, 0, 0x7fff0000)], 'little');
    expect([...bytes]).toEqual([0x15, 0, 1, 2, 0x3e, 0, 0, 0xc0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]);
    expect(decode(bytes, 'little')).toEqual([I(0x15, 1, 2, 0xc000003e), I(0x06, 0, 0, 0x7fff0000)]);
    expect([...encode([I(0x15, 1, 2, 0xc000003e)], 'big')]).toEqual([0, 0x15, 1, 2, 0xc0, 0, 0, 0x3e]);
  });
  it('refuses a truncated array with the instruction index', () => {
    expect(() => decode(new Uint8Array(12))).toThrow(
      expect.objectContaining({ code: 'bpf-truncated', pc: 1 }),
    );
  });
});

describe('ProgramBuilder', () => {
  it('resolves symbolic labels into offsets', () => {
    const b = new ProgramBuilder();
    b.ldAbs(op.SECCOMP_DATA_ARCH)
      .jump(op.BPF_JEQ, X86_64, 'ok', null)
      .ret(op.SECCOMP_RET_KILL_PROCESS)
      .label('ok')
      .ret(op.SECCOMP_RET_ALLOW);
    expect(b.build().instructions).toEqual([
      I(0x20, 0, 0, 4),
      I(0x15, 1, 0, X86_64),
      I(0x06, 0, 0, 0x80000000),
      I(0x06, 0, 0, 0x7fff0000),
    ]);
  });
  it('rewrites jumps longer than 255 through a ja trampoline and keeps fall-through targets', () => {
    const b = new ProgramBuilder();
    b.ldAbs(op.SECCOMP_DATA_NR).jump(op.BPF_JEQ, 7, 'far', null);
    for (let i = 0; i < 300; i++) b.ret(op.SECCOMP_RET_ERRNO | i);
    b.label('far').ret(op.SECCOMP_RET_ALLOW);
    const p = b.build().instructions;
    expect(p.length).toBe(304);
    expect(p[1]).toEqual(I(0x15, 0, 1, 7)); // true -> the trampoline right after it; false -> past it
    expect(p[2]).toEqual(I(op.BPF_JMP | op.BPF_JA, 0, 0, 300));
    expect(validateProgram(p)).toEqual([]);
    expect(emulate(p, { nr: 7, arch: X86_64 }).ret).toBe(op.SECCOMP_RET_ALLOW);
    expect(emulate(p, { nr: 8, arch: X86_64 }).ret).toBe(op.SECCOMP_RET_ERRNO | 0);
  });
  it('reports undefined labels with the instruction index', () => {
    const b = new ProgramBuilder().jump(op.BPF_JEQ, 1, 'nowhere', null).ret(0);
    expect(() => b.build()).toThrow(expect.objectContaining({ code: 'bpf-undefined-label', pc: 0 }));
  });
});

describe('validateProgram (the kernel rules)', () => {
  const codes = (p: Instruction[]) => validateProgram(p).map((e) => [e.code, e.pc]);
  it('accepts a well-formed filter', () => {
    expect(codes([I(0x20, 0, 0, 0), I(0x06, 0, 0, 0x7fff0000)])).toEqual([]);
  });
  it('names each problem with its instruction', () => {
    expect(codes([])).toEqual([['bpf-empty', 0]]);
    expect(codes([I(0x20, 0, 0, 2), I(0x06, 0, 0, 0)])).toEqual([['bpf-load', 0]]);
    expect(codes([I(0x20, 0, 0, 64), I(0x06, 0, 0, 0)])).toEqual([['bpf-load', 0]]);
    expect(codes([I(0x28, 0, 0, 0), I(0x06, 0, 0, 0)])).toEqual([['bpf-opcode', 0]]); // ldh: not for seccomp
    expect(codes([I(0x20, 0, 0, 0)])).toEqual([['bpf-no-ret', 0]]);
    expect(codes([I(0x15, 5, 0, 1), I(0x06, 0, 0, 0)])).toEqual([['bpf-jump-range', 0]]);
    expect(codes([I(0x34, 0, 0, 0), I(0x06, 0, 0, 0)])).toEqual([['bpf-div-zero', 0]]);
    expect(codes([I(0x60, 0, 0, 3), I(0x06, 0, 0, 0)])).toEqual([['bpf-mem-uninit', 0]]);
    expect(codes(new Array(4097).fill(I(0x06, 0, 0, 0)))).toEqual([['bpf-too-long', 4096]]);
  });
});

describe('disassembler and assembler', () => {
  it('writes a stable, readable text', () => {
    const p = [
      I(0x20, 0, 0, 4),
      I(0x15, 0, 1, X86_64),
      I(0x06, 0, 0, 0x80000000),
      I(0x20, 0, 0, 16),
      I(0x54, 0, 0, 0xff),
      I(0x06, 0, 0, 0x50026),
    ];
    expect(disassemble(p)).toBe(
      [
        '0000: ld [4]                             ; arch',
        '0001: jeq #0xc000003e, 0002, 0003',
        '0002: ret #0x80000000                    ; KILL_PROCESS',
        '0003: ld [16]                            ; args[0] low word',
        '0004: and #0xff',
        '0005: ret #0x50026                       ; ERRNO(38)',
        '',
      ].join('\n'),
    );
  });
  it('round-trips every instruction of 2000 random ones byte for byte (valid or not)', () => {
    const r = mulberry32(7);
    const p = Array.from({ length: 2000 }, () =>
      I(
        Math.floor(r() * 0x10000),
        Math.floor(r() * 256),
        Math.floor(r() * 256),
        Math.floor(r() * 0x100000000),
      ),
    );
    // plus every real opcode with plausible fields
    for (const code of [
      0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x00, 0x80, 0x60, 0x01, 0x81, 0x61, 0xb1, 0x02, 0x03, 0x04, 0x0c,
      0x84, 0x94, 0x05, 0x15, 0x1d, 0x25, 0x35, 0x45, 0x06, 0x16, 0x07, 0x87,
    ])
      p.push(I(code, code & 0x05 ? 1 : 0, code & 0x05 ? 2 : 0, 3));
    const bytes = encode(p);
    expect(encode(assemble(disassemble(decode(bytes))))).toEqual(bytes);
  });
  it('reports assembler errors with the instruction index', () => {
    expect(() => assemble('0000: ld [4]\n0001: frob #1\n')).toThrow(
      expect.objectContaining({ code: 'asm-syntax', pc: 1 }),
    );
    expect(() => assemble('0000: ld [4]\n0002: ret #0\n')).toThrow(
      expect.objectContaining({ code: 'asm-pc', pc: 1 }),
    );
  });
});

describe('emulator', () => {
  it('runs ALU, scratch memory, X register and every jump over seccomp_data', () => {
    const p = assemble(
      [
        '0000: ld [16]', // args[0] low word
        '0001: add #0x10',
        '0002: st M[3]',
        '0003: ldx M[3]',
        '0004: txa',
        '0005: mul #0x3',
        '0006: sub x',
        '0007: rsh #0x1',
        '0008: jset #0x1, 0009, 0010',
        '0009: ret #0x7fff0000',
        '0010: ld [20]', // args[0] high word
        '0011: jgt #0x0, 0012, 0013',
        '0012: ret a',
        '0013: ret #0x50001',
      ].join('\n'),
    );
    // (((5 + 16) * 3) - 21) >> 1 = 21: odd -> ALLOW
    expect(emulate(p, { nr: 0, arch: X86_64, args: [5n] })).toEqual({
      ret: 0x7fff0000,
      steps: 10,
      loads: [16],
    });
    // (((6 + 16) * 3) - 22) >> 1 = 22: even -> high word 1 > 0 -> ret A (= 1)
    expect(emulate(p, { nr: 0, arch: X86_64, args: [0x1_0000_0006n] }).ret).toBe(1);
    // big-endian ABIs keep the high word first
    expect(
      emulate(assemble('0000: ld [16]\n0001: ret a\n'), { nr: 0, arch: 0, args: [0x1_0000_0002n] }, 'big')
        .ret,
    ).toBe(1);
  });
  it('loads nr as a 32-bit value (-1 is 0xffffffff) and arch at offset 4', () => {
    const p = assemble('0000: ld [0]\n0001: ret a\n');
    expect(emulate(p, { nr: -1, arch: X86_64 }).ret).toBe(0xffffffff);
    expect(emulate(assemble('0000: ld [4]\n0001: ret a\n'), { nr: 0, arch: X86_64 }).ret).toBe(X86_64);
  });
});
