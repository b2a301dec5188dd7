/**
 * A container image's files, for static reach: the engine exports a container made from the
 * image (`docker create` + `docker export`: one tar stream of the image's merged file system,
 * never run), and the stream is read here as it comes. Only what reach reads is kept: ELF files,
 * symbolic links, directories, and the loader's configuration (ld.so.conf, ld-musl paths,
 * nsswitch.conf). Nothing is unpacked to disk.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { SysfenceError } from '../errors.js';
import { socketPath } from './cri.js';
import { type MemoryEntry, MemoryFiles } from './rootfs.js';
import { runTool, startProcess } from './run.js';

export class ImageError extends SysfenceError {
  constructor(code: string, message: string, location?: string, hint?: string) {
    super(code, message, location, hint);
    this.name = 'ImageError';
  }
}

const KEEP_TEXT = /^\/etc\/(ld\.so\.conf(\.d\/.*)?|ld-musl-[a-z0-9_]+\.path|nsswitch\.conf)$/;
const MAX_KEPT = 4 * 2 ** 30;

const octal = (b: Uint8Array, off: number, len: number): number => {
  if (((b[off] as number) & 0x80) !== 0) {
    // base-256 (GNU): big sizes
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + (b[off + i] as number);
    return v;
  }
  const s = Buffer.from(b.subarray(off, off + len))
    .toString('latin1')
    .replace(/\0.*$/s, '')
    .trim();
  return s === '' ? 0 : Number.parseInt(s, 8);
};
const cstr = (b: Uint8Array, off: number, len: number) => {
  const sub = b.subarray(off, off + len);
  const z = sub.indexOf(0);
  return Buffer.from(z >= 0 ? sub.subarray(0, z) : sub).toString('utf8');
};

/** Reads a tar stream chunk by chunk into the entries reach needs. */
export class TarReader {
  readonly entries = new Map<string, MemoryEntry>();
  private buf: Buffer = Buffer.alloc(0);
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Record<string, string> = {};
  private current:
    | { name: string; size: number; left: number; keep: boolean; parts: Buffer[]; kind: string }
    | undefined;
  private kept = 0;
  private skip = 0;
  private ended = false;

  constructor(private readonly where: string) {}

  private fail(what: string): never {
    throw new ImageError('image-bad-tar', `${this.where}: ${what}`, this.where);
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.ended) return;
      if (this.skip > 0) {
        const n = Math.min(this.skip, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.skip -= n;
        if (this.skip > 0) return;
        continue;
      }
      if (this.current) {
        const c = this.current;
        const take = Math.min(c.left, this.buf.length);
        if (c.keep && take > 0) c.parts.push(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        c.left -= take;
        if (c.left > 0) return;
        this.current = undefined;
        this.skip = (512 - (c.size % 512)) % 512;
        this.finish(c);
        continue;
      }
      if (this.buf.length < 512) return;
      const h = this.buf.subarray(0, 512);
      this.buf = this.buf.subarray(512);
      if (h.every((x) => x === 0)) {
        this.ended = true;
        return;
      }
      let sum = 0;
      for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : (h[i] as number);
      if (sum !== octal(h, 148, 8)) this.fail('a tar header with a bad checksum (not a tar stream?)');
      const type = String.fromCharCode(h[156] as number);
      const magic = cstr(h, 257, 6);
      const prefix = magic.startsWith('ustar') ? cstr(h, 345, 155) : '';
      let name =
        this.pax.path ?? this.longName ?? (prefix ? `${prefix}/${cstr(h, 0, 100)}` : cstr(h, 0, 100));
      const link = this.pax.linkpath ?? this.longLink ?? cstr(h, 157, 100);
      const size = this.pax.size !== undefined ? Number(this.pax.size) : octal(h, 124, 12);
      if (!Number.isSafeInteger(size) || size < 0) this.fail(`an entry of size ${size}`);
      if (type !== 'x' && type !== 'g' && type !== 'L' && type !== 'K') {
        this.pax = {};
        this.longName = undefined;
        this.longLink = undefined;
      }
      name = posix.normalize(`/${name}`).replace(/\/$/, '') || '/';
      const meta = type === 'x' || type === 'g' || type === 'L' || type === 'K';
      const keep = meta || type === '0' || type === '\0' || type === '7';
      this.current = { name, size, left: size, keep, parts: [], kind: type };
      if (type === '2') this.entries.set(name, { link });
      else if (type === '1') {
        const target = this.entries.get(posix.normalize(`/${link}`));
        if (target) this.entries.set(name, target);
      } else if (type === '5') this.entries.set(name, { dir: true });
      if (size === 0) {
        this.current = undefined;
        this.finish({ name, size, keep, parts: [], kind: type });
      }
    }
  }

  private finish(c: { name: string; size: number; parts: Buffer[]; kind: string; keep: boolean }): void {
    if (!c.keep) return;
    const data = Buffer.concat(c.parts);
    if (c.kind === 'L') this.longName = cstr(data, 0, data.length);
    else if (c.kind === 'K') this.longLink = cstr(data, 0, data.length);
    else if (c.kind === 'x') {
      // "LEN key=value\n" records
      let o = 0;
      while (o < data.length) {
        const sp = data.indexOf(0x20, o);
        if (sp < 0) break;
        const len = Number(data.subarray(o, sp).toString('latin1'));
        if (!Number.isSafeInteger(len) || len <= 0) break;
        const rec = data.subarray(sp + 1, o + len - 1).toString('utf8');
        const eq = rec.indexOf('=');
        if (eq > 0) this.pax[rec.slice(0, eq)] = rec.slice(eq + 1);
        o += len;
      }
    } else if (c.kind === 'g') {
      // global headers: nothing reach needs
    } else {
      const elf =
        data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
      if (elf || KEEP_TEXT.test(c.name)) {
        this.kept += data.length;
        if (this.kept > MAX_KEPT) this.fail('more than 4 GiB of programs and libraries');
        this.entries.set(c.name, { data: new Uint8Array(data) });
      } else this.entries.set(c.name, {});
    }
  }
}

/** A tar stream a command writes, read into memory (ELF files and loader configuration). */
function readTarOf(cmd: string, args: string[], label: string, image: string): Promise<MemoryFiles> {
  const reader = new TarReader(label);
  return new Promise<MemoryFiles>((resolve, reject) => {
    const child = startProcess(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const errs: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => {
      try {
        reader.push(d);
      } catch (e) {
        child.kill('SIGKILL');
        reject(e);
      }
    });
    child.stderr?.on('data', (d: Buffer) => errs.push(d));
    child.on('error', (e) =>
      reject(new ImageError('image-export-failed', `${cmd} could not run: ${e.message}`, image)),
    );
    child.on('close', (code) => {
      if (code === 0) resolve(new MemoryFiles(`image ${image}`, reader.entries));
      else
        reject(
          new ImageError(
            'image-export-failed',
            `${label} failed: ${Buffer.concat(errs).toString('utf8').trim().split('\n')[0] ?? ''}`,
            image,
          ),
        );
    });
  });
}

/** The files of an image (pulled already; nothing is run), read through the engine's export. */
export async function imageFiles(cli: string, image: string): Promise<MemoryFiles> {
  const created = runTool(cli, ['create', image, '/sysfence-reach-never-runs'], { timeoutMs: 120_000 });
  const id = created.stdout.trim();
  if (created.status !== 0 || !/^[0-9a-f]{12,64}$/.test(id))
    throw new ImageError(
      'image-not-found',
      `${cli} cannot use image ${image}: ${created.stderr.trim().split('\n')[0] ?? ''}`,
      image,
      `${cli} pull ${image} (or build it) first`,
    );
  try {
    return await readTarOf(cli, ['export', id], `${cli} export of ${image}`, image);
  } finally {
    runTool(cli, ['rm', '-f', id], { timeoutMs: 60_000 });
  }
}

/**
 * The files of an image in containerd (`address`: its socket; the `k8s.io` namespace, kubelet's):
 * mounted read-only by `ctr images mount` and read as a tar stream, then unmounted.
 */
export async function containerdImageFiles(address: string, image: string): Promise<MemoryFiles> {
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-ctr-image-'));
  const ctr = (args: string[]) =>
    runTool('ctr', ['-a', socketPath(address), '-n', 'k8s.io', 'images', ...args], {
      timeoutMs: 300_000,
      hint: 'apt-get install containerd',
    });
  try {
    const mounted = ctr(['mount', image, dir]);
    if (mounted.status !== 0)
      throw new ImageError(
        'image-not-found',
        `containerd cannot mount image ${image}: ${mounted.stderr.trim().split('\n')[0] ?? ''}`,
        image,
        `ctr -n k8s.io images pull ${image} (kubelet pulls a pod's images)`,
      );
    try {
      return await readTarOf('tar', ['-C', dir, '-c', '.'], `the files of ${image} (containerd)`, image);
    } finally {
      ctr(['unmount', dir]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An image reference as containerd stores it: a name without a registry is Docker Hub's
 * (`docker.io/`, and `library/` for one component), and a name without a tag is `:latest`.
 */
export function normalizeImageRef(ref: string): string {
  if (ref.includes('@') || ref.startsWith('sha256:')) return ref;
  const first = ref.split('/')[0] as string;
  const hasDomain =
    ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  const named = hasDomain ? ref : `docker.io/${ref.includes('/') ? '' : 'library/'}${ref}`;
  const last = named.slice(named.lastIndexOf('/') + 1);
  return last.includes(':') ? named : `${named}:latest`;
}

/** The program an image runs (its entrypoint and command, as the engine reports them). */
export function imageCommand(cli: string, image: string): string[] {
  const r = runTool(
    cli,
    ['image', 'inspect', '--format', '{{json .Config.Entrypoint}}\t{{json .Config.Cmd}}', image],
    { timeoutMs: 60_000 },
  );
  if (r.status !== 0)
    throw new ImageError(
      'image-not-found',
      `${cli} has no image ${image}`,
      image,
      `${cli} pull ${image} (or build it) first`,
    );
  const [ep, cmd] = r.stdout
    .trim()
    .split('\t')
    .map((x) => JSON.parse(x || 'null') as string[] | null);
  return [...(ep ?? []), ...(cmd ?? [])];
}
