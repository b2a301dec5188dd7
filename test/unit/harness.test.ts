// The suite cannot hang: every child process a test starts goes through test/helpers/proc.ts,
// whose every call has a timeout and kills the child's whole process group. This fails on any other
// file in test/ that starts processes itself, and on temporary directories made outside tempDir()
// (which removes them when the file ends).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const testDir = join(import.meta.dirname, '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return n === 'fixtures' ? [] : files(p);
    return /\.(ts|mjs|js)$/.test(n) ? [p] : [];
  });
}

describe('the test harness', () => {
  const all = files(testDir).filter((f) => relative(testDir, f) !== join('helpers', 'proc.ts'));

  it('no test file starts a child process except through helpers/proc.ts (timeouts, process groups)', () => {
    const direct = all
      .filter((f) =>
        /^\s*import\b[^;]*?from\s*['"](?:node:)?child_process['"]|\bimport\(\s*['"](?:node:)?child_process['"]/m.test(
          readFileSync(f, 'utf8'),
        ),
      )
      .map((f) => relative(testDir, f));
    expect(direct).toEqual([]);
  });

  it('no test file makes a temporary directory it does not remove (tempDir() does)', () => {
    const made = all
      .filter((f) => /\bmkdtemp(Sync)?\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(testDir, f));
    expect(made).toEqual([]);
  });
});
