/**
 * A file system to read programs and libraries from: this machine (or a directory holding a root
 * file system), or an image's files held in memory. Paths are absolute inside the root; symbolic
 * links resolve inside it (an absolute link in an unpacked image points into the image, never to
 * the host).
 */
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { posix } from 'node:path';

export interface FileSource {
  /** For messages: "this machine", "image nginx:1.25", "/srv/rootfs". */
  readonly label: string;
  /** The path with every symbolic link resolved (inside the root), or undefined when it does not exist. */
  resolve(path: string): string | undefined;
  /** A regular file's bytes (links followed), or undefined when it is absent or not a regular file. */
  read(path: string): Uint8Array | undefined;
  /**
   * The first `length` bytes of a regular file (all of it when shorter), or undefined as `read`:
   * enough for an ELF header and its notes without reading a whole library.
   */
  head(path: string, length: number): Uint8Array | undefined;
  /** The names in a directory (links followed), empty when it is absent. */
  list(dir: string): string[];
}

const MAX_LINKS = 40;

/** Follows links component by component with `lookup` (undefined: absent). */
export function resolveIn(
  path: string,
  lookup: (p: string) => { link?: string; dir?: boolean } | undefined,
): string | undefined {
  let parts = posix.normalize(`/${path}`).split('/').filter(Boolean);
  let done: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const name = parts.shift() as string;
    if (name === '.') continue;
    if (name === '..') {
      done.pop();
      continue;
    }
    const here = `/${[...done, name].join('/')}`;
    const e = lookup(here);
    if (!e) return undefined;
    if (e.link !== undefined) {
      if (++hops > MAX_LINKS) return undefined;
      const target = e.link.split('/').filter(Boolean);
      if (e.link.startsWith('/')) done = [];
      parts = [...target, ...parts];
      continue;
    }
    done.push(name);
  }
  return `/${done.join('/')}`;
}

/** Files under a directory of this machine ('/' for the machine itself). */
export class HostFiles implements FileSource {
  readonly label: string;
  constructor(readonly root = '/') {
    this.label = root === '/' ? 'this machine' : root;
  }
  private real(p: string): string {
    return this.root === '/' ? p : posix.join(this.root, p);
  }
  /** What each path is (the loader's search asks for the same directories many times). */
  private readonly kinds = new Map<string, { link?: string; dir?: boolean } | undefined>();
  resolve(path: string): string | undefined {
    return resolveIn(path, (p) => {
      if (this.kinds.has(p)) return this.kinds.get(p);
      let kind: { link?: string; dir?: boolean } | undefined;
      try {
        const st = lstatSync(this.real(p));
        kind = st.isSymbolicLink() ? { link: readlinkSync(this.real(p)) } : { dir: st.isDirectory() };
      } catch {
        kind = undefined;
      }
      this.kinds.set(p, kind);
      return kind;
    });
  }
  /**
   * Files read once per instance (the loader's search and the analysis ask for libc many times;
   * an instance lives for one command, files it read are taken as they were then).
   */
  private readonly bytes = new Map<string, Uint8Array | undefined>();
  read(path: string): Uint8Array | undefined {
    const p = this.resolve(path);
    if (p === undefined) return undefined;
    if (this.bytes.has(p)) return this.bytes.get(p);
    let out: Uint8Array | undefined;
    try {
      const st = lstatSync(this.real(p));
      out = st.isFile() ? readFileSync(this.real(p)) : undefined;
    } catch {
      out = undefined;
    }
    this.bytes.set(p, out);
    return out;
  }
  head(path: string, length: number): Uint8Array | undefined {
    const p = this.resolve(path);
    if (p === undefined) return undefined;
    const whole = this.bytes.get(p);
    if (whole !== undefined || this.bytes.has(p)) return whole?.subarray(0, length);
    let fd: number | undefined;
    try {
      if (!lstatSync(this.real(p)).isFile()) return undefined;
      fd = openSync(this.real(p), 'r');
      const buf = Buffer.alloc(length);
      const n = readSync(fd, buf, 0, length, 0);
      return buf.subarray(0, n);
    } catch {
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  list(dir: string): string[] {
    const p = this.resolve(dir);
    if (p === undefined) return [];
    try {
      return readdirSync(this.real(p)).sort();
    } catch {
      return [];
    }
  }
}

export interface MemoryEntry {
  /** File contents (regular files), or the target of a symbolic link. */
  data?: Uint8Array;
  link?: string;
  dir?: boolean;
}

/** Files held in memory (an image's, read from its tar stream). */
export class MemoryFiles implements FileSource {
  constructor(
    readonly label: string,
    readonly entries: Map<string, MemoryEntry>,
  ) {}
  private lookup(p: string): { link?: string; dir?: boolean } | undefined {
    const e = this.entries.get(p);
    if (e) return e.link !== undefined ? { link: e.link } : { dir: e.dir === true };
    // a directory implied by the files under it
    return this.hasChildren(p) ? { dir: true } : undefined;
  }
  private hasChildren(p: string): boolean {
    const prefix = p.endsWith('/') ? p : `${p}/`;
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) return true;
    return false;
  }
  resolve(path: string): string | undefined {
    return resolveIn(path, (p) => this.lookup(p));
  }
  read(path: string): Uint8Array | undefined {
    const p = this.resolve(path);
    return p === undefined ? undefined : this.entries.get(p)?.data;
  }
  head(path: string, length: number): Uint8Array | undefined {
    return this.read(path)?.subarray(0, length);
  }
  list(dir: string): string[] {
    const p = this.resolve(dir);
    if (p === undefined) return [];
    const prefix = p === '/' ? '/' : `${p}/`;
    const names = new Set<string>();
    for (const k of this.entries.keys())
      if (k.startsWith(prefix) && k.length > prefix.length)
        names.add(k.slice(prefix.length).split('/')[0] as string);
    return [...names].sort();
  }
}
