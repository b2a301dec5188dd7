// Rewrites the README's "What the demo prints" block from a real run of the demo (as root, it
// records with eBPF), so the block cannot drift: test/live/record.test.ts compares a fresh run with
// it (the temporary directory's name and the total count of calls, which timing moves, aside).
// Usage: node scripts/readme-demo.mjs [--check]
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const readme = join(root, 'README.md');
const r = spawnSync('node', [join(root, 'dist', 'cli', 'main.js'), 'demo'], {
  cwd: root,
  encoding: 'utf8',
  env: { ...process.env, NO_COLOR: '1' },
  timeout: 300_000,
});
if (r.status !== 0) {
  process.stderr.write(r.stderr);
  process.exit(2);
}
const block = r.stdout;
const text = readFileSync(readme, 'utf8');
const re = /(## What the demo prints\n[\s\S]*?```\n)([\s\S]*?)(```)/;
if (!re.test(text)) {
  console.error('README.md has no "What the demo prints" block');
  process.exit(2);
}
const next = text.replace(re, (_m, head, _old, tail) => `${head}${block}${tail}`);
if (process.argv.includes('--check')) {
  if (next !== text) {
    console.error('README.md: the demo block differs from a run (node scripts/readme-demo.mjs rewrites it)');
    process.exit(1);
  }
} else writeFileSync(readme, next);
