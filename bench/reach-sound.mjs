#!/usr/bin/env node
// Soundness of static reach over many Debian programs, in one run: each command is recorded with
// strace (`sysfence record --backend strace`: every thread, child and exec'd program), and the
// static reach of every executable the recording names (`sysfence reach --json`) must contain every
// call the recording shows. Prints, per command, the recorded and reachable counts, the calls
// missed (none expected) and the unresolved sites; then the totals. The CI subset is
// test/live/reach.test.ts.
// Needs strace, a built dist/, and the programs below (missing ones are listed and left out).
// Usage: node bench/reach-sound.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sysfence-reach-sound-'));
const f = (n) => join(dir, n);
mkdirSync(f('tree/a/b'), { recursive: true });
writeFileSync(f('in.txt'), 'gamma alpha\nbeta delta\nalpha beta\n'.repeat(200));
writeFileSync(f('in.json'), '{"a":[1,2,{"b":"c"}],"d":"e"}\n');
writeFileSync(f('tree/a/b/x.txt'), 'x\n');
writeFileSync(f('hello.c'), '#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n');
spawnSync('musl-gcc', ['-O1', '-o', f('hello-musl'), f('hello.c')]);
spawnSync('musl-gcc', ['-O1', '-static', '-o', f('hello-musl-static'), f('hello.c')]);
spawnSync('gcc', ['-O1', '-static', '-o', f('hello-static'), f('hello.c')]);

const COMMANDS = [
  ['true'],
  ['ls', '-la', '/etc'],
  ['cat', f('in.txt')],
  ['sort', '-u', f('in.txt')],
  ['uniq', '-c', f('in.txt')],
  ['wc', '-l', f('in.txt')],
  ['head', '-n', '3', f('in.txt')],
  ['tail', '-n', '3', f('in.txt')],
  ['cut', '-d', ' ', '-f', '2', f('in.txt')],
  ['tr', 'a-z', 'A-Z'],
  ['grep', '-c', 'alpha', f('in.txt')],
  ['sed', 's/alpha/omega/g', f('in.txt')],
  ['awk', '{n+=NF} END {print n}', f('in.txt')],
  ['find', f('tree'), '-name', '*.txt'],
  ['du', '-sh', f('tree')],
  ['df', '-h', '/'],
  ['stat', f('in.txt')],
  ['cp', '-r', f('tree'), f('tree2')],
  ['mv', f('tree2'), f('tree3')],
  ['rm', '-rf', f('tree3')],
  ['mkdir', '-p', f('m/n/o')],
  ['ln', '-sf', f('in.txt'), f('link')],
  ['chmod', '600', f('in.txt')],
  ['touch', f('t')],
  ['date', '-u', '+%Y'],
  ['env'],
  ['id'],
  ['uname', '-a'],
  ['ps', 'aux'],
  ['getent', 'passwd', 'root'],
  ['sha256sum', f('in.txt')],
  ['md5sum', f('in.txt')],
  ['base64', f('in.txt')],
  ['tar', 'czf', f('a.tgz'), '-C', dir, 'tree'],
  ['tar', 'xzf', f('a.tgz'), '-C', f('m')],
  ['gzip', '-kf', f('in.txt')],
  ['xz', '-kf', f('in.txt')],
  ['zstd', '-qf', f('in.txt'), '-o', f('in.zst')],
  ['bzip2', '-kf', f('in.txt')],
  ['sh', '-c', `ls ${dir} | sort -r | head -3 > /dev/null 2>&1; echo $?`],
  ['bash', '-c', 'for i in 1 2 3; do echo $i; done | wc -l'],
  ['dash', '-c', 'echo $((1+2))'],
  ['jq', '.a[2].b', f('in.json')],
  ['python3', '-c', 'import json, os; print(json.dumps(sorted(os.listdir("/"))))'],
  ['perl', '-e', `open(F, ">", "${f('lock')}") or die; flock(F, 2); print "ok\\n"`],
  ['sqlite3', ':memory:', 'create table t(a); insert into t values (1); select * from t;'],
  ['openssl', 'dgst', '-sha256', f('in.txt')],
  ['openssl', 'rand', '-hex', '8'],
  ['git', 'init', '-q', f('repo')],
  ['git', '--version'],
  ['curl', '-s', `file://${f('in.json')}`],
  ['diff', f('in.txt'), f('in.json')],
  ['xargs', '-a', f('in.json'), 'echo'],
  ['iconv', '-f', 'utf-8', '-t', 'latin1', f('in.txt')],
  ['docker-registry', '--version'],
  ['runc', '--version'],
  [f('hello-musl')],
  [f('hello-musl-static')],
  [f('hello-static')],
];

function sf(args) {
  return spawnSync('node', [cli, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, cwd: dir });
}

const rows = [];
const absent = [];
const reachOf = new Map();
for (const [i, cmd] of COMMANDS.entries()) {
  const which = cmd[0].startsWith('/')
    ? cmd[0]
    : spawnSync('sh', ['-c', `command -v ${cmd[0]}`], { encoding: 'utf8' }).stdout.trim();
  if (!which) {
    absent.push(cmd[0]);
    continue;
  }
  const rec = f(`r${i}.json`);
  sf(['record', '--backend', 'strace', '--recording', rec, '--', ...cmd]);
  let recording;
  try {
    recording = JSON.parse(readFileSync(rec, 'utf8'));
  } catch {
    rows.push({ cmd: cmd.join(' '), error: 'not recorded' });
    continue;
  }
  const calls = recording.syscalls.x86_64 ?? {};
  const exes = new Set(Object.values(calls).flatMap((s) => s.executables ?? []));
  const reached = new Set();
  let unresolved = 0;
  for (const e of exes) {
    if (!reachOf.has(e)) {
      const r = sf(['reach', e, '--json']);
      reachOf.set(
        e,
        r.status <= 1 ? JSON.parse(r.stdout) : { calls: [], unresolved: [], error: r.stderr.trim() },
      );
    }
    const r = reachOf.get(e);
    for (const c of r.calls) reached.add(c.name);
    unresolved += r.unresolved.length;
  }
  // the execve that starts the command is made by the tracer's child, not by the program
  const launcher = (n) => n === 'execve' && calls.execve?.count === 1;
  const recorded = Object.keys(calls).filter((n) => !launcher(n));
  const missed = recorded.filter((n) => !reached.has(n));
  rows.push({
    cmd: cmd.join(' ').replaceAll(dir, '.'),
    recorded: recorded.length,
    reachable: reached.size,
    missed,
    unresolved,
  });
}

console.log('| command | recorded | reachable | missed | unresolved sites |');
console.log('|---|---|---|---|---|');
for (const r of rows)
  console.log(
    r.error
      ? `| ${r.cmd} | ${r.error} | | | |`
      : `| ${r.cmd} | ${r.recorded} | ${r.reachable} | ${r.missed.join(' ') || '-'} | ${r.unresolved} |`,
  );
const ok = rows.filter((r) => !r.error && r.missed.length === 0).length;
const sizes = rows
  .filter((r) => !r.error)
  .map((r) => r.reachable)
  .sort((a, b) => a - b);
console.log(
  `\n${rows.length} commands (${reachOf.size} distinct executables): ${ok} fully contained, ${rows.length - ok} with a missed call; reachable sizes ${sizes[0]}-${sizes.at(-1)}, median ${sizes[Math.floor(sizes.length / 2)]}; recorded ${rows.reduce((s, r) => s + (r.recorded ?? 0), 0)} calls in all`,
);
if (absent.length) console.log(`not installed, left out: ${absent.join(', ')}`);
rmSync(dir, { recursive: true, force: true });
