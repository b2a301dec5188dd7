// Each way a hostile or unlucky user broke sysfence, as a table: the input, the command, and the
// exact exit status and error code (or result) it must give now. Run through the built CLI as a
// user would (a process per case: streams, exit statuses and closed descriptors are real).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, run, sysfence, tempDir } from '../helpers/proc.js';
import { referenceFile } from '../helpers/schemas.js';

const dir = tempDir('sysfence-robust-');
const file = (name: string, content: string | Buffer) => {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
};
/** Runs sysfence through bash (for FIFOs, closed descriptors, /dev/full); $S is the CLI. */
const sh = (script: string, input?: string) =>
  run('bash', ['-c', script], {
    ...(input !== undefined ? { input } : {}),
    cwd: dir,
    env: { NO_COLOR: '1', S: `node ${BIN}` },
  });
const sf = (args: string[]) => sysfence(args, { cwd: dir });
/** The error codes on stderr, in order. */
const codes = (stderr: string) => [...stderr.matchAll(/error\[([a-z0-9-]+)\]/g)].map((m) => m[1]);
const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

const PROFILE = JSON.stringify({
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  syscalls: [
    { names: ['read', 'write', 'close', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
    { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
  ],
});
const RECORDING = {
  version: 1,
  sources: [{ format: 'strace', file: 'app.log' }],
  syscalls: {
    x86_64: {
      read: { count: 3, pids: [10], executables: ['/bin/app'] },
      uname: { count: 1, pids: [10], executables: ['/bin/app'] },
    },
  },
  malformed: { count: 0, samples: [] },
};

describe('fails open or says something false', () => {
  it('YAML aliases: a rule named through an alias keeps its names (emu, convert)', async () => {
    const spo = file(
      'alias.yaml',
      `apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata: {name: a}
spec:
  defaultAction: SCMP_ACT_ALLOW
  syscalls:
    - names: &deny [mount, umount2]
      action: SCMP_ACT_ERRNO
    - names: *deny
      action: SCMP_ACT_LOG
`,
    );
    const emu = await sf(['emu', '--json', spo, 'umount2']);
    expect([emu.status, JSON.parse(emu.stdout).action]).toEqual([0, 'ERRNO(1)']);
    const conv = await sf(['convert', '--to', 'docker', spo]);
    expect(JSON.parse(conv.stdout).syscalls.map((r: { names: string[] }) => r.names)).toEqual([
      ['mount', 'umount2'],
      ['mount', 'umount2'],
    ]);
  });

  it('YAML: an alias bomb is refused with a code, an alias to nowhere is a syntax error', async () => {
    const bomb = file(
      'bomb.yaml',
      `kind: SeccompProfile\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n`,
    );
    const r = await sf(['validate', bomb]);
    expect([r.status, codes(r.stdout)]).toEqual([1, ['yaml-alias-bomb']]);
    const nowhere = file(
      'nowhere.yaml',
      'apiVersion: security-profiles-operator.x-k8s.io/v1\nkind: SeccompProfile\nmetadata: {name: a}\nspec:\n  defaultAction: SCMP_ACT_ALLOW\n  syscalls:\n    - names: *deny\n      action: SCMP_ACT_ERRNO\n',
    );
    const n = await sf(['validate', nowhere]);
    expect([n.status, n.stdout.split('\n')[0]]).toEqual([
      1,
      `${nowhere}:7:14: error[yaml-alias-unknown] alias *deny names no anchor (&deny) before it ($[0])`,
    ]);
    // the same rule in JSON, with names null: Docker would drop it without a word
    const nul = file(
      'null-names.json',
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":null,"action":"SCMP_ACT_ERRNO"}]}',
    );
    expect(codes((await sf(['validate', nul])).stdout)).toEqual(['empty-names']);
    const conv = await sf(['convert', '--to', 'docker', nowhere]);
    expect([conv.status, conv.stdout]).toEqual([2, '']);
  });

  it('check: a recording with its keys sorted is still read (and judged), never "0 recorded syscalls"', async () => {
    const sorted = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(sorted)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([k, x]) => [k, sorted(x)]),
            )
          : v;
    const rec = file('sorted.rec.json', JSON.stringify(sorted(RECORDING)));
    const p = file('p.json', PROFILE);
    const r = await sf(['check', '--runtime', 'sysfence', '--profile', p, rec]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('2 recorded syscalls: 1 allowed, 1 denied');
  });

  it('check: an empty file, random bytes, a directory: errors (exit 2), never a pass', async () => {
    const p = file('p.json', PROFILE);
    const cases: [string, string][] = [
      [file('empty.log', ''), 'empty-input'],
      [file('ws.log', '  \n\n\t\n'), 'empty-input'],
      [
        file('random.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251))),
        'binary-input',
      ],
      [file('words.log', 'no syscall on this line\nnor on this one\n'), 'unreadable-trace'],
      [dir, 'file-unreadable'],
    ];
    for (const [input, code] of cases) {
      const r = await sf(['check', '--profile', p, input]);
      expect([input, r.status, codes(r.stderr)]).toEqual([input, 2, [code]]);
    }
  });

  it('check: unreadable lines fail the check (exit 1) unless --ignore-unreadable', async () => {
    const p = file('p.json', PROFILE);
    const log = file('partly.log', 'read(3, "", 10) = 0\nthis is not strace\nclose(3) = 0\n');
    const r = await sf(['check', '--runtime', 'sysfence', '--profile', p, log]);
    expect([r.status, r.stderr.trim()]).toEqual([
      1,
      `sysfence: error: 1 trace line could not be read (first: ${log}:2 strace-unrecognized-line): the verdict does not cover it, so the check fails (--ignore-unreadable judges the rest)`,
    ]);
    expect(
      (await sf(['check', '--runtime', 'sysfence', '--ignore-unreadable', '--profile', p, log])).status,
    ).toBe(0);
  });

  it('an empty or whitespace-only profile is an error for every reader, not "valid"', async () => {
    for (const content of ['', ' \n\t\n'])
      for (const cmd of ['validate', 'verify', 'lint', 'explain', 'compile']) {
        const r = await sf([cmd, file('empty.json', content)]);
        // validate reports issues on stdout (exit 1); the others refuse the input (exit 2)
        expect([cmd, r.status, codes(r.stdout + r.stderr)]).toEqual([
          cmd,
          cmd === 'validate' ? 1 : 2,
          ['empty-input'],
        ]);
      }
  });

  it("merge of Docker's default with itself is Docker's default", async () => {
    const d = referenceFile('docker-default.json');
    const r = await sf(['merge', d, d, '-o', join(dir, 'merged.json')]);
    expect(r.status).toBe(0);
    const diff = await sf(['diff', d, join(dir, 'merged.json')]);
    expect(diff.status).toBe(0);
    const lines = diff.stdout.split('\n');
    expect(lines.filter((l) => /allowed unconditionally/.test(l) && !l.endsWith('; no change'))).toEqual([]);
    expect(lines).toContain('NEW allows nothing that OLD denied');
  });
});

describe('SPO YAML read as Kubernetes reads it', () => {
  const spo = (spec: string, meta = '') =>
    `apiVersion: security-profiles-operator.x-k8s.io/v1beta1\nkind: SeccompProfile\nmetadata:\n  name: app\n${meta}spec:\n  defaultAction: SCMP_ACT_ERRNO\n${spec}`;
  it('scalars YAML 1.1 and 1.2 read differently are refused with both readings; numbers as written', async () => {
    const table: [string, string, string][] = [
      [
        '  syscalls:\n    - names: [read]\n      action: SCMP_ACT_ERRNO\n      errnoRet: 010\n',
        'yaml-version-ambiguous',
        '"010" is 10 in YAML 1.2 but 8 for Kubernetes (YAML 1.1 reads a leading 0 as octal)',
      ],
      [
        '  syscalls:\n    - names: [read]\n      action: SCMP_ACT_ERRNO\n      errnoRet: 0o17\n',
        'yaml-version-ambiguous',
        '"0o17" is an octal number in YAML 1.2 but a string for Kubernetes (YAML 1.1)',
      ],
      [
        '  syscalls:\n    - names: [read]\n      action: SCMP_ACT_ALLOW\n      args: [{index: 0, value: 1:30, op: SCMP_CMP_EQ}]\n',
        'yaml-version-ambiguous',
        '"1:30" is a sexagesimal number for Kubernetes (YAML 1.1) but a string in YAML 1.2',
      ],
      [
        '  syscalls:\n    - names: [read]\n      action: SCMP_ACT_ALLOW\n      args: [{index: 0, value: 1e-400, op: SCMP_CMP_EQ}]\n',
        'wrong-type',
        'value must be an integer, found 1e-400',
      ],
    ];
    for (const [spec, code, message] of table) {
      const f = file('k.yaml', spo(spec));
      const r = await sf(['validate', f]);
      expect([r.status, codes(r.stdout)]).toEqual([1, [code]]);
      expect(r.stdout).toContain(message);
    }
  });

  it('rules under metadata, fields outside the object: errors (the API server drops them: fail open)', async () => {
    const f = file('m.yaml', spo('', '  syscalls: [{names: [mount], action: SCMP_ACT_ALLOW}]\n'));
    const r = await sf(['validate', f]);
    expect([r.status, codes(r.stdout)]).toEqual([1, ['unknown-field']]);
    expect(r.stdout).toContain('unknown field "syscalls" in metadata: the API server drops it');
  });

  it('a comment-only file is no profile, for validate and verify', async () => {
    const f = file('c.yaml', '# nothing but a comment\n---\n# and another\n');
    for (const cmd of ['validate', 'verify']) {
      const r = await sf([cmd, f]);
      expect([cmd, r.status, codes(r.stdout + r.stderr)]).toEqual([
        cmd,
        cmd === 'validate' ? 1 : 2,
        ['no-profile'],
      ]);
    }
  });

  it('two SCMP_CMP_NE on one argument allow everything: an error, not valid', async () => {
    const f = file(
      'ne.json',
      JSON.stringify({
        defaultAction: 'SCMP_ACT_ERRNO',
        syscalls: [
          {
            names: ['ioctl'],
            action: 'SCMP_ACT_ALLOW',
            args: [
              { index: 1, value: 1, op: 'SCMP_CMP_NE' },
              { index: 1, value: 2, op: 'SCMP_CMP_NE' },
            ],
          },
        ],
      }),
    );
    const r = await sf(['validate', f]);
    expect([r.status, codes(r.stdout)]).toEqual([1, ['matches-every-value']]);
  });
});

describe('never a silent pass, never a guess', () => {
  it('import of an empty or binary file: refused (and generate of an empty recording)', async () => {
    const e = await sf(['import', file('e.log', '')]);
    expect([e.status, codes(e.stderr)]).toEqual([2, ['empty-input']]);
    const b = await sf(['import', file('b.log', Buffer.from([0x1f, 0x8b, 0, 0, 1, 2, 3]))]);
    expect([b.status, codes(b.stderr)]).toEqual([2, ['binary-input']]);
    const none = file('none.rec.json', JSON.stringify({ ...RECORDING, syscalls: {} }));
    const g = await sf(['generate', none]);
    expect([g.status, codes(g.stderr), g.stdout]).toEqual([2, ['empty-recording'], '']);
    const c = await sf(['check', '--profile', file('pp.json', PROFILE), none]);
    expect([c.status, codes(c.stderr)]).toEqual([2, ['empty-recording']]);
  });

  it("a qemu-user -strace log needs --arch: its ABI is not guessed as this machine's", async () => {
    const log = file(
      'q.log',
      '1234 openat(AT_FDCWD,"/etc/ld.so.cache",O_RDONLY|O_CLOEXEC) = 3\n1234 Unknown syscall 293\n1234 exit_group(0)\n',
    );
    const r = await sf(['import', log]);
    expect([r.status, codes(r.stderr)]).toEqual([2, ['qemu-abi-unknown']]);
    const a = await sf(['import', '--arch', 'aarch64', log]);
    expect(a.status).toBe(0);
    // 293 on aarch64 is rseq (on x86_64 it would be pipe2)
    expect(Object.keys(JSON.parse(a.stdout).syscalls.aarch64).sort()).toEqual([
      'exit_group',
      'openat',
      'rseq',
    ]);
    const c = await sf(['check', '--profile', file('pq.json', PROFILE), log]);
    expect([c.status, codes(c.stderr)]).toEqual([2, ['qemu-abi-unknown']]);
    const ca = await sf([
      'check',
      '--arch',
      'aarch64',
      '--runtime',
      'sysfence',
      '--profile',
      file('pq2.json', PROFILE),
      log,
    ]);
    expect(ca.stdout.trim().split('\n').at(-1)).toMatch(/3 recorded syscalls: 0 allowed, 3 denied/);
  });

  it('check: a number no table names is judged by the profile (denied by its default: a failure)', async () => {
    const rec = file(
      'n.rec.json',
      JSON.stringify({
        ...RECORDING,
        syscalls: { x86_64: { syscall_0x3e7: { count: 2, pids: [1], executables: ['/bin/a'] } } },
      }),
    );
    const r = await sf(['check', '--runtime', 'sysfence', '--profile', file('pn.json', PROFILE), rec]);
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(
      'DENIED x86_64 syscall_0x3e7: ERRNO(38) by default (number 999, which no table names); 2 calls, by /bin/a',
    );
  });

  it('recordings: a numbered name a table knows is that call; numbers past 2^31-1 are refused', async () => {
    const named = file(
      'k.rec.json',
      JSON.stringify({
        ...RECORDING,
        syscalls: { x86_64: { syscall_0xa5: { count: 1, pids: [1], executables: [] } } },
      }),
    );
    const g = await sf(['generate', '--exact', '--allow-beyond-default', 'mount', named]);
    expect(g.status).toBe(0);
    expect(JSON.parse(g.stdout).syscalls[0].names).toContain('mount');
    const big = file(
      'b.rec.json',
      JSON.stringify({
        ...RECORDING,
        syscalls: { x86_64: { syscall_0x80000000: { count: 1, pids: [1], executables: [] } } },
      }),
    );
    const b = await sf(['generate', big]);
    expect([b.status, codes(b.stderr)]).toEqual([2, ['recording-invalid']]);
    const audit = file(
      'a.log',
      'type=SECCOMP msg=audit(1.2:3): pid=12 arch=c000003e syscall=2147483648 compat=0\n',
    );
    const a = await sf(['import', audit]);
    expect(codes(a.stderr)).toEqual([]);
    expect(a.stderr).toContain('warning[audit-bad-number]');
  });
});

describe('scale and resource limits', () => {
  it('500 and 5,000 identical rules validate in well under a minute, with one note per rule', async () => {
    for (const n of [500, 5000]) {
      const rules = Array.from({ length: n }, () => ({ names: ['read'], action: 'SCMP_ACT_ALLOW' }));
      const f = file(`dup-${n}.json`, JSON.stringify({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: rules }));
      const r = await sf(['validate', '--json', f]);
      expect(r.status).toBe(0);
      const issues = JSON.parse(r.stdout)[0].issues as { code: string; message: string }[];
      // one note per duplicate, the first 1,000 of a code listed and the rest counted
      expect(issues.length).toBe(Math.min(n - 1, 1001));
      expect(new Set(issues.map((i) => i.code))).toEqual(new Set(['duplicate-rule']));
      if (n > 1001)
        expect(issues.map((i) => i.message)).toContain(
          `... and ${n - 1 - 1000} more duplicate-rule notes (the first 1000 are listed)`,
        );
    }
  });

  it('/dev/zero, a line past 16 MiB and a directory: coded errors, memory bounded', async () => {
    // GNU time's peak resident set (KiB) on the last line of stderr
    const peak = (stderr: string) => Number(stderr.trim().split('\n').at(-1));
    const table: [string, string, number][] = [
      ['validate /dev/zero', 'input-too-large', 300_000],
      // NUL bytes: no text log (said before a line is read)
      ['import /dev/zero', 'binary-input', 200_000],
      ['check --profile p.json /dev/zero', 'binary-input', 200_000],
      ['disasm /dev/zero', 'input-too-large', 150_000],
      ['emu /dev/zero read', 'input-too-large', 300_000],
    ];
    file('p.json', PROFILE);
    for (const [cmd, code, kib] of table) {
      const r = await sh(`/usr/bin/time -f %M $S ${cmd}`);
      expect([cmd, r.status, codes(r.stderr)]).toEqual([cmd, 2, [code]]);
      expect([cmd, peak(r.stderr) < kib]).toEqual([cmd, true]);
    }
    const long = await sh(
      `head -c ${(16 << 20) + 10} /dev/zero | tr '\\0' a > long.log; /usr/bin/time -f %M $S import long.log; s=$?; rm long.log; exit $s`,
    );
    expect([long.status, codes(long.stderr), peak(long.stderr) < 200_000]).toEqual([
      2,
      ['line-too-long'],
      true,
    ]);
    const d = await sf(['import', dir]);
    expect([d.status, codes(d.stderr)]).toEqual([2, ['file-unreadable']]);
  });

  it('hand-edited recordings: coded errors with their JSON path, never internal', async () => {
    const edit = (f: (r: typeof RECORDING & Record<string, unknown>) => unknown) => {
      const r = structuredClone(RECORDING) as typeof RECORDING & Record<string, unknown>;
      f(r);
      return JSON.stringify(r);
    };
    const table: [string, string, string][] = [
      [edit((r) => Object.assign(r, { syscalls: null })), 'recording-invalid', '$.syscalls'],
      [
        edit((r) => delete (r.syscalls.x86_64.read as Record<string, unknown>).count),
        'recording-invalid',
        '$.syscalls.x86_64.read.count',
      ],
      [edit((r) => Object.assign(r.syscalls, { sparc: {} })), 'recording-invalid', '$.syscalls.sparc'],
      [
        edit((r) => Object.assign(r.syscalls.x86_64.read, { count: -1 })),
        'recording-invalid',
        '$.syscalls.x86_64.read.count',
      ],
      [
        edit((r) => Object.assign(r.syscalls.x86_64.read, { count: '3' })),
        'recording-invalid',
        '$.syscalls.x86_64.read.count',
      ],
      [
        '{"version":1,"sources":[],"syscalls":{"x86_64":{"__proto__":{"count":1,"pids":[],"executables":[]}}},"malformed":{"count":0,"samples":[]}}',
        'recording-invalid',
        '$.syscalls.x86_64.__proto__',
      ],
      [
        '{"version":1,"sources":[],"syscalls":{"x86_64":{"constructor":{"count":1,"pids":[],"executables":[]}}},"malformed":{"count":0,"samples":[]}}',
        'recording-invalid',
        '$.syscalls.x86_64.constructor',
      ],
    ];
    for (const [content, code, path] of table) {
      const f = file('edited.rec.json', content);
      const r = await sf(['generate', f]);
      expect([r.status, codes(r.stderr), r.stderr.includes(path)]).toEqual([2, [code], true]);
    }
  });

  it('stdin, a FIFO and <(...) are read like files', async () => {
    const log = 'read(3, "", 10) = 0\nclose(3) = 0\n';
    const expected = 'imported x86_64: 2 syscalls, 2 calls; 0 unreadable lines';
    file('s.log', log);
    for (const script of [
      '$S import - < s.log',
      '$S import <(cat s.log)',
      'rm -f fifo; mkfifo fifo; (cat s.log > fifo &); $S import fifo',
      'cat s.log | $S check --runtime sysfence --profile p.json -',
    ]) {
      file('p.json', PROFILE);
      const r = await sh(script);
      if (script.includes('check')) expect([script, r.status]).toEqual([script, 0]);
      else expect([script, r.status, r.stderr.trim().split('\n').at(-1)]).toEqual([script, 0, expected]);
    }
  });

  it('a pipe longer than what is peeked at (64 KiB) reads exactly like the file', async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `read(3, "", 10) = 0\nclose(${i}) = 0`).join('\n');
    file('big.log', `${lines}\n`);
    const norm = (s: string) => s.replace(/"(?:-|big\.log|\/dev\/fd\/\d+)(:?)/g, '"X$1');
    const fromFile = await sh('$S import big.log');
    expect(fromFile.status).toBe(0);
    for (const script of ['cat big.log | $S import -', '$S import <(cat big.log)'])
      expect([script, norm((await sh(script)).stdout)]).toEqual([script, norm(fromFile.stdout)]);
    expect(JSON.parse(fromFile.stdout).syscalls.x86_64.close.count).toBe(40_000);
  });

  it('numbers out of range in audit, bpftrace and sysdig/falco logs: errors at file:line, no syscall made up', async () => {
    const table: [string, string, string][] = [
      [
        'type=SECCOMP msg=audit(1.2:3): pid=12 arch=c000003e syscall=18446744073709551616 compat=0',
        'audit',
        'audit-bad-number',
      ],
      [
        'type=SECCOMP msg=audit(1.2:3): pid=12 arch=c000003e syscall=-1 compat=0',
        'audit',
        'audit-bad-number',
      ],
      [
        'type=SECCOMP msg=audit(1.2:3): pid=99999999999 arch=c000003e syscall=0 compat=0',
        'audit',
        'audit-bad-number',
      ],
      ['@[99999999999999]: 3', 'bpftrace', 'bpftrace-bad-number'],
      ['@[1]: 1e400', 'bpftrace', 'bpftrace-bad-count'],
      ['@[1]: -1', 'bpftrace', 'bpftrace-bad-count'],
      ['{"type": "map", "data": {"@": {"1": null}}}', 'bpftrace', 'bpftrace-bad-count'],
      ['{"type": "map", "data": {"@": {"1": 1e400}}}', 'bpftrace', 'bpftrace-bad-count'],
      ['1 12:00:00.000000000 0 cat (99999999999) > read fd=3', 'sysdig', 'sysdig-bad-number'],
      ['1 12:00:00.000000000 0 cat (7) > syscall ID=1 nativeID=99999999999', 'sysdig', 'sysdig-bad-number'],
      [
        '% time     seconds  usecs/call     calls    errors syscall\n  1.00    0.000001           1 99999999999999999999         0 read',
        'strace',
        'strace-bad-number',
      ],
    ];
    for (const [line, format, code] of table) {
      const f = file('n.log', `${line}\n`);
      const r = await sf(['import', '--format', format, f]);
      const lineNo = line.split('\n').length;
      expect([
        line,
        r.status,
        r.stderr.split('\n')[0]?.startsWith(`${f}:${lineNo}: warning[${code}]`),
      ]).toEqual([line, 0, true]);
      expect(JSON.parse(r.stdout).syscalls).toEqual({});
    }
  });

  it('stdout on /dev/full or closed: output-failed, exit 2, no stack trace', async () => {
    const d = referenceFile('docker-default.json');
    // (Node.js puts /dev/null, read-write, on a closed descriptor 1: main.ts tells that apart)
    for (const script of [`$S convert --to oci ${d} > /dev/full`, `$S convert --to oci ${d} >&-`]) {
      const r = await sh(script);
      expect([script, r.status, codes(r.stderr)]).toEqual([script, 2, ['output-failed']]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('files', () => {
  it('-o onto an input is refused before any work, and the input is kept byte for byte', async () => {
    const p = file('in.json', PROFILE);
    const rec = file('in.rec.json', JSON.stringify(RECORDING));
    const log = file('in.log', 'read(3, "", 10) = 0\n');
    const before = [sha(p), sha(rec), sha(log)];
    const table: string[][] = [
      ['convert', '--to', 'oci', p, '-o', p],
      ['compile', p, '-o', p],
      ['generate', rec, '-o', rec],
      ['import', log, '-o', log],
      ['merge', p, referenceFile('docker-default.json'), '-o', p],
      ['report', p, '-o', p],
      ['check', '--profile', p, rec, '-o', rec],
      ['convert', '--to', 'oci', p, '-o', join(dir, '.', 'in.json')],
    ];
    for (const args of table) {
      const r = await sf(args);
      expect([args[0], r.status, codes(r.stderr)]).toEqual([args[0], 2, ['output-is-input']]);
    }
    expect([sha(p), sha(rec), sha(log)]).toEqual(before);
  });

  it('an output that cannot be written is said before the work, with the path', async () => {
    const p = file('ok.json', PROFILE);
    const r = await sf(['convert', '--to', 'oci', p, '-o', join(dir, 'no', 'such', 'dir', 'x.json')]);
    expect([r.status, codes(r.stderr)]).toEqual([2, ['file-unwritable']]);
  });

  it('a replaced output keeps its owner and mode; nothing else in its directory changes', async () => {
    const p = file('src.json', PROFILE);
    const out = file('out.json', 'old');
    await sh(`chmod 600 ${out}; chown 65534:65534 ${out}`);
    const r = await sf(['convert', '--to', 'oci', p, '-o', out]);
    expect(r.status).toBe(0);
    expect((await sh(`stat -c '%a %u %g' ${out}`)).stdout.trim()).toBe('600 65534 65534');
    expect((await sh(`ls -A ${dir} | grep -c sysfence- || true`)).stdout.trim()).toBe('0');
  });
});
