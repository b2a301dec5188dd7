#!/usr/bin/env node
// Measures how the installed libseccomp (Debian 12: 2.5.4) resolves syscall names on every ABI and
// writes data/libseccomp/names-<version>.json, which sysfence's model of libseccomp reads.
//   node scripts/gen-libseccomp-names.mjs          write the file
//   node scripts/gen-libseccomp-names.mjs --check  fail when the file differs from a new measurement
// Needs python3-seccomp (the test oracle) and a built dist/ (for the candidate names).
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const check = process.argv.includes('--check');
const { ARCH_DEFS, syscallTable } = await import('../dist/index.js');
const names = new Set();
for (const a of ARCH_DEFS) for (const [n] of syscallTable(a).entries) names.add(n);
const r = spawnSync('/usr/bin/python3', ['scripts/oracle/libseccomp_names.py'], {
  input: JSON.stringify({ names: [...names] }),
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
});
if (r.status !== 0) {
  console.error(`libseccomp_names.py failed: ${r.stderr}`);
  process.exit(2);
}
const d = JSON.parse(r.stdout);
const debian = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'libseccomp2'], {
  encoding: 'utf8',
}).stdout.trim();
let out = `{\n "source": "libseccomp ${d.version} as Debian 12 ships it (libseccomp2 ${debian || 'unknown'}, whose patches add cachestat, fchmodat2, futex_wait/wake/requeue, map_shadow_stack), measured with scripts/oracle/libseccomp_names.py",\n "version": "${d.version}",\n "arches": {\n`;
out += Object.keys(d.arches)
  .sort()
  .map((a) => {
    const v = d.arches[a];
    const numbers = Object.fromEntries(
      Object.entries(v.numbers).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)),
    );
    return `  "${a}": {"numbers": ${JSON.stringify(numbers)}, "pseudo": ${JSON.stringify([...v.pseudo].sort())}}`;
  })
  .join(',\n');
out += '\n }\n}\n';
const file = `data/libseccomp/names-${d.version}.json`;
if (check) {
  const have = readFileSync(file, 'utf8');
  if (have !== out) {
    console.error(
      `${file} differs from what the installed libseccomp says: run node scripts/gen-libseccomp-names.mjs`,
    );
    process.exit(1);
  }
  console.log(`${file}: matches libseccomp ${d.version}`);
} else {
  writeFileSync(file, out);
  console.log(`wrote ${file}`);
}
