import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

/**
 * Compares with test/golden/NAME. UPDATE_GOLDEN=1 rewrites the file instead: the change then shows
 * in `git diff`, to be reviewed by hand like any other.
 */
export function golden(name: string, text: string): void {
  const file = join(import.meta.dirname, '..', 'golden', name);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, text);
  expect(text).toBe(readFileSync(file, 'utf8'));
}
