// Images for container tests, made from the host's own binaries (no registry here): each program
// with the libraries ldd names, imported with `docker import`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { run, tempDir } from './proc.js';

async function ok(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

/**
 * Imports an image `tag` holding `bins` (host paths, copied to /bin) and `files` (path -> content).
 * `prepare(root)` may add more (a static program built into root/bin, say).
 */
export async function importHostImage(
  tag: string,
  bins: readonly string[],
  files: Record<string, string> = {},
  prepare?: (root: string) => void | Promise<void>,
): Promise<void> {
  const root = join(tempDir('sysfence-image-'), 'root');
  mkdirSync(join(root, 'bin'), { recursive: true });
  for (const bin of bins) {
    await ok('cp', [bin, join(root, 'bin')]);
    const libs = (await ok('ldd', [bin])).match(/\/\S+/g) ?? [];
    for (const lib of libs) {
      mkdirSync(join(root, dirname(lib)), { recursive: true });
      await ok('cp', ['-L', lib, join(root, lib)]);
    }
  }
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  await prepare?.(root);
  await ok('sh', ['-c', `tar -C '${root}' -c . | docker import - ${tag}`]);
}
