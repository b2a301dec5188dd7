#!/usr/bin/env node
// Held-out robustness of recorded profiles, in one run: for twenty real programs (glibc, two Go,
// one musl, two servers), record ONE input,
// generate the profile before (--exact: only what was recorded) and after (call families, the
// default), then run each program under each profile on the SAME input (REPEAT times) and on a
// DIFFERENT input, and count passes. Then `sysfence learn` from the exact profile on the different
// input, round after round, until the program passes: the rounds it took (goal: 1).
//
// A run passes when its exit status is the unconfined run's and sysfence run reports no unexpected
// denial (a program that falls back silently, like openssl speed printing 0.00, is a failure).
// The programs and inputs were chosen before any family was written, from what users run: none is
// tuned to the table.
//
// Needs root (eBPF, bubblewrap), sqlite3, python3, curl, git, tar, xz, zstd, perl, openssl, gojq,
// age, nginx (nginx-light), redis-server, jq, bzip2, zip, unzip, bc, openssh-client, musl-tools,
// zlib1g-dev and a built dist/ (apt-get install them first; nothing here installs). Usage: node bench/heldout.mjs   (REPEAT=3 by environment; ONLY=name,name)
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const REPEAT = Number(process.env.REPEAT ?? 3);
const ONLY = process.env.ONLY?.split(',');
const dir = mkdtempSync(join(tmpdir(), 'sysfence-heldout-'));
const port = 18000 + (process.pid % 1000);

/** The files every program starts from (copied fresh for each run). */
function seed(d) {
  mkdirSync(join(d, 'data', 'sub'), { recursive: true });
  for (let i = 0; i < 40; i++)
    writeFileSync(
      join(d, 'data', i % 3 ? 'sub' : '', `f${i}.txt`),
      `${'line alpha beta\n'.repeat(50 + i * 7)}`,
    );
  writeFileSync(join(d, 'data', 'big.bin'), readFileSync(process.execPath).subarray(0, 3_000_000));
  writeFileSync(
    join(d, 'tool.pl'),
    `use strict; use Fcntl qw(:flock); use IO::Socket::INET;
my $mode = shift // 'count';
if ($mode eq 'count') { my $n = 0; for my $f (glob 'data/sub/*.txt') { open my $h, '<', $f or die; while (<$h>) { $n++ if /alpha/ } } print "$n\\n"; exit 0 }
open my $l, '>', 'lock' or die; flock($l, LOCK_EX) or die;
my $srv = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp') or die;
my $p = $srv->sockport; my $pid = fork() // die;
if ($pid == 0) { my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $p) or die; print $c "hello\\n"; close $c; exit 0 }
my $c = $srv->accept or die; my $line = <$c>; waitpid($pid, 0); print $line; exit($? >> 8)\n`,
  );
  writeFileSync(
    join(d, 'a.sql'),
    "create table t(a integer primary key, b text);\nbegin;\ninsert into t(b) values('x'),('y'),('z');\ncommit;\nselect count(*), max(b) from t;\n",
  );
  writeFileSync(
    join(d, 'b.sql'),
    [
      'create table t(a integer primary key, b text, c json);',
      "insert into t(b, c) select 'v' || value, json_object('k', value) from generate_series(1, 2000);",
      'create index ib on t(b);',
      "select json_extract(c, '$.k') from t where b like 'v19%' order by a desc limit 3;",
      "attach 'other.db' as o;",
      'create table o.u as select * from t where a % 7 = 0;',
      '.output dump.sql',
      '.dump',
      '.output stdout',
      '.shell echo shell-ok',
      "vacuum into 'copy.db';",
      'pragma integrity_check;',
      '',
    ].join('\n'),
  );
  const items = Array.from({ length: 40 }, (_, i) => ({ name: `item${i}`, n: i % 9, tags: ['a', 'b'] }));
  writeFileSync(join(d, 'data.json'), `${JSON.stringify({ a: 1, items })}\n`);
  writeFileSync(
    join(d, 'c.yaml'),
    'service:\n  name: shop\n  ports: [80, 443]\n  env:\n    - {k: A, v: "1"}\n',
  );
  writeFileSync(
    join(d, 'nginx.conf'),
    `user root;\nworker_processes 1;\npid nginx.pid;\nerror_log error.log;\nevents { worker_connections 64; }\nhttp {\n  access_log access.log;\n  client_body_temp_path tmp/body;\n  proxy_temp_path tmp/proxy;\n  fastcgi_temp_path tmp/fastcgi;\n  server { listen 127.0.0.1:${port + 1}; root data; autoindex on; }\n}\n`,
  );
  mkdirSync(join(d, 'tmp'));
  // a musl program: zlib's own example tool, built against musl (the fortified snprintf calls of
  // Debian's static zlib are given plain musl ones)
  const zinc = join(d, '.zinc');
  mkdirSync(zinc);
  cpSync('/usr/include/zlib.h', join(zinc, 'zlib.h'));
  cpSync('/usr/include/zconf.h', join(zinc, 'zconf.h'));
  writeFileSync(
    join(zinc, 'chk.c'),
    '#include <stdarg.h>\n#include <stdio.h>\nint __vsnprintf_chk(char *s, size_t n, int f, size_t l, const char *fmt, va_list ap) { (void)f; (void)l; return vsnprintf(s, n, fmt, ap); }\nint __snprintf_chk(char *s, size_t n, int f, size_t l, const char *fmt, ...) { va_list ap; va_start(ap, fmt); int r = vsnprintf(s, n, fmt, ap); va_end(ap); (void)f; (void)l; return r; }\n',
  );
  const cc = spawnSync(
    'musl-gcc',
    [
      '-O2',
      '-I',
      zinc,
      '-o',
      join(d, 'minigzip'),
      '/usr/share/doc/zlib1g-dev/examples/minigzip.c',
      join(zinc, 'chk.c'),
      '/usr/lib/x86_64-linux-gnu/libz.a',
    ],
    { encoding: 'utf8' },
  );
  if (cc.status !== 0)
    throw new Error(`musl-gcc minigzip failed (needs musl-tools, zlib1g-dev): ${cc.stderr}`);
  rmSync(zinc, { recursive: true });
}

// A: the input recorded. B: another input to the same program, the kind a user runs next.
const PROGRAMS = [
  {
    name: 'sqlite3',
    a: 'sqlite3 db.sqlite < a.sql',
    b: 'sqlite3 db.sqlite < b.sql && test -s dump.sql && test -s copy.db',
  },
  {
    name: 'python3 http.server',
    a: `python3 -m http.server ${port} --bind 127.0.0.1 >/dev/null 2>&1 & s=$!; for i in $(seq 50); do curl -sf http://127.0.0.1:${port}/ >/dev/null && break; sleep 0.1; done; curl -sf http://127.0.0.1:${port}/ > out; r=$?; kill $s; wait $s; exit $r`,
    b: `python3 -m http.server ${port} --bind 127.0.0.1 --directory data >/dev/null 2>&1 & s=$!; for i in $(seq 50); do curl -sf http://127.0.0.1:${port}/ >/dev/null && break; sleep 0.1; done; curl -sf http://127.0.0.1:${port}/big.bin -o big && curl -sfI http://127.0.0.1:${port}/sub/ >/dev/null && ! curl -sf http://127.0.0.1:${port}/missing; r=$?; (curl -sf http://127.0.0.1:${port}/f0.txt & curl -sf http://127.0.0.1:${port}/f3.txt & wait) >/dev/null; kill $s; wait $s; exit $r`,
  },
  {
    name: 'git',
    a: 'export HOME=$PWD GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b; git init -q r && cd r && cp -r ../data . && git add . && git commit -qm one && git log --oneline >/dev/null',
    b: 'export HOME=$PWD GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b; git init -q -b main r && cd r && cp -r ../data . && git add . && git commit -qm one && git checkout -qb side && echo x >> f0.txt && git commit -qam two && git checkout -q main && echo y >> sub/f1.txt && git commit -qam three && git merge -q --no-edit side && echo z >> f0.txt && git stash -q && git stash pop -q && git checkout -q f0.txt && git rebase -q HEAD~1 2>/dev/null; git gc -q && git log --stat >/dev/null',
  },
  {
    name: 'tar',
    a: 'tar -czf out.tgz data && mkdir x && tar -xzf out.tgz -C x',
    b: 'setfattr -n user.k -v v data/f0.txt 2>/dev/null; truncate -s 50M data/sparse && tar --xattrs -S -cJf out.txz data && tar --zstd -cf out.tzst data && mkdir x y && tar --xattrs -xJf out.txz -C x && tar --zstd -xf out.tzst -C y && cmp data/big.bin y/data/big.bin',
  },
  {
    name: 'find|sed|sort|xz',
    a: "find data -name '*.txt' | sed 's/data/D/' | sort | xz -T1 > list.xz",
    b: "find data -type f -newer data/f0.txt -exec cat {} + | sed -e 's/alpha/gamma/g' | sort -u | xz -T1 -9 > all.xz && cat data/big.bin > copy.bin && find data -type f | sort -r | head -n 3 > head.txt",
  },
  {
    name: 'perl',
    a: 'perl tool.pl count',
    b: 'perl tool.pl net',
  },
  {
    name: 'openssl',
    a: 'openssl genrsa -out k.pem 2048 2>/dev/null && openssl req -new -x509 -key k.pem -subj /CN=t -days 1 -out c.pem',
    b: 'openssl genpkey -algorithm ed25519 -out e.pem && openssl dgst -sha256 -out d.txt data/big.bin && openssl enc -aes-256-cbc -pbkdf2 -pass pass:x -in data/big.bin -out e.bin && openssl speed -seconds 1 -multi 2 sha256 2>/dev/null | grep -q "^sha256 .* [1-9]"',
  },
  // the second set: two Go programs, a musl one, two servers and everyday tools; inputs written
  // before the first run, helpers in B only where A runs them too
  {
    name: 'gojq (Go)',
    a: 'gojq .a data.json > o.txt',
    b: "gojq --yaml-input . c.yaml > c.json && gojq -s add data.json c.json > s.json && gojq -r '.items[] | select(.n > 3) | .name' data.json > n.txt && gojq -n '[range(300000)] | map(. * 2) | add' > sum.txt",
  },
  {
    name: 'age (Go)',
    a: 'age-keygen -o key.txt 2>/dev/null && age -r "$(age-keygen -y key.txt)" -o f.age data/f0.txt',
    b: 'age-keygen -o key.txt 2>/dev/null && age-keygen -o key2.txt 2>/dev/null && age -a -r "$(age-keygen -y key.txt)" -r "$(age-keygen -y key2.txt)" < data/big.bin > big.age && age -d -i key2.txt -o big.out big.age && test -s big.out',
  },
  {
    name: 'minigzip (musl)',
    a: './minigzip < data/f0.txt > f0.gz',
    b: './minigzip -9 data/big.bin && ./minigzip -d data/big.bin.gz && ./minigzip -r -c data/f3.txt > f3.gz && ./minigzip -d -c f3.gz > f3.txt && test -s f3.txt',
  },
  {
    name: 'nginx',
    a: `nginx -p "$PWD/" -e "$PWD/error.log" -c "$PWD/nginx.conf" -g 'daemon off;' & s=$!; for i in $(seq 50); do curl -sf http://127.0.0.1:${port + 1}/f0.txt >/dev/null && break; sleep 0.1; done; curl -sf http://127.0.0.1:${port + 1}/f0.txt > out; r=$?; kill -QUIT $s; wait $s; exit $r`,
    b: `nginx -p "$PWD/" -e "$PWD/error.log" -c "$PWD/nginx.conf" -g 'daemon off;' & s=$!; for i in $(seq 50); do curl -sf http://127.0.0.1:${port + 1}/f0.txt >/dev/null && break; sleep 0.1; done; curl -sf http://127.0.0.1:${port + 1}/big.bin -o big && curl -sf -r 100-199 http://127.0.0.1:${port + 1}/f3.txt > part && curl -sf http://127.0.0.1:${port + 1}/sub/ > index.html && ! curl -sf http://127.0.0.1:${port + 1}/missing && curl -sfI http://127.0.0.1:${port + 1}/f0.txt > /dev/null; r=$?; (curl -sf http://127.0.0.1:${port + 1}/f0.txt & curl -sf http://127.0.0.1:${port + 1}/sub/f1.txt & wait) >/dev/null; kill -HUP $s; sleep 1; curl -sf http://127.0.0.1:${port + 1}/f0.txt > /dev/null || r=1; kill -QUIT $s; wait $s; exit $r`,
  },
  {
    name: 'redis',
    a: `redis-server --port ${port + 2} --bind 127.0.0.1 --save '' --dir "$PWD" >/dev/null & s=$!; for i in $(seq 50); do redis-cli -p ${port + 2} ping >/dev/null 2>&1 && break; sleep 0.1; done; redis-cli -p ${port + 2} set k v >/dev/null && redis-cli -p ${port + 2} get k > out; r=$?; redis-cli -p ${port + 2} shutdown nosave >/dev/null; wait $s; exit $r`,
    b: `redis-server --port ${port + 2} --bind 127.0.0.1 --appendonly yes --dir "$PWD" >/dev/null & s=$!; for i in $(seq 50); do redis-cli -p ${port + 2} ping >/dev/null 2>&1 && break; sleep 0.1; done; for i in $(seq 200); do echo "RPUSH l $i"; done | redis-cli -p ${port + 2} >/dev/null && redis-cli -p ${port + 2} lrange l 0 5 > out && redis-cli -p ${port + 2} bgsave >/dev/null && sleep 1 && redis-cli -p ${port + 2} bgrewriteaof >/dev/null && sleep 1 && redis-cli -p ${port + 2} info persistence > info && test -s dump.rdb; r=$?; redis-cli -p ${port + 2} shutdown save >/dev/null; wait $s; exit $r`,
  },
  {
    name: 'jq',
    a: 'jq .a data.json > o.txt',
    b: "jq -r '.items[] | [.name, .n] | @csv' data.json > o.csv && jq -n --arg x 1 '$x | tonumber + 1' > x.txt && jq -s . data.json data.json > two.json && jq --seq -c '.items[]' data.json > seq.txt",
  },
  {
    name: 'gzip',
    a: 'gzip -c data/f0.txt > f0.gz',
    b: 'gzip -r -9 data/sub && gzip -t data/sub/f1.txt.gz && gzip -d -r data/sub && gzip -k data/big.bin && gzip -l data/big.bin.gz > l.txt',
  },
  {
    name: 'awk',
    a: "awk '{ n += length($0) } END { print n }' data/f0.txt > n.txt",
    b: 'awk -v OFS=, \'{ $1 = toupper($1); print > "out.csv" } END { printf "%d\\n", NR > "/dev/stderr" }\' data/f0.txt data/sub/f1.txt 2> nr.txt',
  },
  {
    name: 'diff',
    a: 'diff data/f0.txt data/sub/f1.txt > d.txt; test $? = 1',
    b: 'diff -ru data data/sub > r.diff; test $? = 1 && diff -q data/big.bin data/big.bin && diff -u --label a --label b data/f0.txt data/f3.txt > u.diff; test $? = 1',
  },
  {
    name: 'ssh-keygen',
    a: "ssh-keygen -q -t ed25519 -N '' -f k1",
    b: "ssh-keygen -q -t rsa -b 3072 -N '' -f k2 && ssh-keygen -l -f k2.pub > fp && ssh-keygen -y -f k2 > pub && ssh-keygen -q -p -P '' -N secret -f k2",
  },
  {
    name: 'bzip2',
    a: 'bzip2 -c data/f0.txt > f0.bz2',
    b: 'bzip2 -k -9 data/big.bin && bzip2 -t data/big.bin.bz2 && bzip2 -dc data/big.bin.bz2 > big.out',
  },
  {
    name: 'zip/unzip',
    a: 'zip -q -r a.zip data/sub && unzip -q -l a.zip > /dev/null',
    b: 'zip -q -r -9 -e -P pw b.zip data && unzip -q -P pw -o b.zip -d u && test -s u/data/big.bin',
  },
  {
    name: 'bc',
    a: "echo '2^100' | bc > o.txt",
    b: "printf 'scale=50\\ndefine f(n) { if (n < 2) return 1; return n * f(n-1) }\\nf(200)\\ns(1)\\n' | bc -l > o.txt",
  },
].filter((p) => !ONLY || ONLY.includes(p.name));

/** A fresh working directory for one run. */
let runs = 0;
function workdir() {
  const d = join(dir, `w${++runs}`);
  cpSync(join(dir, 'seed'), d, { recursive: true });
  return d;
}

/** A run may hang under a profile that denies what it waits with (dash's wait spins on ENOSYS): a minute at most (every run here takes seconds). */
function sf(args, cwd) {
  return spawnSync('node', [cli, ...args], {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
}

function plain(script) {
  return spawnSync('sh', ['-c', script], { cwd: workdir(), stdio: 'ignore' }).status;
}

/** Runs `script` under `profile`: passes when the exit status is `expect` and nothing unexpected was denied. */
function underProfile(profile, script, expect) {
  const report = join(dir, `run${runs}.json`);
  const r = sf(['run', '--profile', profile, '--report', report, '--', 'sh', '-c', script], workdir());
  if (!existsSync(report)) return { pass: false, why: r.stderr.split('\n').slice(-3).join(' ') };
  const j = JSON.parse(readFileSync(report, 'utf8'));
  const denied = j.denials.filter((d) => !d.expected).map((d) => d.name);
  const pass = j.exit.status === expect && denied.length === 0;
  return {
    pass,
    why: pass ? '' : `exit ${j.exit.status} (want ${expect}); denied: ${denied.join(' ') || '-'}`,
  };
}

/** The risk list (data/syscall-risks.tsv): calls never to be allowed on prediction alone. */
const RISKY = new Set(
  readFileSync(join(root, 'data', 'syscall-risks.tsv'), 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t')[0]),
);

/** Risk-list calls a profile allows (ALLOW or LOG, unconditionally) that the recording-only profile does not. */
function riskyAdded(profile, exactProfile) {
  const names = (p, actions) =>
    new Set(
      (JSON.parse(readFileSync(p, 'utf8')).syscalls ?? [])
        // an argument rule (clone without namespace flags, as Docker's default) is not the call
        .filter((r) => actions.includes(r.action) && !(r.args?.length > 0))
        .flatMap((r) => r.names ?? []),
    );
  const recorded = names(exactProfile, ['SCMP_ACT_ALLOW']);
  return [...names(profile, ['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG'])].filter(
    (n) => RISKY.has(n) && !recorded.has(n),
  );
}

function loggedCount(profile) {
  const p = JSON.parse(readFileSync(profile, 'utf8'));
  const names = new Set();
  for (const r of p.syscalls ?? [])
    if (r.action === 'SCMP_ACT_LOG') for (const n of r.names ?? []) names.add(n);
  return names.size;
}

function allowedCount(profile) {
  const p = JSON.parse(readFileSync(profile, 'utf8'));
  const names = new Set();
  for (const r of p.syscalls ?? [])
    if (r.action === 'SCMP_ACT_ALLOW') for (const n of r.names ?? []) names.add(n);
  return names.size;
}

mkdirSync(join(dir, 'seed'));
seed(join(dir, 'seed'));
if (process.env.PLAIN) {
  // only the unconfined runs: what each input exits with (to check a new program's inputs)
  for (const p of PROGRAMS) console.log(`${p.name}: A exits ${plain(p.a)}, B exits ${plain(p.b)}`);
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
const rows = [];
for (const p of PROGRAMS) {
  const expectA = plain(p.a);
  const expectB = plain(p.b);
  const rec = join(dir, `${rows.length}.rec.json`);
  const r = sf(['record', '--recording', rec, '--', 'sh', '-c', p.a], workdir());
  if (r.status !== expectA) console.error(`${p.name}: recording exited ${r.status}: ${r.stderr.slice(-400)}`);
  const exact = join(dir, `${rows.length}.exact.json`);
  const fam = join(dir, `${rows.length}.fam.json`);
  sf(['generate', '--exact', rec, '-o', exact]);
  sf(['generate', '--no-reach', rec, '-o', fam]);
  // the default: families and static reach (predicted calls allowed and logged)
  const reach = join(dir, `${rows.length}.reach.json`);
  sf(['generate', rec, '-o', reach]);
  const row = {
    name: p.name,
    exact: allowedCount(exact),
    fam: allowedCount(fam),
    reach: allowedCount(reach),
    reachLogged: loggedCount(reach),
    risky: riskyAdded(reach, exact),
    notes: [],
  };
  for (const [label, profile] of [
    ['exact', exact],
    ['fam', fam],
    ['reach', reach],
  ]) {
    let same = 0;
    for (let i = 0; i < REPEAT; i++) {
      const x = underProfile(profile, p.a, expectA);
      if (x.pass) same++;
      else row.notes.push(`${label} same: ${x.why}`);
    }
    const d = underProfile(profile, p.b, expectB);
    if (!d.pass) row.notes.push(`${label} different: ${d.why}`);
    row[`${label}Same`] = same;
    row[`${label}Diff`] = d.pass;
  }
  // one-pass learning on the different input, from each profile: rounds until B passes
  for (const [label, start] of [
    ['exact', exact],
    ['fam', fam],
  ]) {
    let current = start;
    let rounds = 0;
    let learned = false;
    while (rounds < 3 && !learned) {
      rounds++;
      const next = join(dir, `${rows.length}.${label}.learn${rounds}.json`);
      sf(['learn', current, '-o', next, '--', 'sh', '-c', p.b], workdir());
      current = next;
      const x = underProfile(current, p.b, expectB);
      learned = x.pass;
      if (!x.pass) row.notes.push(`learn from ${label}, round ${rounds}: ${x.why}`);
    }
    row[`${label}Rounds`] = learned ? rounds : `>${rounds}`;
    row[`${label}Learned`] = allowedCount(current);
  }
  rows.push(row);
  console.error(`${p.name}: done`);
}

const pct = (n, d) => `${((100 * n) / d).toFixed(0)}%`;
console.log(`\nHeld-out programs: recorded once (input A), run on A (${REPEAT}x) and on a different input B`);
console.log(
  '| program | allowed exact / families / reach (+ logged) | same input exact / families / reach | different input exact / families / reach | learn rounds on B from exact / families | allowed after learn (exact / families) |',
);
console.log('|---|---|---|---|---|---|');
const pf = (b) => (b ? 'pass' : 'FAIL');
for (const r of rows)
  console.log(
    `| ${r.name} | ${r.exact} / ${r.fam} / ${r.reach} (+${r.reachLogged}) | ${r.exactSame}/${REPEAT} / ${r.famSame}/${REPEAT} / ${r.reachSame}/${REPEAT} | ${pf(r.exactDiff)} / ${pf(r.famDiff)} / ${pf(r.reachDiff)} | ${r.exactRounds} / ${r.famRounds} | ${r.exactLearned} / ${r.famLearned} |`,
  );
const n = rows.length;
const mean = (f) => rows.reduce((s, r) => s + f(r), 0) / n;
console.log(
  `\nwith static reach (the default): different input passes ${rows.filter((r) => r.reachDiff).length}/${n}, same input ${pct(
    mean((r) => r.reachSame),
    REPEAT,
  )}; mean allowed ${mean((r) => r.reach).toFixed(1)} + ${mean((r) => r.reachLogged).toFixed(1)} logged (${mean((r) => (r.reach + r.reachLogged) / r.exact).toFixed(2)}x the recorded-only count; allowed without audit ${mean((r) => r.reach / r.exact).toFixed(2)}x)`,
);
console.log(
  `different input passes: exact ${rows.filter((r) => r.exactDiff).length}/${n} (${pct(rows.filter((r) => r.exactDiff).length, n)}), families ${rows.filter((r) => r.famDiff).length}/${n} (${pct(rows.filter((r) => r.famDiff).length, n)}); same input: exact ${pct(
    mean((r) => r.exactSame),
    REPEAT,
  )}, families ${pct(
    mean((r) => r.famSame),
    REPEAT,
  )}`,
);
console.log(
  `mean allowed: exact ${mean((r) => r.exact).toFixed(1)}, families ${mean((r) => r.fam).toFixed(1)} (${mean((r) => r.fam / r.exact).toFixed(2)}x the recorded-only count); learn converged in one round for ${rows.filter((r) => r.exactRounds === 1).length}/${n} from exact, ${rows.filter((r) => r.famRounds === 1).length}/${n} from families`,
);
const risky = rows.flatMap((r) => r.risky.map((n) => `${r.name}: ${n}`));
console.log(
  `risk-list calls allowed (or logged) without a recording: ${risky.length}${risky.length ? ` (${risky.join(', ')})` : ''}`,
);
for (const r of rows) for (const note of r.notes) console.log(`  ${r.name}: ${note}`);
if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
else console.log(`kept ${dir}`);
