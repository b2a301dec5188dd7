// lint: each finding's code, severity and JSON path on small profiles made to trigger it, and a
// golden of the findings on Docker's and Podman's defaults (reviewed by hand when they change).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatLintText, lintFile } from '../../src/cli/commands/lint.js';
import type { Profile } from '../../src/profile/model.js';
import { lintProfile } from '../../src/review/lint/index.js';
import { runtimeTarget } from '../../src/targets/target.js';
import { golden } from '../helpers/golden.js';
import { sysfence } from '../helpers/proc.js';

const shared = join(import.meta.dirname, '..', '..', 'data', 'profiles');

/** A profile field given `undefined` is left out (so a test can take a default away). */
type Extra = { [K in keyof Profile]?: Profile[K] | undefined };
const withExtra = (p: Profile, extra: Extra): Profile => {
  const out: Record<string, unknown> = { ...p, ...extra };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as unknown as Profile;
};
const base = (syscalls: Profile['syscalls'], extra: Extra = {}): Profile =>
  withExtra(
    {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      syscalls: syscalls ?? null,
    },
    extra,
  );
// the checks that do not depend on the runtime, judged for runc (which honours defaultErrnoRet)
const runc = runtimeTarget('runc', { native: 'x86_64' });
const codes = (p: Profile) => lintProfile(p, { target: runc }).map((f) => [f.severity, f.code, f.path]);
const finding = (p: Profile, code: string, target = runtimeTarget('docker', { native: 'x86_64' })) =>
  lintProfile(p, { target }).filter((f) => f.code === code);
const x86 = (syscalls: Profile['syscalls'], extra: Extra = {}): Profile =>
  withExtra(
    { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'], syscalls: syscalls ?? null },
    extra,
  );

describe('lint', () => {
  it('KEP-6061 limits for OCI artifacts: more than 128 entries or 1 MiB is a warning, 128 entries is not', () => {
    const rule = (i: number) => ({
      names: ['getpid'],
      action: 'SCMP_ACT_ERRNO' as const,
      errnoRet: 1 + (i % 100),
    });
    const at = (n: number) =>
      finding(base(Array.from({ length: n }, (_, i) => rule(i))), 'oci-artifact-limits');
    expect(at(128)).toEqual([]);
    expect(at(129).map((f) => [f.severity, f.path, f.message])).toEqual([
      [
        'warning',
        '$.syscalls',
        '129 syscall entries: a profile pulled as an OCI artifact (KEP-6061) may have at most 128',
      ],
    ]);
    // one entry with 80,000 names is past 1 MiB
    const big = base([{ names: Array.from({ length: 80_000 }, () => 'getpid'), action: 'SCMP_ACT_ALLOW' }]);
    expect(finding(big, 'oci-artifact-limits').map((f) => f.path)).toEqual(['$']);
  });

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
    ).toEqual([
      // socketcall, which x86_64 lacks, heads libseccomp's x86_64/x32 section, so no block loads the
      // number there and every x86_64 call gets the default (measured: libseccomp 2.5.4)
      ['error', 'libseccomp-miscompiles', '$.syscalls[0]'],
      ['error', 'multiplexer-bypass', '$.syscalls[1].args'],
    ]);
    expect(codes(base([{ names: ['read', 'mseal'], action: 'SCMP_ACT_ALLOW' }]))).toEqual([
      ['warning', 'dropped-by-libseccomp', '$.syscalls[0].names[1]'],
    ]);
  });

  // the runtime's findings, on the cases of docs/semantics.md (each measured with the real library
  // in test/differential/libseccomp.test.ts and in containers in test/live/runtime-verdicts.test.ts)
  const e5 = { action: 'SCMP_ACT_ERRNO' as const, errnoRet: 5 };
  it('libseccomp-miscompiles: ORed 64-bit ranges, with the witness and a rewrite', () => {
    const p = x86([
      { names: ['getpid'], ...e5, args: [{ index: 0, value: 1n, op: 'SCMP_CMP_LE' }] },
      { names: ['getpid'], ...e5, args: [{ index: 0, value: 0x100000000n, op: 'SCMP_CMP_GE' }] },
    ]);
    const [f, ...more] = finding(p, 'libseccomp-miscompiles');
    expect(more).toEqual([]);
    expect([f!.severity, f!.path, f!.witness]).toEqual(['error', '$.syscalls[0]', 'getpid(2) on x86_64']);
    expect(f!.message).toBe(
      'under Docker 20.10 + runc 1.1 + libseccomp 2.5.4, getpid(2) on x86_64 gets ERRNO(5) where the profile intends ALLOW: libseccomp compiles rules 0, 1 for getpid into code that compares the wrong argument word',
    );
    expect(f!.rewrite).toEqual([
      { names: ['getpid'], ...e5, args: [{ index: 0, value: 2n, op: 'SCMP_CMP_LT' }] },
      { names: ['getpid'], ...e5, args: [{ index: 0, value: 0xffffffffn, op: 'SCMP_CMP_GT' }] },
    ]);
    // sysfence's own filter does what the profile says: no runtime finding
    expect(finding(p, 'libseccomp-miscompiles', runtimeTarget('sysfence', { native: 'x86_64' }))).toEqual([]);
  });

  it('libseccomp-miscompiles: precedence, named with the rule libseccomp picks', () => {
    const p = x86([
      { names: ['getpid'], ...e5, args: [{ index: 0, value: 1n, op: 'SCMP_CMP_EQ' }] },
      {
        names: ['getpid'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 9,
        args: [{ index: 1, value: 2n, op: 'SCMP_CMP_EQ' }],
      },
    ]);
    const [f] = finding(p, 'libseccomp-miscompiles');
    expect([f!.witness, f!.message.split(': ').slice(1).join(': ')]).toEqual([
      'getpid(1, 2) on x86_64',
      "rules 0 and 1 both match getpid; the profile's first, rule 0, should decide, but libseccomp's order picks rule 1",
    ]);
    const [o] = finding(p, 'overlapping-actions');
    expect([o!.severity, o!.path, o!.witness]).toEqual([
      'warning',
      '$.syscalls[0]',
      'getpid(1, 2) on x86_64',
    ]);
  });

  it('libseccomp-refuses: a rule that repeats an earlier one with another action, with a rewrite', () => {
    const p = x86([
      {
        names: ['getpid'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: 9,
        args: [
          { index: 0, value: 1n, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 2n, op: 'SCMP_CMP_EQ' },
        ],
      },
      { names: ['getpid'], ...e5, args: [{ index: 0, value: 1n, op: 'SCMP_CMP_EQ' }] },
    ]);
    const [f] = finding(p, 'libseccomp-refuses');
    expect([f!.severity, f!.path]).toEqual(['error', '$.syscalls[1]']);
    expect(f!.rewrite).toEqual([
      p.syscalls![0],
      {
        names: ['getpid'],
        ...e5,
        args: [
          { index: 0, value: 1n, op: 'SCMP_CMP_EQ' },
          { index: 1, value: 2n, op: 'SCMP_CMP_NE' },
        ],
      },
    ]);
  });

  it("dropped-by-libseccomp under Docker: runc's stub answers ENOSYS above the highest known number", () => {
    const p = base([{ names: ['exit_group', 'mseal'], action: 'SCMP_ACT_ALLOW' }], {
      architectures: ['SCMP_ARCH_X86_64'],
    });
    expect(finding(p, 'dropped-by-libseccomp').map((f) => f.message)).toEqual([
      "libseccomp 2.5.4 (Docker 20.10 + runc 1.1 + libseccomp 2.5.4) does not know mseal: the runtime drops this entry, so mseal gets ERRNO(38) (runc's ENOSYS stub: the number is above the highest one libseccomp knows in the profile), not ALLOW",
    ]);
  });

  it('golden: Docker and Podman defaults (validate findings included, located by line)', () => {
    for (const [name, file] of [
      ['docker', 'docker-default.json'],
      ['podman', 'podman-default.json'],
    ] as const) {
      const target = runtimeTarget(name, { native: 'x86_64' });
      const text = formatLintText(file, lintFile(join(shared, file), { target })).replaceAll(
        `${shared}/`,
        '',
      );
      golden(`lint-${name}-default.txt`, text);
    }
  });
});

describe('explain: per-category summary', () => {
  it('golden: Docker and Podman defaults, every architecture', async () => {
    for (const [name, file] of [
      ['docker', 'docker-default.json'],
      ['podman', 'podman-default.json'],
    ] as const) {
      // each profile judged where it is used: Docker's under Docker, Podman's under Podman (crun)
      const r = await sysfence(['explain', join(shared, file), '--all-arches', '--runtime', name]);
      expect(r.status).toBe(0);
      golden(`explain-${name}-default.txt`, r.stdout.replaceAll(`${shared}/`, ''));
    }
  });
});
