#!/usr/bin/env node
// bench/import: sysfence import against the awk | sort | uniq -c pipeline on a >= 200 MB
// `strace -f` log (the fixture repeated), in one run; prints MB/s and the ratio. Needs `npm run build`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'sysfence-import-'));
const log = join(dir, 'big.log');
const unit = readFileSync(join(root, 'test', 'fixtures', 'strace', 'f.log'), 'utf8');
const target = Number(process.env.SIZE_MB ?? 200) * 1024 * 1024;
const parts = [];
let size = 0;
while (size < target) {
  parts.push(unit);
  size += unit.length;
}
writeFileSync(log, parts.join(''));
const mb = statSync(log).size / 1024 / 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = (f) => {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1000;
};
const ours = [];
const awk = [];
for (let i = 0; i < Number(process.env.REPS ?? 5); i++) {
  ours.push(
    time(() =>
      execFileSync(
        'node',
        [
          join(root, 'dist', 'cli', 'main.js'),
          'import',
          '--arch',
          'x86_64',
          '-o',
          join(dir, 'rec.json'),
          log,
        ],
        { stdio: 'ignore' },
      ),
    ),
  );
  awk.push(
    time(() =>
      spawnSync('sh', ['-c', `awk -F '(' '{print $1}' ${log} | sort | uniq -c > ${join(dir, 'awk.txt')}`]),
    ),
  );
}
const rec = JSON.parse(readFileSync(join(dir, 'rec.json'), 'utf8'));
// correct results, not only fast ones: every count is the fixture's count times the copies
execFileSync(
  'node',
  [
    join(root, 'dist', 'cli', 'main.js'),
    'import',
    '--arch',
    'x86_64',
    '-o',
    join(dir, 'one.json'),
    join(root, 'test', 'fixtures', 'strace', 'f.log'),
  ],
  { stdio: 'ignore' },
);
const one = JSON.parse(readFileSync(join(dir, 'one.json'), 'utf8')).syscalls.x86_64;
const wrong = Object.entries(rec.syscalls.x86_64).filter(
  ([n, s]) => s.count !== one[n]?.count * parts.length,
);
if (wrong.length > 0 || Object.keys(one).length !== Object.keys(rec.syscalls.x86_64).length)
  throw new Error(
    `import counts differ from ${parts.length} x the fixture: ${wrong.map(([n]) => n).join(', ')}`,
  );
const awkNames = readFileSync(join(dir, 'awk.txt'), 'utf8').trim().split('\n').length;
console.log(`log: ${mb.toFixed(0)} MB (${parts.length} copies of test/fixtures/strace/f.log)`);
console.log(
  `sysfence import: ${median(ours).toFixed(2)} s, ${(mb / median(ours)).toFixed(0)} MB/s; ${Object.keys(rec.syscalls.x86_64).length} syscalls, ${rec.malformed.count} unreadable lines`,
);
console.log(
  `awk | sort | uniq -c: ${median(awk).toFixed(2)} s, ${(mb / median(awk)).toFixed(0)} MB/s; ${awkNames} distinct "names" (pids and resumed fragments included)`,
);
console.log(`ratio: sysfence is ${(median(awk) / median(ours)).toFixed(2)}x the pipeline's speed`);
