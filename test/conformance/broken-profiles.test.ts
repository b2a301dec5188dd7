// Every broken profile gets exactly its one expected issue (code and line:column), and nothing else.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProfileText } from '../../src/profile/load.js';

const dir = join(import.meta.dirname, '..', 'fixtures', 'broken');
const manifest: { file: string; code: string; at: string; skip: number }[] = JSON.parse(
  readFileSync(join(dir, 'manifest.json'), 'utf8'),
);

/** line:column of an offset, by plain counting (independent of sysfence's parser). */
function lineCol(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

describe('broken profile corpus', () => {
  it('has at least 40 cases with distinct files', () => {
    expect(manifest.length).toBeGreaterThanOrEqual(40);
    expect(new Set(manifest.map((m) => m.file)).size).toBe(manifest.length);
  });
  for (const c of manifest) {
    it(`${c.file}: ${c.code}`, () => {
      const text = readFileSync(join(dir, c.file), 'utf8');
      const r = loadProfileText(text, 'docker');
      const problems = r.issues.filter((i) => i.severity !== 'info');
      expect(problems.map((i) => [i.code, i.position])).toEqual([
        [c.code, lineCol(text, text.indexOf(c.at) + c.skip)],
      ]);
    });
  }
});
