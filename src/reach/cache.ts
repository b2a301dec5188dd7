/**
 * Module facts by content: computed once per library build (its GNU build-id, or the SHA-256 of
 * its bytes when it has none) and kept on disk, so the second program using a libc reads its
 * table instead of decoding it again. A cache entry names the format it was written in; another
 * format is recomputed, never read.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseElf } from '../elf/reader.js';
import { FACTS_FORMAT, type ModuleFacts, moduleFacts } from './module.js';

export interface FactsCache {
  /** Where entries are kept; undefined: in memory only. */
  dir?: string;
  memory: Map<string, ModuleFacts>;
  /** Entries computed and read from disk (for the report). */
  computed: number;
  loaded: number;
}

export function newCache(dir?: string): FactsCache {
  return { ...(dir !== undefined ? { dir } : {}), memory: new Map(), computed: 0, loaded: 0 };
}

/** The cache key of a file: its build-id, or its contents' hash. */
export function cacheKey(bytes: Uint8Array, file: string): string {
  const id = parseElf(bytes, file).buildId;
  return id !== undefined && id.length >= 16
    ? `b-${id}`
    : `h-${createHash('sha256').update(bytes).digest('hex')}`;
}

export function factsFor(cache: FactsCache, bytes: Uint8Array, file: string): ModuleFacts {
  const key = cacheKey(bytes, file);
  const hit = cache.memory.get(key);
  if (hit) return hit;
  const path = cache.dir !== undefined ? join(cache.dir, `${key}.f${FACTS_FORMAT}.json`) : undefined;
  if (path) {
    try {
      const facts = JSON.parse(readFileSync(path, 'utf8')) as ModuleFacts;
      if (facts.format === FACTS_FORMAT) {
        cache.memory.set(key, facts);
        cache.loaded++;
        return facts;
      }
    } catch {
      // absent or unreadable: computed again below
    }
  }
  const facts = moduleFacts(bytes, file);
  cache.computed++;
  cache.memory.set(key, facts);
  if (path && cache.dir !== undefined) {
    try {
      mkdirSync(cache.dir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(facts));
      renameSync(tmp, path);
    } catch {
      // a cache that cannot be written only costs time
    }
  }
  return facts;
}
