/**
 * The one seam for reading and writing files (so that errors carry a code and the path). Every
 * reader has a size limit and says so past it (a profile is not a gigabyte; /dev/zero never ends);
 * every writer writes a temporary file in the same directory and renames it, so that a full disk or
 * an interruption never leaves a half-written output, and an input is never overwritten by accident.
 */

import {
  accessSync,
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { SysfenceError } from '../errors.js';
import { giveToSudoUser } from './as-user.js';

export class FileError extends SysfenceError {
  constructor(
    code: string,
    readonly path: string,
    message: string,
  ) {
    super(code, message, path);
    this.name = 'FileError';
  }
}

/** Size limits of the whole-file readers (bytes); logs are streamed instead (see MAX_LINE). */
export const LIMITS = {
  /** Profiles (Docker/OCI JSON, SPO YAML): 100,000 rules fit in ~30 MiB. */
  profile: 128 << 20,
  /** Recordings (sysfence's JSON). */
  recording: 256 << 20,
  /** Raw BPF programs: 4096 instructions of 8 bytes is the kernel's limit; some slack. */
  bpf: 1 << 20,
  /** Data files shipped with sysfence. */
  data: 64 << 20,
};

/** Longest line a log reader accepts (a longer one is an error at its line, not a memory hog). */
export const MAX_LINE = 16 << 20;

function why(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code === 'ENOENT'
    ? 'no such file'
    : err.code === 'EACCES'
      ? 'permission denied'
      : err.code === 'EISDIR'
        ? 'is a directory'
        : err.message;
}

/**
 * The bytes of a file, a FIFO, a device or standard input ("-"), up to `limit`: past it, an
 * `input-too-large` error (whatever the file's size claims, so /dev/zero ends too).
 */
export function readLimited(path: string, limit: number, what = 'input'): Buffer {
  const label = path === '-' ? '<stdin>' : path;
  let fd: number;
  try {
    fd = path === '-' ? 0 : openSync(path, 'r');
  } catch (e) {
    throw new FileError('file-unreadable', label, `cannot read ${label}: ${why(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory())
      throw new FileError('file-unreadable', label, `cannot read ${label}: is a directory`);
    if (st.isFile() && st.size > limit)
      throw new FileError(
        'input-too-large',
        label,
        `${label} is ${st.size} bytes, more than the ${limit >> 20} MiB a ${what} may have`,
      );
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') continue; // a non-blocking stdin: try again
        if (code === 'EOF') break;
        throw e;
      }
      if (n === 0) break;
      total += n;
      if (total > limit)
        throw new FileError(
          'input-too-large',
          label,
          `${label} has more than the ${limit >> 20} MiB a ${what} may have`,
        );
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError('file-unreadable', label, `cannot read ${label}: ${why(e)}`);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

/** Text (UTF-8) of a file, FIFO or "-" (standard input), within a size limit. */
export function readText(path: string, limit = LIMITS.data, what = 'file'): string {
  return readLimited(path, limit, what).toString('utf8');
}

export function readBytes(path: string, limit = LIMITS.bpf, what = 'BPF program'): Buffer {
  return readLimited(path, limit, what);
}

/** The identity of an existing path (device and inode), to tell an output from an input. */
function identity(path: string): string | undefined {
  try {
    // "-" is standard input: a file redirected into it (< in.json) is that file
    const st = path === '-' ? fstatSync(0) : statSync(path);
    return st.isFile() ? `${st.dev}:${st.ino}` : path === '-' ? undefined : `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** A symbolic link whose target does not exist: writing "to it" would replace the link. */
function danglingLink(path: string): string | undefined {
  try {
    if (!lstatSync(path).isSymbolicLink()) return undefined;
  } catch {
    return undefined;
  }
  try {
    statSync(path);
    return undefined;
  } catch {
    return readlinkSync(path);
  }
}

/**
 * Checks, before any work starts (a workload's run would be lost), that `path` can be written: its
 * directory exists and is writable, and it is not a directory itself. Also refuses an input.
 */
export function checkWritable(path: string | undefined, inputs: readonly string[] = []): void {
  if (path === undefined || path === '-') return;
  refuseOverwrite(path, inputs);
  refuseDanglingLink(path);
  const dir = dirname(path);
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new FileError(
      'file-unwritable',
      path,
      `cannot write ${path}: its directory ${dir} ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'is not writable'}`,
    );
  }
  try {
    if (statSync(path).isDirectory())
      throw new FileError('file-unwritable', path, `cannot write ${path}: it is a directory`);
  } catch (e) {
    if (e instanceof FileError) throw e;
  }
}

/** Refuses an output path that is one of the inputs (the same file by device and inode). */
export function refuseOverwrite(output: string | undefined, inputs: readonly string[]): void {
  if (output === undefined || output === '-') return;
  const out = identity(output);
  if (out === undefined) return;
  for (const i of inputs)
    if (identity(i) === out)
      throw new FileError(
        'output-is-input',
        output,
        `-o ${output} is the input ${i === '-' ? '(standard input is that file)' : i}: sysfence does not overwrite its inputs (write elsewhere, then move it)`,
      );
}

/** Refuses an output that is a symbolic link to nothing (the write would replace the link). */
function refuseDanglingLink(path: string): void {
  const to = danglingLink(path);
  if (to !== undefined)
    throw new FileError(
      'output-dangling-link',
      path,
      `-o ${path} is a symbolic link to ${to}, which does not exist: sysfence will not replace the link; write to ${to} itself, or remove the link`,
    );
}

/**
 * Writes a file whole or not at all: a temporary file next to it, then a rename. A FIFO, a device
 * or /dev/stdout is written directly (there is nothing to rename over).
 */
export function writeOutput(path: string, data: string | Uint8Array): void {
  refuseDanglingLink(path);
  let target = path;
  try {
    target = realpathSync(path);
  } catch {
    // a new file: its directory must exist
  }
  let special = false;
  let before: { uid: number; gid: number; mode: number } | undefined;
  try {
    const st = statSync(target);
    special = !st.isFile();
    before = { uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 };
  } catch {
    special = false;
  }
  if (special) {
    try {
      writeFileSync(target, data);
      return;
    } catch (e) {
      throw new FileError('file-unwritable', path, `cannot write ${path}: ${(e as Error).message}`);
    }
  }
  const tmp = join(dirname(target), `.${basename(target)}.sysfence-${process.pid}-${Date.now()}.tmp`);
  try {
    writeFileSync(tmp, data, { flag: 'wx', mode: 0o644 });
    // a replaced file keeps its owner and mode; a new one under sudo belongs to the user of sudo
    if (before) {
      chmodSync(tmp, before.mode);
      if (process.getuid?.() === 0) chownSync(tmp, before.uid, before.gid);
    } else giveToSudoUser(tmp);
    renameSync(tmp, target);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was created
    }
    throw new FileError('file-unwritable', path, `cannot write ${path}: ${(e as Error).message}`);
  }
}

export function readStdinText(limit = LIMITS.profile, what = 'profile'): string {
  return readLimited('-', limit, what).toString('utf8');
}

/**
 * What `peek` read from a pipe (a FIFO, `<(cmd)`, standard input): it cannot be read again, so the
 * streaming readers start with it.
 */
const peeked = new Map<string, Buffer>();

/**
 * The first 64 KiB of a file without losing them: a regular file is read at offset 0; from a pipe
 * the bytes are kept for the reader that follows. A directory or a missing file is a clear error.
 */
export function peek(path: string): Buffer {
  const kept = peeked.get(path);
  if (kept) return kept;
  let fd: number;
  try {
    fd = openSync(path === '-' ? '/dev/stdin' : path, 'r');
  } catch (e) {
    throw new FileError('file-unreadable', path, `cannot read ${path}: ${why(e)}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory())
      throw new FileError(
        'file-unreadable',
        path,
        `cannot read ${path}: is a directory (give the log files in it)`,
      );
    const buf = Buffer.alloc(64 * 1024);
    if (st.isFile()) return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0));
    let n = 0;
    for (;;) {
      const k = readSync(fd, buf, n, buf.length - n, null);
      if (k === 0) break;
      n += k;
      if (n === buf.length) break;
    }
    const head = Buffer.from(buf.subarray(0, n));
    peeked.set(path, head);
    // the pipe stays open through this descriptor for the reader that follows
    openPipes.set(path, fd);
    fd = -1;
    return head;
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError('file-unreadable', path, `cannot read ${path}: ${why(e)}`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Pipes `peek` opened, kept open (a FIFO's writer may be gone if it is opened again). */
const openPipes = new Map<string, number>();

/** What the streaming readers read through: a FileHandle, or a pipe `peek` kept open. */
interface ReadHandle {
  read(buf: Buffer, offset: number, length: number, position: null): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

async function openForReading(given: string): Promise<ReadHandle> {
  const path = given === '-' ? '/dev/stdin' : given;
  const fd = openPipes.get(given);
  if (fd !== undefined) {
    openPipes.delete(given);
    // the rest of the pipe through the descriptor peek read from: opening a FIFO again would wait
    // for a writer that is gone. Blocking reads: a pipe gives what its writer has, then EOF.
    return {
      read: async (buf, offset, length) => {
        for (;;)
          try {
            return { bytesRead: readSync(fd, buf, offset, length, null) };
          } catch (e) {
            // a non-blocking pipe (stdin made so by its owner): wait a moment for more
            if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
            await new Promise((r) => setTimeout(r, 5));
          }
      },
      close: async () => closeSync(fd),
    };
  }
  const { open } = await import('node:fs/promises');
  try {
    return await open(path, 'r');
  } catch (e) {
    throw new FileError('file-unreadable', path, `cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * The lines of a file of any size, streamed in 4 MiB chunks: each step yields the complete lines
 * of one chunk (one await per chunk, not per line: several times faster than node:readline).
 */
export async function* readLineBatches(path: string): AsyncGenerator<string[]> {
  const prefix = peeked.get(path);
  peeked.delete(path);
  const fh = await openForReading(path);
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    const decoder = new TextDecoder('utf-8');
    let carry = prefix ? decoder.decode(prefix, { stream: true }) : '';
    while (true) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      const part = decoder.decode(buf.subarray(0, bytesRead), { stream: true });
      const nl = part.lastIndexOf('\n');
      // a line that goes on: kept as it comes (no copy of what came before), up to MAX_LINE
      if (nl < 0) carry += part;
      else {
        const lines = (carry + part.slice(0, nl)).split('\n');
        carry = part.slice(nl + 1);
        yield lines;
      }
      if (carry.length > MAX_LINE)
        throw new FileError('line-too-long', path, `${path} has a line longer than ${MAX_LINE >> 20} MiB`);
    }
    carry += decoder.decode();
    if (carry !== '') yield carry.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError('file-unreadable', path, `cannot read ${path}: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}

/**
 * A file of any size as byte chunks of whole lines (4 MiB reads; a line cut by a read is carried
 * into the next chunk). For readers that scan bytes without making a string per line. `pauseMs`:
 * for pipes, wait this long after a short read (see below).
 */
export async function* readLineChunks(path: string, opts: { pauseMs?: number } = {}): AsyncGenerator<Buffer> {
  const prefix = peeked.get(path);
  peeked.delete(path);
  const fh = await openForReading(path);
  const size = 4 << 20;
  // two buffers: the next read runs (in libuv's pool) while the caller scans the current chunk
  let bufs = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  let which = 0;
  let carry = 0;
  if (prefix) {
    prefix.copy(bufs[0]!, 0);
    carry = prefix.length;
  }
  try {
    // after what peek kept of a pipe (the first bytes), not over it
    let pending = fh.read(bufs[which]!, carry, bufs[which]!.length - carry, null);
    while (true) {
      const buf = bufs[which]!;
      const { bytesRead } = await pending;
      const filled = carry + bytesRead;
      if (bytesRead === 0) {
        if (filled > 0) yield buf.subarray(0, filled);
        break;
      }
      // A pipe: a reader blocked in read() is woken by every write (strace writes each line);
      // pausing after a short read lets lines collect in the pipe and saves the writer those wakeups.
      if (opts.pauseMs && bytesRead < buf.length - carry)
        await new Promise((r) => setTimeout(r, opts.pauseMs));
      const lastNl = buf.lastIndexOf(10, filled - 1);
      const other = 1 - which;
      if (lastNl < 0) {
        // one line longer than the buffer: grow both and read on, up to MAX_LINE
        if (filled >= MAX_LINE)
          throw new FileError(
            'line-too-long',
            path,
            `${path} has a line longer than ${MAX_LINE >> 20} MiB (a log line is not that long: is it the right file?)`,
          );
        if (filled === buf.length) {
          // (the other buffer is made when a line ends: a long line never holds two big ones)
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, filled);
          bufs = [bigger, Buffer.alloc(0)];
          which = 0;
        }
        carry = filled;
        const b = bufs[which]!;
        pending = fh.read(b, carry, b.length - carry, null);
        continue;
      }
      // the cut line's tail starts the other buffer, which the next read fills after it
      carry = filled - lastNl - 1;
      if ((bufs[other]?.length ?? 0) < buf.length) bufs[other] = Buffer.allocUnsafe(buf.length);
      const next = bufs[other]!;
      buf.copy(next, 0, lastNl + 1, filled);
      pending = fh.read(next, carry, next.length - carry, null);
      yield buf.subarray(0, lastNl);
      which = other;
    }
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError('file-unreadable', path, `cannot read ${path}: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}
