// resolve(): dockerd's setupSeccomp, checked on Docker's own profile and its conditional fixture.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DOCKER_DEFAULT_CAPABILITIES } from '../../src/profile/capabilities.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { kernelAtLeast, resolve } from '../../src/profile/resolve.js';
import { referenceFile } from '../helpers/schemas.js';

const load = (f: string) => parseDockerProfile(readFileSync(referenceFile(f), 'utf8')).profile!;
const namesOf = (p: ReturnType<typeof resolve>, action?: string) =>
  (p.syscalls ?? []).filter((s) => !action || s.action === action).flatMap((s) => s.names ?? []);

describe('resolve', () => {
  const docker = load('docker-default.json');

  it('archMap picks the host entry and its sub-architectures', () => {
    expect(resolve(docker, { arch: 'x86_64', kernelVersion: '6.1' }).architectures).toEqual([
      'SCMP_ARCH_X86_64',
      'SCMP_ARCH_X86',
      'SCMP_ARCH_X32',
    ]);
    expect(resolve(docker, { arch: 'aarch64', kernelVersion: '6.1' }).architectures).toEqual([
      'SCMP_ARCH_AARCH64',
      'SCMP_ARCH_ARM',
    ]);
    expect(resolve(docker, { arch: 'riscv64', kernelVersion: '6.1' }).architectures).toEqual([
      'SCMP_ARCH_RISCV64',
    ]);
    // no entry for ppc64le: no architectures, the runtime uses the native one
    expect(resolve(docker, { arch: 'ppc64le', kernelVersion: '6.1' }).architectures).toBeUndefined();
  });

  it('includes.caps needs every capability; excludes.caps drops on any', () => {
    const def = resolve(docker, { arch: 'x86_64', kernelVersion: '6.1' });
    const admin = resolve(docker, {
      arch: 'x86_64',
      kernelVersion: '6.1',
      capabilities: [...DOCKER_DEFAULT_CAPABILITIES, 'CAP_SYS_ADMIN'],
    });
    expect(namesOf(def).includes('mount')).toBe(false);
    expect(namesOf(admin).includes('mount')).toBe(true);
    // clone3 gets ENOSYS without CAP_SYS_ADMIN (excludes), is allowed with it
    expect(def.syscalls!.find((s) => s.names!.includes('clone3'))).toEqual({
      names: ['clone3'],
      action: 'SCMP_ACT_ERRNO',
      errnoRet: 38,
    });
    expect(admin.syscalls!.filter((s) => s.names!.includes('clone3')).map((s) => s.action)).toEqual([
      'SCMP_ACT_ALLOW',
    ]);
    // CAP_SYS_CHROOT is a default capability: chroot is allowed
    expect(namesOf(def, 'SCMP_ACT_ALLOW').includes('chroot')).toBe(true);
  });

  it('includes.arches compares with Go architecture names', () => {
    expect(namesOf(resolve(docker, { arch: 'x86_64', kernelVersion: '6.1' })).includes('arch_prctl')).toBe(
      true,
    );
    expect(namesOf(resolve(docker, { arch: 'aarch64', kernelVersion: '6.1' })).includes('arch_prctl')).toBe(
      false,
    );
    expect(namesOf(resolve(docker, { arch: 'aarch64', kernelVersion: '6.1' })).includes('set_tls')).toBe(
      true,
    );
    // the s390 clone rule checks argument 1
    const s390 = resolve(docker, { arch: 's390x', kernelVersion: '6.1' }).syscalls!.filter(
      (s) => s.names!.includes('clone') && s.args,
    );
    expect(s390.map((s) => s.args![0]!.index)).toEqual([1]);
  });

  it('minKernel compares major.minor with the host kernel', () => {
    expect(namesOf(resolve(docker, { arch: 'x86_64', kernelVersion: '4.8.0' })).includes('ptrace')).toBe(
      true,
    );
    expect(namesOf(resolve(docker, { arch: 'x86_64', kernelVersion: '4.7.10' })).includes('ptrace')).toBe(
      false,
    );
    expect([
      kernelAtLeast('6.18.44-fc', '4.8'),
      kernelAtLeast('4.10', '4.8'),
      kernelAtLeast('4.7', '4.8'),
    ]).toEqual([true, true, false]);
  });

  it("Docker's conditional-include fixture", () => {
    const p = load('docker-conditional-include.json');
    expect(resolve(p, { arch: 'x86_64', capabilities: [], kernelVersion: '6.1' }).syscalls).toEqual([
      { names: ['chmod'], action: 'SCMP_ACT_ALLOW' },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW' },
    ]);
    expect(
      resolve(p, { arch: 'x86_64', capabilities: ['CAP_SYSLOG', 'CAP_SYS_ADMIN'], kernelVersion: '6.1' })
        .syscalls,
    ).toEqual([
      { names: ['chmod'], action: 'SCMP_ACT_ALLOW' },
      { names: ['syslog'], action: 'SCMP_ACT_ALLOW' },
    ]);
  });

  it('name becomes names; defaultErrno and errno become numbers', () => {
    const p = parseDockerProfile(
      '{"defaultAction":"SCMP_ACT_ERRNO","defaultErrno":"ENOSYS","syscalls":[{"name":"read","action":"SCMP_ACT_ERRNO","errno":"EACCES"}]}',
    ).profile!;
    expect(resolve(p, { arch: 'x86_64', kernelVersion: '6.1' })).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 }],
    });
  });

  it('archMap with architectures is refused with a code', () => {
    expect(() =>
      resolve({ defaultAction: 'SCMP_ACT_ALLOW', architectures: [], archMap: [] }, { arch: 'x86_64' }),
    ).toThrow(expect.objectContaining({ code: 'archmap-and-architectures' }));
  });
});
