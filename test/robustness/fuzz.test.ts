// Seeded fuzz over every command that reads input: thousands of damaged profiles, recordings, logs
// and filters (truncated, flipped, junk-inserted, out-of-range numbers, wrong types, YAML tricks,
// binary, huge lines, deep nesting, output onto the input). For each case: an exit status of 0, 1
// or 2; never an internal error or a stack trace; a coded error when it fails; no input changed;
// no case over 10 s. Cases run through dist/cli/cli.js (runCli) in one child process.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archById } from '../../src/arch/tables.js';
import { encode } from '../../src/bpf/encode.js';
import { compile } from '../../src/compiler/compile.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { resolve } from '../../src/profile/resolve.js';
import { RecordingBuilder, serializeRecording } from '../../src/recording/recording.js';
import { start, tempDir } from '../helpers/proc.js';
import { mulberry32 } from '../helpers/random-profiles.js';
import { referenceFile } from '../helpers/schemas.js';

// SYSFENCE_FUZZ_SEED and SYSFENCE_FUZZ_CASES run other or longer campaigns (CI runs the fixed seed)
const CASES = Number(process.env.SYSFENCE_FUZZ_CASES ?? 2400);
const SEED = Number(process.env.SYSFENCE_FUZZ_SEED ?? 20261201);
const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

const PROFILE = `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 38,
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  "syscalls": [
    { "names": ["read", "write", "openat", "close", "exit_group"], "action": "SCMP_ACT_ALLOW" },
    { "names": ["socket"], "action": "SCMP_ACT_ALLOW",
      "args": [{ "index": 0, "value": 2, "op": "SCMP_CMP_EQ" }] },
    { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
      "args": [{ "index": 0, "value": 4294967295, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ" }] },
    { "names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
      "includes": { "caps": ["CAP_SYS_ADMIN"] }, "comment": "x" }
  ]
}
`;

const SPO = `apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: app
spec:
  defaultAction: SCMP_ACT_ERRNO
  architectures: [SCMP_ARCH_X86_64]
  syscalls:
    - names: &allowed [read, write, close, exit_group]
      action: SCMP_ACT_ALLOW
    - names: [mount]
      action: SCMP_ACT_ERRNO
`;

function recordingText(): string {
  const b = new RecordingBuilder();
  b.source('strace', 'app');
  for (const [name, n] of [
    ['read', 3],
    ['write', 2],
    ['openat', 1],
    ['socket', 1],
  ] as const)
    b.call('x86_64', name, { pid: 10, executable: '/bin/app', where: 'app.log:1' }, n);
  b.call('x86', 'read', { pid: 11 }, 1);
  return serializeRecording(b.build());
}

const LOGS = [
  'import/audit.log',
  'import/ausearch-i.txt',
  'import/bpftrace-comm-id.json',
  'import/bpftrace-id.txt',
  'import/bpftrace-probe.txt',
  'import/dmesg.txt',
  'import/falco.txt',
  'import/sysdig-container.txt',
  'import/sysdig-default.txt',
  'import/sysdig-evt-type.txt',
  'strace/f.log',
  'strace/k.log',
  'strace/ttTy.log',
  'strace/xraw.log',
  'strace/c.log',
].map((f) => readFileSync(join(FIXTURES, f), 'utf8'));

const JUNK = [
  'null',
  '-1',
  '1e400',
  '18446744073709551616',
  '99999999999999999999999',
  '"x"',
  '{}',
  '[]',
  '"__proto__"',
  '{"__proto__": {"polluted": 1}}',
  '"constructor"',
  '*a',
  '&a',
  '!!binary',
  '\u0000',
  '\uFEFF',
  '9'.repeat(400),
  '"\\ud800"',
  'NaN',
  'true',
  '<<: *a',
  '---',
  '\t',
  ' syscall=4294967296 ',
  ' pid=-5 ',
  ': -3',
  'nativeID=99999999999',
  '(',
  ')',
  ' = ',
];

type Kind = 'profile' | 'spo' | 'recording' | 'log' | 'bpf';

function pick<T>(rnd: () => number, xs: readonly T[]): T {
  return xs[Math.floor(rnd() * xs.length)]!;
}

/** A random JSON value to put where another was. */
function junkValue(rnd: () => number): unknown {
  return pick<unknown>(rnd, [
    null,
    -1,
    1.5,
    2 ** 64,
    Number.MAX_SAFE_INTEGER + 2,
    '',
    'x'.repeat(1000),
    '__proto__',
    [],
    {},
    { __proto__: null, constructor: 1 },
    [[[[[]]]]],
    true,
    'SCMP_ACT_NOPE',
    '-1',
    '0x',
  ]);
}

/** Replaces one value somewhere in a parsed JSON document (structure-aware damage). */
function mutateJson(text: string, rnd: () => number): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  const slots: [Record<string, unknown> | unknown[], string | number][] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v))
      v.forEach((x, i) => {
        slots.push([v, i]);
        walk(x);
      });
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        slots.push([v as Record<string, unknown>, k]);
        walk(x);
      }
  };
  walk(doc);
  if (slots.length === 0) return undefined;
  const [parent, key] = pick(rnd, slots);
  const how = rnd();
  if (how < 0.6) (parent as Record<string | number, unknown>)[key] = junkValue(rnd);
  else if (how < 0.8 && !Array.isArray(parent)) {
    // an unknown or dangerous key next to it
    (parent as Record<string, unknown>)[pick(rnd, ['__proto__x', 'constructor', 'unknownField', 'nmaes'])] =
      junkValue(rnd);
  } else if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else delete (parent as Record<string, unknown>)[key as string];
  return JSON.stringify(doc, null, rnd() < 0.5 ? 2 : 0);
}

function mutateText(text: string, kind: Kind, rnd: () => number): string | Buffer {
  const r = rnd();
  if (r < 0.12) return text.slice(0, Math.floor(rnd() * text.length)); // truncated
  if (r < 0.25) {
    const b = Buffer.from(text);
    for (let n = 1 + Math.floor(rnd() * 5); n > 0; n--)
      if (b.length > 0) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    return b; // flipped bytes (often invalid UTF-8)
  }
  if (r < 0.45) {
    const at = Math.floor(rnd() * (text.length + 1));
    return text.slice(0, at) + pick(rnd, JUNK) + text.slice(at);
  }
  if (r < 0.62) return mutateJson(text, rnd) ?? `${text}${pick(rnd, JUNK)}`;
  if (r < 0.72) {
    // a number out of range where a number was
    const nums = [...text.matchAll(/\d+/g)];
    if (nums.length === 0) return `${text}\n${pick(rnd, JUNK)}`;
    const m = pick(rnd, nums);
    const big = pick(rnd, [
      '18446744073709551616',
      '4294967296',
      '1e400',
      '-1',
      '99999999999999999999',
      '2147483648',
    ]);
    return text.slice(0, m.index) + big + text.slice(m.index! + m[0].length);
  }
  if (r < 0.78) {
    // lines shuffled, duplicated, or a very long one
    const lines = text.split('\n');
    if (rnd() < 0.5) lines.splice(Math.floor(rnd() * lines.length), 0, 'A'.repeat(200_000));
    else
      for (let i = lines.length - 1; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      }
    return lines.join('\n');
  }
  if (r < 0.83)
    return Buffer.from(Array.from({ length: Math.floor(rnd() * 2000) }, () => Math.floor(rnd() * 256)));
  if (r < 0.86) return pick(rnd, ['', ' ', '\n\n\t\n', '\uFEFF', '\uFEFF{}', '{}', '[]', 'null', '0']);
  if (r < 0.89) return `${'['.repeat(20_000 + Math.floor(rnd() * 80_000))}`;
  if (r < 0.94 && (kind === 'spo' || kind === 'profile')) {
    // YAML: aliases everywhere, an alias bomb, unknown tags, merge keys, several documents
    return pick(rnd, [
      SPO.replace('- names: [mount]', '- names: *allowed'),
      SPO.replace('- names: [mount]', '- names: *nowhere'),
      `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n`,
      SPO.replace('defaultAction: SCMP_ACT_ERRNO', 'defaultAction: !!js/function "x"'),
      SPO.replace('  syscalls:', '  <<: {defaultAction: SCMP_ACT_ALLOW}\n  syscalls:'),
      `${SPO}---\n${SPO}`,
      SPO.replace('SeccompProfile', 'RawSelinuxProfile'),
      `${SPO}  unknownField: 1\n`,
      // what Kubernetes (YAML 1.1) reads otherwise than YAML 1.2, and rules where the API server drops them
      SPO.replace('action: SCMP_ACT_ERRNO', 'action: SCMP_ACT_ERRNO\n      errnoRet: 010'),
      SPO.replace('action: SCMP_ACT_ERRNO', 'action: SCMP_ACT_ERRNO\n      errnoRet: 0o17'),
      SPO.replace('action: SCMP_ACT_ERRNO', 'action: SCMP_ACT_ERRNO\n      errnoRet: 1e-400'),
      SPO.replace('action: SCMP_ACT_ERRNO', 'action: SCMP_ACT_ERRNO\n      errnoRet: 1_000'),
      SPO.replace('[mount]', '[yes]'),
      SPO.replace(
        '- names: [mount]',
        '- names: [mount]\n      args: [{index: 0, value: 1:30, op: SCMP_CMP_EQ}]',
      ),
      SPO.replace('  name: app', '  name: app\n  syscalls: [{names: [mount], action: SCMP_ACT_ALLOW}]'),
      SPO.replace('kind: SeccompProfile', 'kind: SeccompProfile\nsyscalls: []'),
    ]);
  }
  // a valid input of another kind (a log given as a profile, a profile as a filter, ...)
  return pick(rnd, [PROFILE, SPO, recordingText(), ...LOGS]);
}

const sha = (f: string) =>
  existsSync(f) ? createHash('sha256').update(readFileSync(f)).digest('hex') : 'missing';

describe('seeded fuzz over every reading command', () => {
  it(`${CASES} damaged inputs: 0 stack traces, 0 internal errors, 0 hangs, 0 changed inputs`, async () => {
    const rnd = mulberry32(SEED);
    const dir = tempDir('sysfence-fuzz-');
    const goodProfile = join(dir, 'good.json');
    writeFileSync(goodProfile, PROFILE);
    const goodRec = join(dir, 'good.rec.json');
    writeFileSync(goodRec, recordingText());
    const bpf = encode(
      compile(resolve(parseDockerProfile(PROFILE).profile!, { arch: archById('x86_64') }), {
        nativeArch: 'x86_64',
      }).instructions,
    );
    const docker = readFileSync(referenceFile('docker-default.json'), 'utf8');
    const cases: { argv: string[]; input: string; kind: Kind }[] = [];
    for (let i = 0; i < CASES; i++) {
      const kind = pick(rnd, [
        'profile',
        'profile',
        'profile',
        'spo',
        'recording',
        'recording',
        'log',
        'log',
        'log',
        'bpf',
      ] as const);
      const base =
        kind === 'profile'
          ? rnd() < 0.1
            ? docker
            : PROFILE
          : kind === 'spo'
            ? SPO
            : kind === 'recording'
              ? recordingText()
              : kind === 'log'
                ? pick(rnd, LOGS)
                : '';
      const input = join(dir, `in-${i}${kind === 'spo' ? '.yaml' : kind === 'bpf' ? '.bpf' : ''}`);
      if (kind === 'bpf') {
        const b = Buffer.from(bpf);
        const r = rnd();
        if (r < 0.3) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        writeFileSync(
          input,
          r < 0.3
            ? b
            : r < 0.5
              ? b.subarray(0, Math.floor(rnd() * b.length))
              : r < 0.8
                ? Buffer.from(
                    Array.from({ length: 8 * Math.floor(rnd() * 200) }, () => Math.floor(rnd() * 256)),
                  )
                : Buffer.from(Array.from({ length: Math.floor(rnd() * 900) }, () => Math.floor(rnd() * 256))),
        );
      } else writeFileSync(input, mutateText(base, kind, rnd));
      const out = join(dir, `out-${i}`);
      // now and then the output is the input itself: it must be refused, the input kept
      const o = rnd() < 0.05 ? input : out;
      const byKind: Record<Kind, string[][]> = {
        profile: [
          ['validate', input],
          ['validate', '--json', input],
          ['convert', '--to', 'oci', '-o', o, input],
          ['convert', '--to', 'spo', input],
          ['explain', input],
          ['compile', '-o', o, input],
          ['compile', '--format', 'raw', '-o', o, input],
          ['verify', input],
          ['lint', input],
          ['diff', goodProfile, input],
          ['merge', input, goodProfile, '-o', o],
          ['report', input, '-o', o],
          ['emu', input, 'openat'],
          ['check', '--profile', input, goodRec],
        ],
        spo: [
          ['validate', input],
          ['convert', '--to', 'docker', input],
          ['explain', input],
          ['emu', input, 'mount'],
          ['lint', input],
        ],
        recording: [
          ['generate', input, '-o', o],
          ['generate', '--args', input],
          ['check', '--profile', goodProfile, input],
          ['report', goodProfile, '--recording', input, '-o', o],
        ],
        log: [
          ['import', input, '-o', o],
          ['import', '--format', pick(rnd, ['strace', 'audit', 'sysdig', 'bpftrace']), input],
          ['import', '--args', input],
          ['check', '--profile', goodProfile, input],
        ],
        bpf: [
          ['disasm', input],
          ['emu', input, 'read'],
          ['emu', input, '59', '1', '0x10', '-1'],
        ],
      };
      cases.push({ argv: pick(rnd, byKind[kind]), input, kind });
    }
    const before = cases.map((c) => sha(c.input));
    const casesFile = join(dir, 'cases.json');
    const results = join(dir, 'results.jsonl');
    const progressFile = join(dir, 'progress');
    writeFileSync(casesFile, JSON.stringify(cases.map((c) => ({ argv: c.argv }))));
    const child = start(
      'node',
      ['--stack-size=984', join(import.meta.dirname, 'batch-runner.mjs'), casesFile, results, progressFile],
      { stdout: 'ignore', env: { NO_COLOR: '1' }, timeout: 880_000 },
    );
    // a case that runs past 10 s is a hang: the runner is stopped and the case named
    let hung: string | undefined;
    let last = '';
    let since = Date.now();
    const watch = setInterval(() => {
      const now = existsSync(progressFile) ? readFileSync(progressFile, 'utf8') : '';
      if (now !== last) {
        last = now;
        since = Date.now();
      } else if (now !== 'done' && Date.now() - since > 10_000) {
        hung = now;
        child.signal('SIGKILL', true);
      }
    }, 500);
    const status = (await child.exit).code;
    const childErr = child.stderr();
    clearInterval(watch);
    expect(hung === undefined ? undefined : cases[Number(hung)]).toBeUndefined();
    expect([status, childErr]).toEqual([0, '']);
    const lines = readFileSync(results, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { i: number; status?: number; ms: number; stderr?: string; threw?: string },
      );
    expect(lines.length).toBe(CASES);
    const bad: unknown[] = [];
    const codes = new Map<string, number>();
    for (const r of lines) {
      const c = cases[r.i]!;
      const problems: string[] = [];
      if (r.threw) problems.push(`threw: ${r.threw}`);
      if (r.status !== 0 && r.status !== 1 && r.status !== 2) problems.push(`exit ${r.status}`);
      if (r.stderr?.includes('error[internal]')) problems.push('internal error');
      if (/\n\s+at .+:\d+:\d+\)?\n/.test(r.stderr ?? '')) problems.push('stack trace');
      if (r.status === 2 && !/(^|\n)(error\[[a-z0-9-]+\]|error: )/.test(r.stderr ?? ''))
        problems.push('exit 2 without a coded error');
      if (r.ms > 10_000) problems.push(`took ${r.ms} ms`);
      if (sha(c.input) !== before[r.i]) problems.push('input changed');
      if (problems.length > 0)
        bad.push({ argv: c.argv.join(' '), problems, stderr: r.stderr?.slice(0, 500) });
      for (const m of (r.stderr ?? '').matchAll(/(?:error|warning)\[([a-z0-9-]+)\]/g))
        codes.set(m[1]!, (codes.get(m[1]!) ?? 0) + 1);
    }
    const statuses = [0, 1, 2].map((s) => lines.filter((l) => l.status === s).length);
    const slowest = Math.max(...lines.map((l) => l.ms));
    console.log(
      `fuzz: ${CASES} cases, exit 0/1/2: ${statuses.join('/')}, slowest ${slowest} ms, ${codes.size} distinct codes: ${[
        ...codes,
      ]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25)
        .map(([c, n]) => `${c} ${n}`)
        .join(', ')}`,
    );
    // grouped by command and first stderr line, so one run shows every distinct failure
    const groups = new Map<string, number>();
    for (const b of bad as { argv: string; problems: string[]; stderr?: string }[]) {
      const key = `${b.argv.split(' ')[0]} ${b.problems.join(',')}: ${(b.stderr ?? '').split('\n')[0]}`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
    }
    for (const [k, n] of groups) console.log(`fuzz failure x${n}: ${k}`);
    // kept after the run for whoever reads a failure (the temporary directory is removed)
    mkdirSync('test-results', { recursive: true });
    writeFileSync(join('test-results', 'fuzz-bad.json'), JSON.stringify(bad, null, 2));
    expect(bad.slice(0, 10)).toEqual([]);
    // the fuzz reached the readers, not only the argument parser
    expect(codes.size).toBeGreaterThan(30);
  }, 900_000);
});
