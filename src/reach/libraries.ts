/**
 * Where the dynamic loader finds a program's libraries, inside the program's own file system:
 * DT_RUNPATH/DT_RPATH (with $ORIGIN), the directories of /etc/ld.so.conf (glibc) or
 * /etc/ld-musl-ARCH.path (musl), then the defaults. A library of another machine (a 32-bit one in
 * /usr/lib32) is passed over as the loader passes it over.
 */
import type { FileSource } from '../exec/rootfs.js';
import { HEAD_BYTES, type ModuleFile } from './cache.js';
import type { ReachMachine } from './module.js';

const TRIPLET: Record<ReachMachine, string> = { x86_64: 'x86_64-linux-gnu', aarch64: 'aarch64-linux-gnu' };
const EM: Record<ReachMachine, number> = { x86_64: 62, aarch64: 183 };

export const isMusl = (interp: string | undefined): boolean =>
  interp !== undefined && /ld-musl-/.test(interp);

/** The directories of ld.so.conf and the files it includes (globs of one '*' level). */
function ldSoConf(fs: FileSource, file: string, depth = 0): string[] {
  const bytes = fs.read(file);
  if (!bytes || depth > 4) return [];
  const out: string[] = [];
  for (const raw of Buffer.from(bytes).toString('utf8').split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const inc = /^include\s+(.+)$/.exec(line);
    if (inc) {
      for (const pattern of (inc[1] as string).split(/\s+/)) {
        const abs = pattern.startsWith('/') ? pattern : `/etc/${pattern}`;
        const slash = abs.lastIndexOf('/');
        const dir = abs.slice(0, slash);
        const re = new RegExp(
          `^${abs
            .slice(slash + 1)
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
        );
        for (const name of fs.list(dir))
          if (re.test(name)) out.push(...ldSoConf(fs, `${dir}/${name}`, depth + 1));
      }
    } else out.push(...line.split(/[:\s,]+/).filter((d) => d.startsWith('/')));
  }
  return out;
}

export interface SearchPath {
  dirs: string[];
}

/** The loader's default search directories for a program (after its own run paths). */
export function defaultDirs(fs: FileSource, machine: ReachMachine, interp: string | undefined): string[] {
  if (isMusl(interp)) {
    const path = fs.read(`/etc/ld-musl-${machine}.path`);
    const dirs = path
      ? Buffer.from(path)
          .toString('utf8')
          .split(/[:\n]/)
          .map((d) => d.trim())
          .filter((d) => d.startsWith('/'))
      : [];
    return dirs.length > 0 ? dirs : ['/lib', '/usr/local/lib', '/usr/lib'];
  }
  const t = TRIPLET[machine];
  return [
    ...new Set([
      ...ldSoConf(fs, '/etc/ld.so.conf'),
      `/lib/${t}`,
      `/usr/lib/${t}`,
      '/lib',
      '/usr/lib',
      ...(machine === 'x86_64' ? ['/lib64', '/usr/lib64'] : []),
    ]),
  ];
}

/** Whether a file is a 64-bit little-endian ELF file of this machine (its header only). */
function fits(bytes: Uint8Array, machine: ReachMachine): boolean {
  return (
    bytes.length >= 20 &&
    bytes[0] === 0x7f &&
    bytes[1] === 0x45 &&
    bytes[2] === 0x4c &&
    bytes[3] === 0x46 &&
    bytes[4] === 2 &&
    bytes[5] === 1 &&
    (bytes[18] as number) + ((bytes[19] as number) << 8) === EM[machine]
  );
}

/**
 * The path of a DT_NEEDED library as the loader would load it for an object at `from` with run
 * paths `runpath`, or undefined when it is nowhere (the program would not start).
 */
export function findLibrary(
  fs: FileSource,
  name: string,
  from: string,
  runpath: readonly string[],
  dirs: readonly string[],
  machine: ReachMachine,
): ModuleFile | undefined {
  const origin = from.slice(0, from.lastIndexOf('/')) || '/';
  const candidates = name.includes('/')
    ? [name]
    : [...runpath.map((d) => d.replace(/\$(ORIGIN|\{ORIGIN\})/g, origin)), ...dirs].map(
        (d) => `${d}/${name}`,
      );
  for (const c of candidates) {
    const path = fs.resolve(c);
    if (path === undefined) continue;
    const f = moduleFile(fs, path);
    if (f && fits(f.head, machine)) return f;
  }
  return undefined;
}

/** A file as a module: its head now, its bytes when asked (undefined: absent, not a regular file). */
export function moduleFile(fs: FileSource, path: string): ModuleFile | undefined {
  const head = fs.head(path, HEAD_BYTES);
  if (head === undefined) return undefined;
  let whole: Uint8Array | undefined;
  return {
    path,
    head,
    bytes: () => {
      whole ??= head.length < HEAD_BYTES ? head : fs.read(path);
      if (whole === undefined) throw new Error(`${path} vanished while being read`);
      return whole;
    },
  };
}
