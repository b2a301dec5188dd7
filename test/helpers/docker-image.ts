// Images for container tests, made from the host's own binaries (no registry here): each program
// with the libraries ldd names, imported with `docker import`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * Imports an image `tag` holding `bins` (host paths, copied to /bin) and `files` (path -> content).
 * `prepare(root)` may add more (a static program built into root/bin, say).
 */
export function importHostImage(
  tag: string,
  bins: readonly string[],
  files: Record<string, string> = {},
  prepare?: (root: string) => void,
): void {
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-image-'));
  try {
    const root = join(dir, 'root');
    mkdirSync(join(root, 'bin'), { recursive: true });
    for (const bin of bins) {
      execFileSync('cp', [bin, join(root, 'bin')]);
      const libs = execFileSync('ldd', [bin], { encoding: 'utf8' }).match(/\/\S+/g) ?? [];
      for (const lib of libs) {
        mkdirSync(join(root, dirname(lib)), { recursive: true });
        execFileSync('cp', ['-L', lib, join(root, lib)]);
      }
    }
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(root, dirname(path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    prepare?.(root);
    execFileSync('sh', ['-c', `tar -C '${root}' -c . | docker import - ${tag}`], { stdio: 'ignore' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
