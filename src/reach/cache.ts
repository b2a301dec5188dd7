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
import { LINK_FORMAT, type LinkFacts, linkFacts } from './link.js';
import { FACTS_FORMAT, moduleFacts } from './module.js';
import { type ModuleTable, moduleTable, TABLE_FORMAT } from './tables.js';

export interface FactsCache {
  /** Where entries are kept; undefined: in memory only. */
  dir?: string;
  memory: Map<string, ModuleTable>;
  links: Map<string, LinkFacts>;
  /** Whole programs' results (as JSON text: every reader gets its own copy) by the key of their inputs. */
  results: Map<string, string>;
  /** Entries computed and read from disk (for the report). */
  computed: number;
  loaded: number;
}

export function newCache(dir?: string): FactsCache {
  return {
    ...(dir !== undefined ? { dir } : {}),
    memory: new Map(),
    links: new Map(),
    results: new Map(),
    computed: 0,
    loaded: 0,
  };
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
  /** Its cache key, once known (keyOf). */
  key?: string;
}

/** How many bytes of a module are read before knowing whether its table is cached. */
export const HEAD_BYTES = 16 * 1024;

/** The cache key from the head when its build-id note is there, else from the whole file. */
export function keyOf(f: ModuleFile): string {
  if (f.key !== undefined) return f.key;
  try {
    const id = buildIdOf(f.head, f.path);
    if (id !== undefined && id.length >= 16) {
      f.key = `b-${id}`;
      return f.key;
    }
  } catch {
    // the note lies past the head: read below
  }
  f.key = cacheKey(f.bytes(), f.path);
  return f.key;
}

/** Where an entry is kept: `name` in the cache directory (undefined: in memory only). */
const cachePath = (cache: FactsCache, name: string) =>
  cache.dir !== undefined ? join(cache.dir, name) : undefined;
const tablePath = (cache: FactsCache, key: string) =>
  cachePath(cache, `${key}.f${FACTS_FORMAT}t${TABLE_FORMAT}.json`);
const linkPath = (cache: FactsCache, key: string) => cachePath(cache, `${key}.l${LINK_FORMAT}.json`);
const resultPath = (cache: FactsCache, key: string) => cachePath(cache, `p-${key}.json`);

/** Reads a cache file written by keep(); undefined when absent, unreadable or of another format. */
function readKept<T extends { format: number }>(path: string | undefined, format: number): T | undefined {
  if (path === undefined) return undefined;
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as T;
    return v.format === format ? v : undefined;
  } catch {
    return undefined; // absent or unreadable: computed again
  }
}

/** Writes a cache file whole (a temporary file renamed: a reader never sees half of one). */
function keep(cache: FactsCache, path: string | undefined, value: unknown): void {
  if (path === undefined || cache.dir === undefined) return;
  try {
    mkdirSync(cache.dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(value));
    renameSync(tmp, path);
  } catch {
    // a cache that cannot be written only costs time
  }
}

/** A module's link facts: from memory, the cache directory, or its ELF headers (and kept). */
export function linkFor(cache: FactsCache, f: ModuleFile): LinkFacts {
  const key = keyOf(f);
  const hit = cache.links.get(key);
  if (hit) return hit;
  const path = linkPath(cache, key);
  let link = readKept<LinkFacts>(path, LINK_FORMAT);
  if (!link) {
    link = linkFacts(f.bytes(), f.path);
    keep(cache, path, link);
  }
  cache.links.set(key, link);
  return link;
}

/** A module's reach table: from memory, from the cache directory, or computed (and kept). */
export function tableFor(cache: FactsCache, f: ModuleFile): ModuleTable {
  const key = keyOf(f);
  const hit = cache.memory.get(key);
  if (hit) return hit;
  const path = tablePath(cache, key);
  const read = readKept<ModuleTable>(path, TABLE_FORMAT);
  if (read) {
    cache.memory.set(key, read);
    cache.loaded++;
    return read;
  }
  const table = moduleTable(moduleFacts(f.bytes(), f.path));
  cache.computed++;
  cache.memory.set(key, table);
  keep(cache, path, table);
  return table;
}

/** The format of a kept program result (bumped with any change to ProgramReach or its computation). */
export const RESULT_FORMAT = 1;

/**
 * A program's result, kept under the key of everything it was computed from: the formats, and
 * every module's path, cache key and role in load order (resultKey). A changed library, a new
 * library found first on the search path, a different recording's loaded list: another key.
 */
export function resultFor<T>(cache: FactsCache, key: string): T | undefined {
  const hit = cache.results.get(key);
  if (hit !== undefined) return JSON.parse(hit) as T;
  const read = readKept<{ format: number; result: T }>(resultPath(cache, key), RESULT_FORMAT);
  if (read) cache.results.set(key, JSON.stringify(read.result));
  return read?.result;
}

export function keepResult(cache: FactsCache, key: string, result: unknown): void {
  cache.results.set(key, JSON.stringify(result));
  keep(cache, resultPath(cache, key), { format: RESULT_FORMAT, result });
}

/** The key of a computation from its inputs (any JSON value): SHA-256 with the formats. */
export function inputsKey(inputs: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify([FACTS_FORMAT, TABLE_FORMAT, LINK_FORMAT, RESULT_FORMAT, inputs]))
    .digest('hex');
}
