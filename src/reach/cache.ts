/**
 * Module reach tables by content: computed once per library build (its GNU build-id, or the SHA-256 of
 * its bytes when it has none) and kept on disk, so the second program using a libc reads its
 * table instead of decoding it again. A cache entry names the format it was written in; another
 * format is recomputed, never read.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIdOf } from '../elf/reader.js';
import { FACTS_FORMAT, moduleFacts } from './module.js';
import { type ModuleTable, moduleTable, TABLE_FORMAT } from './tables.js';

export interface FactsCache {
  /** Where entries are kept; undefined: in memory only. */
  dir?: string;
  memory: Map<string, ModuleTable>;
  /** Entries computed and read from disk (for the report). */
  computed: number;
  loaded: number;
}

export function newCache(dir?: string): FactsCache {
  return { ...(dir !== undefined ? { dir } : {}), memory: new Map(), computed: 0, loaded: 0 };
}

/** The cache key of a file: its build-id, or its contents' hash. */
export function cacheKey(bytes: Uint8Array, file: string): string {
  const id = buildIdOf(bytes, file);
  return id !== undefined && id.length >= 16
    ? `b-${id}`
    : `h-${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A module's reach table: from memory, from the cache directory, or computed (and kept). */
export function tableFor(cache: FactsCache, bytes: Uint8Array, file: string): ModuleTable {
  const key = cacheKey(bytes, file);
  const hit = cache.memory.get(key);
  if (hit) return hit;
  const path =
    cache.dir !== undefined ? join(cache.dir, `${key}.f${FACTS_FORMAT}t${TABLE_FORMAT}.json`) : undefined;
  if (path) {
    try {
      const table = JSON.parse(readFileSync(path, 'utf8')) as ModuleTable;
      if (table.format === TABLE_FORMAT) {
        cache.memory.set(key, table);
        cache.loaded++;
        return table;
      }
    } catch {
      // absent or unreadable: computed again below
    }
  }
  const table = moduleTable(moduleFacts(bytes, file));
  cache.computed++;
  cache.memory.set(key, table);
  if (path && cache.dir !== undefined) {
    try {
      mkdirSync(cache.dir, { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(table));
      renameSync(tmp, path);
    } catch {
      // a cache that cannot be written only costs time
    }
  }
  return table;
}
