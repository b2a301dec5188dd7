// compiler/: exact output on a small profile, proof on every reference profile, cacheability, limits.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findArch, syscallTable } from '../../src/arch/tables.js';
import { disassemble } from '../../src/bpf/disasm.js';
import { emulate } from '../../src/bpf/emulate.js';
import { validateProgram } from '../../src/bpf/validate.js';
import { compile } from '../../src/compiler/compile.js';
import { verifyProgram } from '../../src/compiler/verify.js';
import { loadProfileText } from '../../src/profile/load.js';
import type { Profile } from '../../src/profile/model.js';
import { buildPolicy } from '../../src/profile/policy.js';
import { resolve } from '../../src/profile/resolve.js';
import { referenceFile } from '../helpers/schemas.js';

const opts = { nativeArch: 'x86_64' as const };

describe('compile', () => {
  it('emits the exact program for a small profile', () => {
    const p: Profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['read', 'write', 'close'], action: 'SCMP_ACT_ALLOW' },
        {
          names: ['personality'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 8n, op: 'SCMP_CMP_EQ' }],
        },
        { names: ['ptrace'], action: 'SCMP_ACT_KILL_PROCESS' },
      ],
    };
    const c = compile(p, opts);
    // Read it: arch check (bad arch: kill); nr tree; 0..1 and 3 allowed, 101 ptrace killed,
    // 135 personality checks both words of arg0, x32 numbers (>= 0x40000000) are a bad
    // architecture except -1, everything else ERRNO(38).
    expect(disassemble(c.instructions, { comments: c.comments })).toBe(
      [
        '0000: ld [4]                             ; arch',
        '0001: jeq #0xc000003e, 0003, 0002        ; AUDIT_ARCH_X86_64',
        '0002: ret #0x80000000                    ; KILL_PROCESS',
        '0003: ld [0]                             ; nr',
        '0004: jge #0x87, 0010, 0005',
        '0005: jge #0x4, 0008, 0006',
        '0006: jge #0x3, 0017, 0007',
        '0007: jge #0x2, 0019, 0017',
        '0008: jge #0x66, 0019, 0009',
        '0009: jge #0x65, 0018, 0019',
        '0010: jge #0x88, 0011, 0013',
        '0011: jge #0xffffffff, 0019, 0012',
        '0012: jge #0x40000000, 0018, 0019',
        '0013: ld [20]                            ; args[0] high word; x86_64: personality; args[0] EQ 0x8',
        '0014: jeq #0x0, 0015, 0019',
        '0015: ld [16]                            ; args[0] low word',
        '0016: jeq #0x8, 0017, 0019',
        '0017: ret #0x7fff0000                    ; ALLOW',
        '0018: ret #0x80000000                    ; KILL_PROCESS',
        '0019: ret #0x50026                       ; ERRNO(38)',
        '',
      ].join('\n'),
    );
  });

  it("tests a run of single-condition rules on one argument as one value set (Docker's socket rules)", () => {
    const p: Profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 38n, op: 'SCMP_CMP_LT' }] },
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 39n, op: 'SCMP_CMP_EQ' }] },
        { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40n, op: 'SCMP_CMP_GT' }] },
      ],
    };
    const c = compile(p, opts);
    // arg0 in [0,37] u {39} u [41, 2^64-1]: a high word other than 0 is in the set; then the low word
    expect(disassemble(c.instructions, { comments: c.comments })).toBe(
      [
        '0000: ld [4]                             ; arch',
        '0001: jeq #0xc000003e, 0003, 0002        ; AUDIT_ARCH_X86_64',
        '0002: ret #0x80000000                    ; KILL_PROCESS',
        '0003: ld [0]                             ; nr',
        '0004: jge #0x2a, 0006, 0005',
        '0005: jge #0x29, 0008, 0016',
        '0006: jge #0xffffffff, 0016, 0007',
        '0007: jge #0x40000000, 0015, 0016',
        '0008: ld [20]                            ; args[0] high word; x86_64: socket',
        '0009: jeq #0x0, 0010, 0014',
        '0010: ld [16]                            ; args[0] low word',
        '0011: jgt #0x25, 0012, 0014',
        '0012: jeq #0x27, 0014, 0013',
        '0013: jge #0x29, 0014, 0016',
        '0014: ret #0x7fff0000                    ; ALLOW',
        '0015: ret #0x80000000                    ; KILL_PROCESS',
        '0016: ret #0x50001                       ; ERRNO(1)',
        '',
      ].join('\n'),
    );
    expect(verifyProgram(p, c.instructions, opts).mismatches).toEqual([]);
  });

  it('proves itself on every reference profile, architecture set and option (emulate == evaluate)', () => {
    let cases = 0;
    for (const f of [
      'docker-default.json',
      'podman-default.json',
      'docker-example.json',
      'docker-conditional-include.json',
      'spo-example-seccompprofile.yaml',
    ]) {
      const loaded = loadProfileText(readFileSync(referenceFile(f), 'utf8'));
      for (const { profile } of loaded.profiles)
        for (const arch of ['x86_64', 'aarch64', 's390x', 'ppc64le', 'riscv64'])
          for (const enosysStub of [false, true]) {
            const r = resolve(profile, { arch, kernelVersion: '6.1' });
            const o = { nativeArch: findArch(arch)!.id, enosysStub };
            const c = compile(r, o);
            expect(validateProgram(c.instructions), `${f} ${arch}`).toEqual([]);
            const v = verifyProgram(r, c.instructions, o);
            expect(v.mismatches, `${f} ${arch} stub=${enosysStub}`).toEqual([]);
            cases += v.cases;
          }
    }
    expect(cases).toBeGreaterThan(60_000);
  });

  it("keeps every unconditional allow cacheable: its path reads only nr and arch (Docker's default, 3 ABIs)", () => {
    const r = resolve(
      loadProfileText(readFileSync(referenceFile('docker-default.json'), 'utf8')).profiles[0]!.profile,
      {
        arch: 'x86_64',
        kernelVersion: '6.1',
      },
    );
    const c = compile(r, opts);
    const policy = buildPolicy(r, opts);
    let allowed = 0;
    const notCacheable: string[] = [];
    for (const a of policy.arches) {
      for (const [nr, s] of policy.byArch.get(a.id)!.syscalls) {
        if (s.unconditional?.action.kind !== 'ALLOW') continue;
        allowed++;
        const e = emulate(c.instructions, { nr, arch: a.auditArch, args: [1n, 2n, 3n, 4n, 5n, 6n] });
        if (e.loads.some((off) => off !== 0 && off !== 4))
          notCacheable.push(`${a.id}:${syscallTable(a).name(nr)}`);
      }
    }
    expect(notCacheable).toEqual([]);
    expect(allowed).toBeGreaterThan(900);
  });

  it('the ENOSYS stub covers numbers above the highest one the profile names, not -1', () => {
    const p: Profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [{ names: ['read', 'openat'], action: 'SCMP_ACT_ALLOW' }],
    };
    const c = compile(p, { ...opts, enosysStub: true });
    const ret = (nr: number) => emulate(c.instructions, { nr, arch: 0xc000003e }).ret;
    expect(
      [ret(0), ret(1), ret(257), ret(258), ret(500), ret(0xffffffff)].map((x) => x.toString(16)),
    ).toEqual(['7fff0000', '50001', '7fff0000', '50026', '50026', '50001']);
  });

  it('refuses a filter over 4096 instructions and says how large it is', () => {
    const names = syscallTable('x86_64')
      .entries.map(([n]) => n)
      .slice(0, 300);
    const p: Profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: names.map((n, i) => ({
        names: [n],
        action: 'SCMP_ACT_ALLOW',
        args: [0, 1, 2].map((index) => ({ index, value: BigInt(i * 3 + index), op: 'SCMP_CMP_EQ' as const })),
      })),
    };
    expect(() => compile(p, opts)).toThrow(
      expect.objectContaining({
        code: 'program-too-large',
        message: expect.stringMatching(
          /^the filter needs \d{4} instructions; the kernel accepts at most 4096/,
        ),
      }),
    );
  });
});
