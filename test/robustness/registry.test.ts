// A hostile registry on 127.0.0.1 (a Node.js HTTP server of this test): what `pull` and `push` do
// when a registry sends too much, too little, nothing, malformed JSON, the wrong types, terminal
// escapes or YAML where JSON is due. Every case: exit 2, a coded error, no stack trace, no
// internal error, nothing written; then a seeded fuzz of damaged manifests and blobs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sysfence, tempDir } from '../helpers/proc.js';
import { mulberry32 } from '../helpers/random-profiles.js';

const dir = tempDir('sysfence-registry-hostile-');
const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const PROFILE = Buffer.from(
  '{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}',
);

function manifestFor(layer: Buffer, patch: (m: Record<string, unknown>) => unknown = (m) => m): Buffer {
  const m = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.cncf.seccomp-profile.config.v1+json',
    config: { mediaType: 'application/vnd.cncf.seccomp-profile.config.v1+json', digest: sha('{}'), size: 2 },
    layers: [{ mediaType: 'application/json', digest: sha(layer), size: layer.length }],
  };
  return Buffer.from(JSON.stringify(patch(m)));
}

/** What the registry does per repository (the path's first component after /v2/). */
type Handler = (req: IncomingMessage, res: ServerResponse, rest: string) => void;
const routes = new Map<string, Handler>();
let server: Server;
let host = '';

/** A registry that serves `manifest` for any tag and `blobs` by digest. */
function serving(manifest: Buffer, blobs: Record<string, Buffer>): Handler {
  return (_req, res, rest) => {
    if (rest.startsWith('manifests/')) {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end(manifest);
    } else if (rest.startsWith('blobs/')) {
      const b = blobs[rest.slice('blobs/'.length)];
      if (!b) {
        res.writeHead(404);
        res.end();
      } else {
        res.writeHead(200);
        res.end(b);
      }
    } else {
      res.writeHead(404);
      res.end();
    }
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const m = /^\/v2\/([^/]+)\/(.*)$/.exec(req.url ?? '');
    const h = m ? routes.get(m[1]!) : undefined;
    if (!h) {
      res.writeHead(404);
      res.end();
      return;
    }
    h(req, res, m![2]!);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const pull = async (repo: string, env: Record<string, string> = {}) => {
  const out = join(dir, `${repo}.json`);
  const r = await sysfence(['pull', `${host}/${repo}:1`, '-o', out], { env, timeout: 60_000 });
  return { ...r, wrote: existsSync(out), code: /error\[([a-z0-9-]+)\]/.exec(r.stderr)?.[1] };
};

describe('pull from a hostile registry', () => {
  it('a manifest that says it is 4.9 GB: refused before it is read', async () => {
    routes.set('huge', (_req, res) => {
      res.writeHead(200, { 'Content-Length': String(4_900_000_000) });
      res.write('{'); // and then nothing: the length alone refuses it
    });
    const t0 = Date.now();
    const r = await pull('huge');
    expect([r.status, r.code, r.wrote]).toEqual([2, 'registry-too-large', false]);
    expect(r.stderr.split('\n')[0]).toBe(
      `error[registry-too-large]: the manifest ${host}/huge:1 is 4900000000 bytes, more than the 4194304 sysfence reads: refused (${host}/huge)`,
    );
    expect(Date.now() - t0).toBeLessThan(20_000);
  });

  it('a blob longer than its descriptor: refused at its size, never read whole', async () => {
    const big = Buffer.alloc(1 << 20, 0x20);
    const layer = Buffer.from(PROFILE);
    routes.set(
      'long',
      serving(manifestFor(layer), {
        [sha(layer)]: Buffer.concat([layer, big]),
        [sha('{}')]: Buffer.from('{}'),
      }),
    );
    const r = await pull('long');
    expect([r.status, r.code, r.wrote]).toEqual([2, 'registry-too-large', false]);
  });

  it('a registry that never answers: a timeout, not a wait', async () => {
    routes.set('silent', () => {
      // never answers
    });
    const t0 = Date.now();
    const r = await pull('silent', { SYSFENCE_REGISTRY_TIMEOUT: '1' });
    expect([r.status, r.code, r.wrote]).toEqual([2, 'registry-timeout', false]);
    expect(r.stderr.split('\n')[0]).toBe(
      `error[registry-timeout]: ${host} did not answer in 1 s (http://${host}/v2/silent/manifests/1)`,
    );
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('null, layers: [null], a size that is no integer: coded errors with the field', async () => {
    const layer = Buffer.from(PROFILE);
    const blobs = { [sha(layer)]: layer, [sha('{}')]: Buffer.from('{}') };
    const table: [string, Buffer, string][] = [
      ['nullm', Buffer.from('null'), 'the manifest is not a JSON object'],
      [
        'nulllayer',
        manifestFor(layer, (m) => ({ ...m, layers: [null] })),
        "the manifest's layers[0] is not an object",
      ],
      [
        'badsize',
        manifestFor(layer, (m) => ({ ...m, config: { ...(m.config as object), size: '2' } })),
        "the manifest's config has no size",
      ],
      ['nojson', Buffer.from('<html>'), 'the manifest is not JSON'],
    ];
    for (const [repo, manifest, message] of table) {
      routes.set(repo, serving(manifest, blobs));
      const r = await pull(repo);
      expect([repo, r.status, r.code, r.wrote]).toEqual([repo, 2, 'artifact-invalid', false]);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/\n\s+at |error\[internal\]/);
    }
  });

  it('a token service that answers no JSON: said, with what it sent', async () => {
    routes.set('token', (req, res) => {
      if (!req.headers.authorization?.startsWith('Bearer')) {
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="http://${host}/v2/tokensvc/token",service="x"`,
        });
        res.end();
      }
    });
    routes.set('tokensvc', (_req, res) => {
      res.writeHead(200);
      res.end('not json at all');
    });
    const r = await pull('token', { SYSFENCE_REGISTRY_USERNAME: 'u', SYSFENCE_REGISTRY_PASSWORD: 'p' });
    expect([r.status, r.code]).toEqual([2, 'registry-auth-failed']);
    expect(r.stderr.split('\n')[0]).toBe(
      `error[registry-auth-failed]: the token service answered no JSON: not json at all (http://${host}/v2/tokensvc/token)`,
    );
  });

  it('a body cut short: refused by its digest, nothing written', async () => {
    const layer = Buffer.from(PROFILE);
    routes.set('short', (_req, res, rest) => {
      if (rest.startsWith('manifests/')) {
        res.writeHead(200);
        res.end(manifestFor(layer));
      } else {
        res.writeHead(200);
        res.end(layer.subarray(0, 10));
      }
    });
    const r = await pull('short');
    expect([r.status, r.code, r.wrote]).toEqual([2, 'artifact-digest-mismatch', false]);
  });

  it('terminal escapes in what the registry says never reach the terminal raw', async () => {
    routes.set('escape', (_req, res) => {
      res.writeHead(500);
      res.end('\u001b]0;pwned\u0007\u001b[31mboom');
    });
    const r = await pull('escape');
    expect([r.status, r.code]).toEqual([2, 'registry-error']);
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr).toContain('\\x1b]0;pwned\\x07\\x1b[31mboom');
  });

  it('a YAML layer in an application/json artifact is refused', async () => {
    const yaml = Buffer.from('defaultAction: SCMP_ACT_ALLOW\n');
    routes.set('yaml', serving(manifestFor(yaml), { [sha(yaml)]: yaml, [sha('{}')]: Buffer.from('{}') }));
    const r = await pull('yaml');
    expect([r.status, r.code, r.wrote]).toEqual([2, 'artifact-invalid', false]);
    expect(r.stderr.split('\n')[0]).toContain(
      'the application/json layer holds no JSON object (defaultAction: SCMP_ACT_ALLOW\\x0a)',
    );
  });

  it('seeded fuzz: 60 damaged manifests and blobs, each a coded error or a valid pull', async () => {
    const r = mulberry32(20261206);
    const layer = Buffer.from(PROFILE);
    const good = manifestFor(layer);
    const damage = (b: Buffer): Buffer => {
      const out = Buffer.from(b);
      const kind = Math.floor(r() * 4);
      if (kind === 0) return out.subarray(0, Math.floor(r() * out.length));
      if (kind === 1) {
        for (let k = 0; k < 3; k++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
        return out;
      }
      if (kind === 2) return Buffer.concat([out, Buffer.from([0, 0x1b, 0xff])]);
      return Buffer.from(
        JSON.stringify(JSON.parse(b.toString()), (_k, v) => (typeof v === 'number' && r() < 0.5 ? -v : v)),
      );
    };
    const bad: string[] = [];
    const codes = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      const repo = `fuzz${i}`;
      const manifest = r() < 0.6 ? damage(good) : good;
      const blob = manifest === good ? damage(layer) : layer;
      routes.set(repo, serving(manifest, { [sha(layer)]: blob, [sha('{}')]: Buffer.from('{}') }));
      const p = await pull(repo);
      if (p.status === 0) continue;
      codes.set(p.code ?? 'none', (codes.get(p.code ?? 'none') ?? 0) + 1);
      if (
        p.status !== 2 ||
        !p.code ||
        p.code === 'internal' ||
        /\n\s+at /.test(p.stderr) ||
        p.wrote ||
        p.stderr.includes('\u001b')
      )
        bad.push(`${repo}: exit ${p.status}: ${p.stderr.slice(0, 200)}`);
    }
    console.log(
      `registry fuzz: 60 cases; errors by code: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`,
    );
    expect(bad).toEqual([]);
  }, 300_000);
});
