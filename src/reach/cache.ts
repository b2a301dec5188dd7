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

/**
 * A module file as the loader finds it: its first bytes (the ELF header, program headers and,
 * in every toolchain's layout, the build-id note) and the whole file, read only when needed.
 */
export interface ModuleFile {
  path: string;
  head: Uint8Array;
  bytes(): Uint8Array;
}

/** How many bytes of a module are read before knowing whether its table is cached. */
export const HEAD_BYTES = 16 * 1024;

/** The cache key from the head when its build-id note is there, else from the whole file. */
function keyOf(f: ModuleFile): string {
  try {
    const id = buildIdOf(f.head, f.path);
    if (id !== undefined && id.length >= 16) return `b-${id}`;
  } catch {
    // the note lies past the head: read below
  }
  return cacheKey(f.bytes(), f.path);
}

/** A module's reach table: from memory, from the cache directory, or computed (and kept). */
export function tableFor(cache: FactsCache, f: ModuleFile): ModuleTable {
  const key = keyOf(f);
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
  const table = moduleTable(moduleFacts(f.bytes(), f.path));
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
