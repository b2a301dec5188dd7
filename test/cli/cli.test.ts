// The CLI as users run it (the built dist/), for exit codes, streams and exact output.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sysfence, tempDir } from '../helpers/proc.js';
import { referenceFile } from '../helpers/schemas.js';

const run = async (args: string[], input?: string) => {
  const r = await sysfence(args, input !== undefined ? { input } : {});
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const tmp = tempDir('sysfence-cli-');
const profile = (f: string) => referenceFile(f);

describe('sysfence CLI', () => {
  it('validate: 0 for a valid profile, with a summary line', async () => {
    const r = await run(['validate', profile('docker-default.json')]);
    expect([r.code, r.stdout.trim().split('\n').at(-1)]).toEqual([
      0,
      `${profile('docker-default.json')}: valid (0 errors, 0 warnings, 0 notes)`,
    ]);
  });

  it('validate: 1 with every issue located, notes do not count', async () => {
    const f = join(tmp, 'bad.json');
    writeFileSync(
      f,
      '{\n  "defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [\n    {"names": ["raed"], "action": "SCMP_ACT_ALLOW"}\n  ]\n}\n',
    );
    const r = await run(['validate', f]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      `${f}:4:16: error[unknown-syscall] unknown syscall "raed": no architecture has it, and runc/crun drop names they cannot resolve without a word ($.syscalls[0].names[0])\n` +
        '    hint: did you mean "read"?\n' +
        `${f}: invalid (1 error, 0 warnings, 0 notes)\n`,
    );
    const podman = await run(['validate', '--quiet', profile('podman-default.json')]);
    expect([podman.code, podman.stdout.trim()]).toEqual([
      0,
      `${profile('podman-default.json')}: valid (0 errors, 0 warnings, 3 notes)`,
    ]);
  });

  it('validate --json gives codes and positions', async () => {
    const r = await run([
      'validate',
      '--json',
      join(import.meta.dirname, '..', 'fixtures', 'broken', '06-unknown-field-top.json'),
    ]);
    const j = JSON.parse(r.stdout);
    expect([
      r.code,
      j[0].issues.map((i: { code: string; position: unknown }) => [i.code, i.position]),
    ]).toEqual([1, [['unknown-field', { line: 5, column: 3 }]]]);
  });

  it('convert --to oci writes the resolved profile; same input, same bytes', async () => {
    const out1 = join(tmp, 'a.json');
    const r1 = await run([
      'convert',
      profile('docker-default.json'),
      '--to',
      'oci',
      '--arch',
      'x86_64',
      '--kernel',
      '6.1',
      '-o',
      out1,
    ]);
    const r2 = await run([
      'convert',
      profile('docker-default.json'),
      '--to',
      'oci',
      '--arch',
      'x86_64',
      '--kernel',
      '6.1',
    ]);
    expect([r1.code, r1.stdout, r2.code]).toEqual([0, '', 0]);
    expect(readFileSync(out1, 'utf8')).toBe(r2.stdout);
    const oci = JSON.parse(r2.stdout);
    expect([oci.architectures, oci.syscalls.length, Object.keys(oci)]).toEqual([
      ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      15,
      ['defaultAction', 'defaultErrnoRet', 'architectures', 'syscalls'],
    ]);
  });

  it('convert --to spo then back to docker keeps the rules', async () => {
    const spo = await run([
      'convert',
      profile('docker-example.json'),
      '--to',
      'spo',
      '--name',
      'example',
      '--arch',
      'x86_64',
      // the fixture's ERRNO(12345) is refused by libseccomp: convert writes it only when told
      '--as-is',
    ]);
    expect(spo.code).toBe(0);
    expect(spo.stdout.split('\n').slice(0, 6)).toEqual([
      '---',
      // v1beta1 unless --spo-version v1: what every operator release serves
      'apiVersion: security-profiles-operator.x-k8s.io/v1beta1',
      'kind: SeccompProfile',
      'metadata:',
      '  name: example',
      'spec:',
    ]);
    const v1 = await run([
      'convert',
      profile('docker-example.json'),
      '--to',
      'spo',
      '--name',
      'example',
      '--arch',
      'x86_64',
      '--as-is',
      '--spo-version',
      'v1',
    ]);
    expect(v1.stdout.split('\n')[1]).toBe('apiVersion: security-profiles-operator.x-k8s.io/v1');
    const back = await run(['convert', '-', '--to', 'docker', '--as-is'], spo.stdout);
    expect([back.code, JSON.parse(back.stdout).syscalls.map((s: { names: string[] }) => s.names[0])]).toEqual(
      [0, ['clone', 'open', 'close', 'syslog']],
    );
  });

  it('convert refuses an invalid profile with a code and the first location, exit 2', async () => {
    const r = await run([
      'convert',
      join(import.meta.dirname, '..', 'fixtures', 'broken', '13-unknown-operator.json'),
      '--to',
      'oci',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(
      /^error\[unknown-operator\]: .* \(.*13-unknown-operator\.json:6:\d+\)$/,
    );
  });

  it('explain SYSCALL: numbers, capability, Docker verdict and risk', async () => {
    const r = await run(['explain', 'mount']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'mount: mount filesystem\n' +
        '  numbers: x86_64=165 x86=21 x32=1073741989 aarch64=40 arm=21 riscv64=40 ppc64le=21 ppc64=21 ppc=21 s390x=21 s390=21 mips=4021 mipsel=4021 mips64=5160 mipsel64=5160 mips64n32=6160 mipsel64n32=6160 loongarch64=40\n' +
        '  capability: CAP_SYS_ADMIN\n' +
        '  Docker default (x86_64, default capabilities): denied - ERRNO(1): allowed only with CAP_SYS_ADMIN\n' +
        '  risk: mounts filesystems: the classic way to reach host files and escape a container\n',
    );
    expect(JSON.parse((await run(['explain', '--json', '435'])).stdout).name).toBe('clone3');
    const typo = await run(['explain', 'opneat']);
    expect([typo.code, typo.stderr]).toEqual([
      2,
      'error[unknown-syscall]: unknown syscall "opneat"; did you mean "openat"?\n',
    ]);
  });

  it('explain PROFILE compares with Docker default', async () => {
    const r = await run(['explain', '--json', profile('docker-default.json'), '--arch', 'x86_64']);
    const j = JSON.parse(r.stdout);
    expect(
      j.architectures.map(
        (a: { arch: string; allowed: number; docker: { allowed: number }; onlyHere: string[] }) => [
          a.arch,
          a.allowed === a.docker.allowed,
          a.onlyHere,
        ],
      ),
    ).toEqual([['x86_64', true, []]]);
  });

  it('usage errors exit 2; --help exits 0 with examples', async () => {
    expect((await run(['nonsense'])).code).toBe(2);
    expect((await run(['convert', profile('docker-default.json')])).code).toBe(2);
    const h = await run(['validate', '--help']);
    expect([h.code, h.stdout.includes('Examples:')]).toEqual([0, true]);
  });

  it('missing files are a runtime error with a code, never a stack trace', async () => {
    const r = await run(['validate', '/nonexistent/profile.json']);
    expect([r.code, r.stderr]).toEqual([
      2,
      'error[file-unreadable]: cannot read /nonexistent/profile.json: no such file (/nonexistent/profile.json)\n',
    ]);
  });

  it('no input makes it print a stack trace (seeded junk)', async () => {
    let seed = 12345;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    const base = readFileSync(profile('docker-example.json'), 'utf8');
    for (let i = 0; i < 40; i++) {
      const chars = [...base];
      for (let k = 0; k < 3; k++) chars[rand() % chars.length] = String.fromCharCode(rand() % 128);
      const input = i % 10 === 0 ? chars.slice(0, rand() % chars.length).join('') : chars.join('');
      const r = await run(['validate', '-'], input);
      expect([1, 0]).toContain(r.code);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('sysfence compile / disasm / emu / verify', () => {
  it('compile --format raw writes struct sock_filter bytes that disasm reads back', async () => {
    const out = join(tmp, 'docker.bpf');
    const c = await run([
      'compile',
      profile('docker-default.json'),
      '--native-arch',
      'x86_64',
      '--kernel',
      '6.1',
      '--format',
      'raw',
      '-o',
      out,
    ]);
    expect([c.code, c.stderr]).toEqual([
      0,
      `${profile('docker-default.json')}: 335 instructions; x86_64+x32: 161 ranges, depth 10; x86: 121 ranges, depth 8\n`,
    ]);
    expect(readFileSync(out).length).toBe(335 * 8);
    const d = await run(['disasm', out]);
    expect([d.code, d.stdout.split('\n').slice(0, 2)]).toEqual([
      0,
      ['0000: ld [4]                             ; arch', '0001: jeq #0xc000003e, 0004, 0002'],
    ]);
  });

  it('disasm exits 1 and names the instruction the kernel would refuse', async () => {
    const f = join(tmp, 'bad.bpf');
    writeFileSync(f, Buffer.from([0x20, 0, 0, 0, 2, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f]));
    const r = await run(['disasm', f]);
    expect([r.code, r.stderr]).toEqual([
      1,
      `${f}: error[bpf-load] instruction 0: load at offset 2 is outside seccomp_data or not 4-byte aligned\n`,
    ]);
  });

  it('emu runs one call through a profile and agrees with evaluate', async () => {
    const r = await run([
      'emu',
      profile('docker-default.json'),
      'socket',
      '40',
      '1',
      '0',
      '--native-arch',
      'x86_64',
      '--arch',
      'x86_64',
      '--kernel',
      '6.1',
    ]);
    expect([r.code, r.stdout]).toEqual([
      0,
      'x86_64 socket(40, 1, 0) -> ERRNO(1) (13 instructions, reads offsets 0,4,16,20); evaluate: ERRNO(1)\n' +
        '  under Docker 20.10 + runc 1.1 + libseccomp 2.5.4: ERRNO(1) (as the profile says)\n',
    ]);
  });

  it("--arch takes one value (comma-separated or repeated): emu's and verify's own examples run", async () => {
    const bpf = join(tmp, 'x86.bpf');
    const c = await run([
      'compile',
      profile('docker-default.json'),
      '--native-arch',
      'x86_64',
      '--kernel',
      '6.1',
      '--format',
      'raw',
      '-o',
      bpf,
    ]);
    expect(c.code).toBe(0);
    // the positional arguments after --arch are the call and its arguments, not more ABIs
    const e = await run(['emu', bpf, '--arch', 'x86', '102', '1']);
    expect([e.code, e.stdout.split(' -> ')[0]]).toEqual([0, 'x86 socketcall(1)']);
    const v = await run([
      'verify',
      '--arch',
      'x86_64',
      profile('docker-default.json'),
      '--native-arch',
      'x86_64',
      '--kernel',
      '6.1',
    ]);
    expect([v.code, v.stdout]).toEqual([
      0,
      expect.stringMatching(/docker-default\.json: \d+ instructions, \d+ cases checked, 0 mismatches\n$/),
    ]);
    const both = await run([
      'emu',
      profile('docker-default.json'),
      '--arch',
      'x86_64,x86',
      '--arch',
      'x32',
      'read',
      '--native-arch',
      'x86_64',
      '--kernel',
      '6.1',
    ]);
    expect([both.code, both.stdout.split(' -> ')[0]]).toEqual([0, 'x86_64 read()']);
  });

  it('verify prints the cases it checked; --against-libseccomp labels every difference', async () => {
    const r = await run([
      'verify',
      profile('podman-default.json'),
      '--native-arch',
      'x86_64',
      '--kernel',
      '6.1',
      '--against-libseccomp',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^.*podman-default\.json: 314 instructions, \d+ cases checked, 0 mismatches; libseccomp 2\.5\.4: 1145 instructions, \d+ cases, 2 differ from the profile \(0 unexplained\)\n {4}unknown-name \(2 cases\): e\.g\. arch=0xc000003e nr=1073742277 args=\[\]: intends ERRNO\(1\); libseccomp 2\.5\.4 \(as runc builds the filter, without its stub\) gives ERRNO\(38\): libseccomp 2\.5\.4 has no number for "map_shadow_stack" on x32, so the rule does not reach that ABI\n$/,
    );
  });
});

describe('container engines: options from one table', () => {
  it('every command that takes a container has one option per engine; the checks name them', async () => {
    // containerd's containers are kubelet's: only record takes it (--select, through the CRI)
    for (const cmd of ['record', 'run', 'learn', 'inspect']) {
      const help = (await sysfence([cmd, '--help'])).stdout;
      expect([cmd, /--docker\b/.test(help), /--podman\b/.test(help), /--containerd\b/.test(help)]).toEqual([
        cmd,
        true,
        true,
        cmd === 'record',
      ]);
    }
    const both = await sysfence(['record', '--docker', '--podman', '--', 'x']);
    expect([both.status, both.stderr.trim()]).toEqual([
      2,
      'error[bad-option]: give --docker or --podman, not both',
    ]);
    const select = await sysfence(['record', '--podman', '--select', 'a=b']);
    expect([select.status, select.stderr.trim()]).toEqual([
      2,
      'error[bad-option]: --select picks containers: use it with --docker or --containerd',
    ]);
    const engine = await sysfence(['reach', '--image', 'x', '--engine', 'containerd']);
    expect([engine.status, engine.stderr.trim()]).toEqual([
      2,
      'error[bad-option]: --engine must be docker or podman, not containerd',
    ]);
  });
});
