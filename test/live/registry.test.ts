// Profiles through an OCI registry: a real registry (Debian's docker-registry, the CNCF
// distribution server) started here on 127.0.0.1 with htpasswd authentication. The round trip is
// byte for byte, the digest is stable, and what is tampered with or not authorised is refused.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { run, start, sysfence, tempDir } from '../helpers/proc.js';
import { haveTool, requirement } from '../helpers/tools.js';

const root = join(import.meta.dirname, '..', '..');
const skip =
  requirement(haveTool('docker-registry', ['--version']), 'docker-registry') ??
  requirement(haveTool('htpasswd', ['-n', '-b', 'a', 'b']), 'htpasswd (apache2-utils)');
const dir = tempDir('sysfence-registry-');
let host = '';

const sf = (args: string[], env: Record<string, string> = {}, input?: string) =>
  sysfence(args, { env, ...(input !== undefined ? { input } : {}) });
const alice = { SYSFENCE_REGISTRY_USERNAME: 'alice', SYSFENCE_REGISTRY_PASSWORD: 'secret' };

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

beforeAll(async () => {
  if (skip) return;
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'htpasswd'), (await run('htpasswd', ['-Bbn', 'alice', 'secret'])).stdout);
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${host}\nauth:\n  htpasswd:\n    realm: sysfence\n    path: ${join(dir, 'htpasswd')}\n`,
  );
  start('docker-registry', ['serve', join(dir, 'config.yml')], {
    scope: 'file',
    stdout: 'ignore',
    stderr: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    const up = await fetch(`http://${host}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (up === 401) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('docker-registry did not start');
});

describe.skipIf(skip !== undefined)('push and pull through an OCI registry', () => {
  const profile = join(root, 'data', 'profiles', 'docker-default.json');

  it('round trip byte for byte, by digest and by tag; the same profile gets the same digest', async () => {
    const p1 = await sf(['push', profile, `${host}/profiles/web:1`], alice);
    expect(p1.status, p1.stderr).toBe(0);
    const ref = p1.stdout.trim();
    expect(ref).toMatch(new RegExp(`^${host}/profiles/web@sha256:[0-9a-f]{64}$`));
    // the same profile again (another tag): the same manifest digest
    expect((await sf(['push', profile, `${host}/profiles/web:again`], alice)).stdout.trim()).toBe(ref);
    // what was pushed is Docker's JSON of the profile as sysfence writes it: the same bytes come back
    const written = (await sf(['convert', profile, '--to', 'docker'])).stdout;
    const byDigest = await sf(['pull', ref, '-o', join(dir, 'p.json')], alice);
    expect(byDigest.status, byDigest.stderr).toBe(0);
    expect(readFileSync(join(dir, 'p.json'), 'utf8')).toBe(written);
    expect(byDigest.stderr).toContain('dev.sysfence.version: ');
    expect(byDigest.stderr).toContain(`pulled ${ref} (`);
    const byTag = await sf(['pull', `${host}/profiles/web:1`], alice);
    expect(byTag.stdout).toBe(written);
    // the layout KEP-6061 and SPO read
    const m = JSON.parse(
      (
        await run('curl', [
          '-s',
          '-u',
          'alice:secret',
          '-H',
          'Accept: application/vnd.oci.image.manifest.v1+json',
          `http://${host}/v2/profiles/web/manifests/1`,
        ])
      ).stdout,
    );
    expect([
      m.artifactType,
      m.config.mediaType,
      m.config.size,
      m.layers.map((l: { mediaType: string; annotations: Record<string, string> }) => [
        l.mediaType,
        l.annotations,
      ]),
    ]).toEqual([
      'application/vnd.cncf.seccomp-profile.config.v1+json',
      'application/vnd.cncf.seccomp-profile.config.v1+json',
      2,
      [['application/json', { 'org.opencontainers.image.title': 'profile.json' }]],
    ]);
  });

  it('refused: no credentials, wrong credentials, a tampered blob, a malformed reference', async () => {
    const none = await sf(['push', profile, `${host}/profiles/x:1`], { SYSFENCE_REGISTRY_USERNAME: '' });
    expect([none.status, none.stderr.split('\n')[0]]).toEqual([
      2,
      `error[registry-auth-required]: ${host} asks for credentials (${host})`,
    ]);
    const wrong = await sf(['pull', `${host}/profiles/web:1`], {
      ...alice,
      SYSFENCE_REGISTRY_PASSWORD: 'nope',
    });
    expect([wrong.status, wrong.stderr]).toEqual([2, expect.stringContaining('error[registry-auth-failed]')]);
    // --password-stdin
    const stdin = await sf(
      ['pull', `${host}/profiles/web:1`, '--username', 'alice', '--password-stdin'],
      {},
      'secret\n',
    );
    expect(stdin.status).toBe(0);
    // change the stored layer under the registry: the pull is refused, nothing is written
    const ref = (await sf(['push', profile, `${host}/profiles/tamper:1`], alice)).stdout.trim();
    const blobs = join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256');
    const layers = readdirSync(blobs).flatMap((d) =>
      readdirSync(join(blobs, d)).map((h) => join(blobs, d, h, 'data')),
    );
    const layer = layers.find((f) => readFileSync(f, 'utf8').includes('"defaultAction": "SCMP_ACT_ERRNO"'))!;
    writeFileSync(layer, readFileSync(layer, 'utf8').replace('"SCMP_ACT_ERRNO"', '"SCMP_ACT_ALLOW"'));
    const out = join(dir, 'tampered.json');
    const t = await sf(['pull', ref, '-o', out], alice);
    expect([t.status, t.stderr]).toEqual([
      2,
      expect.stringMatching(
        /^error\[artifact-digest-mismatch\]: blob sha256:[0-9a-f]{64}: .* refused \(tampered or corrupt\)/,
      ),
    ]);
    expect(existsSync(out)).toBe(false);
    const bad = await sf(['pull', 'no-registry-here']);
    expect(bad.stderr).toMatch(/^error\[bad-reference\]/);
  });
});
