/**
 * Finding the programs to analyse in a file system (this machine, a root directory, an image): a
 * command word looked up in the usual bin directories, a script's interpreter, every ELF program
 * of the tree.
 */
import type { FileSource } from '../exec/rootfs.js';

const BIN_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** A command's program as the image's PATH finds it (a script: its interpreter). */
export function programOf(fs: FileSource, word: string): string | undefined {
  const candidates = word.includes('/') ? [word] : BIN_DIRS.map((d) => `${d}/${word}`);
  for (const c of candidates) {
    const b = fs.read(c);
    if (!b) continue;
    if (b[0] === 0x23 && b[1] === 0x21) {
      // #!interpreter
      const line =
        Buffer.from(b.subarray(2, Math.min(b.length, 256)))
          .toString('utf8')
          .split('\n')[0]
          ?.trim() ?? '';
      const [interp, arg] = line.split(/\s+/);
      return interp?.endsWith('/env') && arg ? programOf(fs, arg) : interp;
    }
    return c;
  }
  return undefined;
}

/** Every ELF program of a file system (files with an interpreter, or static executables). */
export function allPrograms(fs: FileSource, entries: Iterable<string>): string[] {
  const out: string[] = [];
  for (const p of entries) {
    const b = fs.read(p);
    if (!b || b.length < 64 || b[0] !== 0x7f || b[1] !== 0x45) continue;
    const type = (b[16] as number) | ((b[17] as number) << 8);
    const text = Buffer.from(b.subarray(0, Math.min(b.length, 4096))).toString('latin1');
    if (type === 2 || (type === 3 && /\/ld-(linux|musl)[^\0]*\.so/.test(text))) out.push(p);
  }
  return out.sort();
}

export function listFiles(fs: FileSource, dir: string, depth = 0): string[] {
  if (depth > 6) return [];
  return fs.list(dir).flatMap((n) => {
    const p = dir === '/' ? `/${n}` : `${dir}/${n}`;
    const r = fs.resolve(p);
    if (r === undefined || r !== p) return [];
    const children = fs.list(p);
    return children.length > 0 ? listFiles(fs, p, depth + 1) : [p];
  });
}
