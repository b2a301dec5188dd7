/** Reference data shipped in the package's data/ folder (found relative to this module). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readText } from '../exec/files.js';

let root: string | undefined;

/**
 * The package's directory (the one with sysfence's package.json), found upwards from this module:
 * the same from src/ under the test runner, from dist/, and from the one-file CLI bundle.
 */
export function packageRoot(): string {
  if (root === undefined) {
    let dir = dirname(fileURLToPath(import.meta.url));
    for (;;) {
      const pkg = join(dir, 'package.json');
      if (existsSync(pkg) && /"name":\s*"sysfence"/.test(readFileSync(pkg, 'utf8'))) break;
      const up = dirname(dir);
      if (up === dir)
        throw new Error(`sysfence's package.json not found above ${fileURLToPath(import.meta.url)}`);
      dir = up;
    }
    root = dir;
  }
  return root;
}

/** Absolute path of a file in data/. */
export function dataPath(rel: string): string {
  return join(packageRoot(), 'data', rel);
}

const cache = new Map<string, string>();
export function readData(rel: string): string {
  let t = cache.get(rel);
  if (t === undefined) {
    t = readText(dataPath(rel));
    cache.set(rel, t);
  }
  return t;
}

/** Rows of a tab-separated data file, comments and blank lines skipped. */
export function readTsv(rel: string): string[][] {
  return readData(rel)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'));
}
