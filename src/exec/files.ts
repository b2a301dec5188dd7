/** The one seam for reading and writing files (so that errors carry a code and the path). */
import { readFileSync, writeFileSync } from 'node:fs';

export class FileError extends Error {
  constructor(
    readonly code: string,
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'FileError';
  }
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why =
      err.code === 'ENOENT'
        ? 'no such file'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.code === 'EISDIR'
            ? 'is a directory'
            : err.message;
    throw new FileError('file-unreadable', path, `cannot read ${path}: ${why}`);
  }
}

export function readBytes(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new FileError('file-unreadable', path, `cannot read ${path}: ${(e as Error).message}`);
  }
}

export function writeOutput(path: string, data: string | Uint8Array): void {
  try {
    writeFileSync(path, data);
  } catch (e) {
    throw new FileError('file-unwritable', path, `cannot write ${path}: ${(e as Error).message}`);
  }
}

export function readStdinText(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch (e) {
    throw new FileError('stdin-unreadable', '<stdin>', `cannot read standard input: ${(e as Error).message}`);
  }
}

/** The lines of a file of any size, streamed. */
export async function* readLines(path: string): AsyncGenerator<string> {
  const { createReadStream } = await import('node:fs');
  const { createInterface } = await import('node:readline');
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const failed = new Promise<never>((_, reject) =>
    stream.on('error', (e) =>
      reject(new FileError('file-unreadable', path, `cannot read ${path}: ${e.message}`)),
    ),
  );
  const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
  const it = rl[Symbol.asyncIterator]();
  while (true) {
    const r = await Promise.race([it.next(), failed]);
    if (r.done) return;
    yield r.value;
  }
}
