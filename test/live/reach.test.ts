// Static reach against what programs really do: each command is traced with strace (every thread,
// child and exec'd program), and the union of the static reach of every executable the trace names
// must contain every call the trace shows (soundness). Programs: coreutils, shells and pipelines,
// compressors run as children, interpreters (python3, perl), sqlite3, openssl, git, jq, curl, NSS
// (getent), Go programs (runc, docker-registry), and musl programs (static and dynamic), built here.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { record } from '../../src/recorders/record.js';
import { run, sysfence, tempDir } from '../helpers/proc.js';
import { haveTool, requirement } from '../helpers/tools.js';

const x86_64 = findArch('x86_64')!;
const PROGRAMS = [
  'jq',
  'sqlite3',
  'xz',
  'openssl',
  'git',
  'perl',
  'python3',
  'curl',
  'zstd',
  'docker-registry',
  'musl-gcc',
];
const skip =
  process.arch !== 'x64'
    ? 'written for x86_64 hosts'
    : (requirement(haveTool('strace', ['-V']), 'strace') ??
      PROGRAMS.map((p) => requirement(haveTool(p, ['--version']), p)).find((x) => x !== undefined));

let dir = '';
const totals = { commands: 0, recorded: 0, reach: [] as number[] };

/**
 * `sysfence reach --json` of programs, in a child (decoding python3's libraries must not block the
 * test worker), with this file's own table cache.
 */
const reachCacheDir = tempDir('sysfence-reach-cache-');
async function reachOf(
  programs: string[],
  loaded: string[] = [],
): Promise<{ calls: { name: string }[]; modules: { path: string; loadedBecause?: string }[] }[]> {
  const r = await sysfence(
    ['reach', ...programs, '--json', ...(loaded.length > 0 ? ['--loaded', loaded.join(',')] : [])],
    { env: { SYSFENCE_CACHE_DIR: reachCacheDir } },
  );
  expect(r.status, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout);
  return Array.isArray(j) ? j : [j];
}

/** Traces `command` and checks that the static reach of its executables covers every call. */
async function sound(command: string[]): Promise<{ recorded: string[]; reached: number; missing: string[] }> {
  const r = await record({ backend: 'strace', command, arch: x86_64 });
  // the execve that starts the command is made by the tracer's child, not by the program's code
  const launcher = (n: string) => n === 'execve' && (r.recording.syscalls.x86_64?.execve?.count ?? 0) === 1;
  const recorded = Object.keys(r.recording.syscalls.x86_64 ?? {})
    .filter((n) => !launcher(n))
    .sort();
  const executables = new Set<string>();
  for (const s of Object.values(r.recording.syscalls.x86_64 ?? {}))
    for (const e of s.executables) executables.add(e);
  const reached = new Set<string>();
  for (const p of await reachOf([...executables])) for (const c of p.calls) reached.add(c.name);
  totals.commands++;
  totals.recorded += recorded.length;
  totals.reach.push(reached.size);
  return { recorded, reached: reached.size, missing: recorded.filter((n) => !reached.has(n)) };
}

describe.skipIf(skip !== undefined)('static reach contains what the programs do (strace)', () => {
  beforeAll(async () => {
    dir = tempDir('sysfence-reach-');
    writeFileSync(join(dir, 'in.json'), '{"a":[1,2,{"b":"c"}]}\n');
    writeFileSync(join(dir, 'hello.c'), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
    for (const [out, args] of [
      ['hello-musl', []],
      ['hello-musl-static', ['-static']],
    ] as const) {
      const b = await run('musl-gcc', ['-O1', ...args, '-o', join(dir, out), join(dir, 'hello.c')]);
      expect(b.status, b.stderr).toBe(0);
    }
  }, 60_000);

  const cases: [string, () => string[]][] = [
    ['true', () => ['/bin/true']],
    ['ls -la', () => ['ls', '-la', '/etc']],
    [
      'a shell pipeline with redirections',
      () => ['sh', '-c', 'ls /etc | sort -r | head -3 > /dev/null 2>&1; echo $?'],
    ],
    ['tar czf (gzip as a child)', () => ['tar', 'czf', join(dir, 'a.tgz'), '-C', dir, 'in.json']],
    ['xz and unxz', () => ['sh', '-c', `xz -c ${join(dir, 'in.json')} | xz -dc > /dev/null`]],
    ['jq', () => ['jq', '.a[2].b', join(dir, 'in.json')]],
    [
      'sqlite3',
      () => ['sqlite3', ':memory:', 'create table t(a); insert into t values (1); select * from t;'],
    ],
    [
      'python3',
      () => ['/usr/bin/python3', '-c', 'import json, os; print(json.dumps(sorted(os.listdir("/"))))'],
    ],
    [
      'perl flock',
      () => ['perl', '-e', `open(F, ">", "${join(dir, 'lock')}") or die; flock(F, 2); print "ok\\n"`],
    ],
    ['openssl', () => ['openssl', 'dgst', '-sha256', join(dir, 'in.json')]],
    ['git init', () => ['git', 'init', '-q', join(dir, 'repo')]],
    ['getent (NSS)', () => ['getent', 'passwd', 'root']],
    ['zstd', () => ['zstd', '-q', '-f', '-o', join(dir, 'in.zst'), join(dir, 'in.json')]],
    ['curl (a file URL)', () => ['curl', '-s', `file://${join(dir, 'in.json')}`]],
    ['docker-registry (Go)', () => ['docker-registry', '--version']],
    ['a musl program (dynamic)', () => [join(dir, 'hello-musl')]],
    ['a musl program (static)', () => [join(dir, 'hello-musl-static')]],
  ];
  for (const [what, command] of cases)
    it(`${what}: every traced call is in the static reach`, async () => {
      const r = await sound(command());
      expect(r.recorded.length).toBeGreaterThan(2);
      expect(r.missing).toEqual([]);
      // reach is a bound, not everything: a program reaches far fewer calls than the kernel has
      expect(r.reached).toBeLessThan(250);
    }, 120_000);

  it.each(['strace', 'ebpf'] as const)(
    "the %s recording names what each program loaded, dlopen'd modules included",
    async (backend) => {
      const r = await record({
        backend,
        command: ['/usr/bin/python3', '-c', 'import json, ctypes'],
        arch: x86_64,
      });
      const loaded = (r.recording.programs ?? []).flatMap((p) => p.loaded ?? []);
      // a Python extension and libffi come by dlopen, not by DT_NEEDED
      expect(loaded.filter((l) => /\/_json\.cpython-[^/]*\.so$/.test(l))).toHaveLength(1);
      expect(loaded.filter((l) => /\/_ctypes\.cpython-[^/]*\.so$/.test(l))).toHaveLength(1);
      const [withLoaded] = await reachOf(['/usr/bin/python3'], loaded);
      const module = withLoaded?.modules.find((m) => /_ctypes\.cpython/.test(m.path));
      expect(module?.loadedBecause).toBe('the recording names it (loaded at run time)');
    },
    120_000,
  );

  it('over all the commands', () => {
    const sorted = [...totals.reach].sort((a, b) => a - b);
    console.log(
      `static reach: ${totals.commands} traced commands, ${totals.recorded} traced calls, all in the static sets (sizes ${sorted[0]}-${sorted.at(-1)}, median ${sorted[Math.floor(sorted.length / 2)]})`,
    );
    expect(totals.commands).toBe(cases.length);
  });
});
