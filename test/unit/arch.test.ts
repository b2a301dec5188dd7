// Architecture data: AUDIT_ARCH values, widths, endianness, x32 numbering and multiplexers.
import { describe, expect, it } from 'vitest';
import { ARCH_DEFS } from '../../src/arch/defs.js';
import { findArch, syscallTable } from '../../src/arch/tables.js';
import { run } from '../helpers/proc.js';

describe('ArchDef data', () => {
  it('has every ABI runc accepts, with the kernel AUDIT_ARCH values', () => {
    expect(
      ARCH_DEFS.map((a) => [a.scmp, `0x${a.auditArch.toString(16)}`, a.bits, a.argBits, a.endian]),
    ).toEqual([
      ['SCMP_ARCH_X86_64', '0xc000003e', 64, 64, 'little'],
      ['SCMP_ARCH_X86', '0x40000003', 32, 32, 'little'],
      ['SCMP_ARCH_X32', '0xc000003e', 32, 32, 'little'],
      ['SCMP_ARCH_AARCH64', '0xc00000b7', 64, 64, 'little'],
      ['SCMP_ARCH_ARM', '0x40000028', 32, 32, 'little'],
      ['SCMP_ARCH_RISCV64', '0xc00000f3', 64, 64, 'little'],
      ['SCMP_ARCH_PPC64LE', '0xc0000015', 64, 64, 'little'],
      ['SCMP_ARCH_PPC64', '0x80000015', 64, 64, 'big'],
      ['SCMP_ARCH_PPC', '0x14', 32, 32, 'big'],
      ['SCMP_ARCH_S390X', '0x80000016', 64, 64, 'big'],
      ['SCMP_ARCH_S390', '0x16', 32, 32, 'big'],
      ['SCMP_ARCH_MIPS', '0x8', 32, 32, 'big'],
      ['SCMP_ARCH_MIPSEL', '0x40000008', 32, 32, 'little'],
      ['SCMP_ARCH_MIPS64', '0x80000008', 64, 64, 'big'],
      ['SCMP_ARCH_MIPSEL64', '0xc0000008', 64, 64, 'little'],
      ['SCMP_ARCH_MIPS64N32', '0xa0000008', 32, 32, 'big'],
      ['SCMP_ARCH_MIPSEL64N32', '0xe0000008', 32, 32, 'little'],
      ['SCMP_ARCH_LOONGARCH64', '0xc0000102', 64, 64, 'little'],
    ]);
  });

  it('x86_64 and x32 share an AUDIT_ARCH and are told apart by the x32 bit', () => {
    expect(findArch('x86_64')!.nrBit).toEqual({ bit: 0x40000000, set: false });
    expect(findArch('x32')!.nrBit).toEqual({ bit: 0x40000000, set: true });
    expect(syscallTable('x32').number('read')).toBe(0x40000000);
    expect(syscallTable('x32').number('readv')).toBe(0x40000000 + 515);
    expect(syscallTable('x32').number('ioctl')).toBe(0x40000000 + 514);
  });

  it('socketcall and ipc multiplexers exist exactly where the kernel has them', () => {
    const withMux = ARCH_DEFS.filter((a) => a.multiplexers.length > 0).map((a) => a.id);
    expect(withMux).toEqual(['x86', 'ppc64le', 'ppc64', 'ppc', 's390x', 's390', 'mips', 'mipsel']);
    for (const a of ARCH_DEFS) {
      const t = syscallTable(a);
      for (const m of a.multiplexers) expect(t.number(m.syscall), `${a.id} ${m.syscall}`).toBeDefined();
    }
    expect(syscallTable('x86').number('socketcall')).toBe(102);
    expect(syscallTable('mips').number('ipc')).toBe(4117);
  });

  it('looks numbers and names up both ways, with base offsets', () => {
    const t = (id: string) => syscallTable(findArch(id)!);
    expect(
      [
        'x86_64',
        'x86',
        'aarch64',
        'arm',
        'mips',
        'mips64',
        'mips64n32',
        's390x',
        'ppc64le',
        'loongarch64',
      ].map((a) => t(a).number('openat')),
    ).toEqual([257, 295, 56, 322, 4288, 5247, 6251, 288, 286, 56]);
    expect(t('x86_64').name(59)).toBe('execve');
    expect(t('arm').number('set_tls')).toBe(0x0f0005);
    expect(t('x86_64').number('uselib')).toBe(134); // legacy name, still resolved like libseccomp
  });

  it('accepts the common spellings of architectures', () => {
    expect(
      ['amd64', 'SCMP_ARCH_X86_64', 'x86_64', 'i386', '386', 'arm64', 'loong64'].map((n) => findArch(n)?.id),
    ).toEqual(['x86_64', 'x86_64', 'x86_64', 'x86', 'x86', 'aarch64', 'loongarch64']);
    expect(findArch('sparc')).toBeUndefined();
  });

  it('generated tables match data/ (the generator reports no stale file)', async () => {
    const r = await run('node', ['scripts/gen-syscall-tables.mjs', '--check']);
    expect([r.status, r.stdout]).toEqual([0, '']);
  });
});
