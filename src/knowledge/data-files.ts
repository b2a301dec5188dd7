/** Reference data shipped in the package's data/ folder (found relative to this module). */
import { fileURLToPath } from 'node:url';
import { readText } from '../exec/files.js';

/** Absolute path of a file in data/ (works from src/ under the test runner and from dist/). */
export function dataPath(rel: string): string {
  return fileURLToPath(new URL(`../../data/${rel}`, import.meta.url));
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
