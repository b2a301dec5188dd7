// lint: each finding's code, severity and JSON path on small profiles made to trigger it, and a
// golden of the findings on Docker's and Podman's defaults (reviewed by hand when they change).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLintText, lintFile } from '../../src/cli/commands/lint.js';
import type { Profile } from '../../src/profile/model.js';
import { lintProfile } from '../../src/review/lint.js';
import { golden } from '../helpers/golden.js';

const shared = join(import.meta.dirname, '..', '..', '..', 'shared', 'profiles');

const base = (syscalls: Profile['syscalls'], extra: Partial<Profile> = {}): Profile => ({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  syscalls,
  ...extra,
});
const codes = (p: Profile) => lintProfile(p).map((f) => [f.severity, f.code, f.path]);

describe('lint', () => {
  it('a clean generated-style profile has no finding', () => {
    expect(codes(base([{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }]))).toEqual([]);
  });

  it('each finding, with its path', () => {
    expect(
      codes(
        base([{ names: ['read'], action: 'SCMP_ACT_ALLOW' }], {
          defaultAction: 'SCMP_ACT_ALLOW',
          defaultErrnoRet: undefined,
        }),
      )[0],
    ).toEqual(['error', 'default-allow', '$.defaultAction']);
    expect(codes(base([{ names: ['read', 'ptrace', 'keyctl', 'mount'], action: 'SCMP_ACT_ALLOW' }]))).toEqual(
      [
        ['warning', 'dangerous-syscall', '$.syscalls[0].names[1]'],
        ['warning', 'dangerous-syscall', '$.syscalls[0].names[2]'],
        ['info', 'dangerous-syscall', '$.syscalls[0].names[3]'],
      ],
    );
    expect(codes(base([{ names: ['clone', 'clone3', 'unshare'], action: 'SCMP_ACT_ALLOW' }]))).toEqual([
      ['warning', 'clone-namespaces', '$.syscalls[0].names[0]'],
      ['warning', 'namespace-syscall', '$.syscalls[0].names[2]'],
      ['info', 'clone3-unfiltered', '$.syscalls[0].names[1]'],
      ['info', 'dangerous-syscall', '$.syscalls[0].names[2]'],
    ]);
    expect(
      codes(base([{ names: ['read'], action: 'SCMP_ACT_ALLOW' }], { architectures: ['SCMP_ARCH_X86_64'] })),
    ).toEqual([['info', 'missing-companion', '$.architectures']]);
    expect(
      codes(
        base([
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['clone3', 'statx'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        ]),
      ),
    ).toEqual([
      ['error', 'probe-not-enosys', '$.syscalls[1].names[0]'],
      ['warning', 'probe-not-enosys', '$.syscalls[1].names[1]'],
    ]);
    expect(
      codes(
        base([
          { names: ['read'], action: 'SCMP_ACT_ALLOW' },
          { names: ['getcpu'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
        ]),
      ),
    ).toEqual([['info', 'rule-equals-default', '$.syscalls[1]']]);
    expect(
      codes(
        base([
          {
            names: ['personality'],
            action: 'SCMP_ACT_ALLOW',
            args: [
              { index: 0, value: 1n, op: 'SCMP_CMP_NE' },
              { index: 0, value: 2n, op: 'SCMP_CMP_NE' },
            ],
          },
        ]),
      ).filter(([, c]) => c === 'ne-same-index'),
    ).toEqual([['error', 'ne-same-index', '$.syscalls[0].args']]);
    expect(
      codes(
        base([
          {
            names: ['openat'],
            action: 'SCMP_ACT_ALLOW',
            args: [{ index: 1, value: 0x1000n, op: 'SCMP_CMP_EQ' }],
          },
        ]),
      ),
    ).toEqual([['warning', 'pointer-argument', '$.syscalls[0].args[0]']]);
    expect(
      codes(
        base([
          { names: ['socketcall'], action: 'SCMP_ACT_ALLOW' },
          { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2n, op: 'SCMP_CMP_EQ' }] },
        ]),
      ),
    ).toEqual([['error', 'multiplexer-bypass', '$.syscalls[1].args']]);
    expect(codes(base([{ names: ['read', 'mseal'], action: 'SCMP_ACT_ALLOW' }]))).toEqual([
      ['warning', 'dropped-by-libseccomp', '$.syscalls[0].names[1]'],
    ]);
  });

  it('golden: Docker and Podman defaults (validate findings included, located by line)', () => {
    for (const [name, file] of [
      ['docker', 'docker-default.json'],
      ['podman', 'podman-default.json'],
    ] as const) {
      const text = formatLintText(file, lintFile(join(shared, file))).replaceAll(`${shared}/`, '');
      golden(`lint-${name}-default.txt`, text);
    }
  });
});

describe('explain: per-category summary', () => {
  it('golden: Docker and Podman defaults, every architecture', async () => {
    const { spawnSync } = await import('node:child_process');
    const bin = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');
    for (const [name, file] of [
      ['docker', 'docker-default.json'],
      ['podman', 'podman-default.json'],
    ] as const) {
      const r = spawnSync('node', [bin, 'explain', join(shared, file), '--all-arches'], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      golden(`explain-${name}-default.txt`, r.stdout.replaceAll(`${shared}/`, ''));
    }
  });
});
