// Profiles through an OCI registry: a real registry (Debian's docker-registry, the CNCF
// distribution server) started here on 127.0.0.1 with htpasswd authentication. The round trip is
// byte for byte, the digest is stable, and what is tampered with or not authorised is refused.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sysfence } from '../helpers/cli.js';
import { haveTool, requirement } from '../helpers/tools.js';

const root = join(import.meta.dirname, '..', '..');
const skip =
  requirement(haveTool('docker-registry', ['--version']), 'docker-registry') ??
  requirement(haveTool('htpasswd', ['-n', '-b', 'a', 'b']), 'htpasswd (apache2-utils)');
const dir = mkdtempSync(join(tmpdir(), 'sysfence-registry-'));
let registry: ChildProcess | undefined;
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
  writeFileSync(
    join(dir, 'htpasswd'),
    spawnSync('htpasswd', ['-Bbn', 'alice', 'secret'], { encoding: 'utf8' }).stdout,
  );
  writeFileSync(
    join(dir, 'config.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\nhttp:\n  addr: ${host}\nauth:\n  htpasswd:\n    realm: sysfence\n    path: ${join(dir, 'htpasswd')}\n`,
  );
  registry = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
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

afterAll(() => {
  registry?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip !== undefined)('push and pull through an OCI registry', () => {
  const profile = join(root, 'data', 'profiles', 'docker-default.json');

  it('round trip byte for byte, by digest and by tag; the same profile gets the same digest', () => {
    const p1 = sf(['push', profile, `${host}/profiles/web:1`], alice);
    expect(p1.status, p1.stderr).toBe(0);
    const ref = p1.stdout.trim();
    expect(ref).toMatch(new RegExp(`^${host}/profiles/web@sha256:[0-9a-f]{64}$`));
    // the same profile again (another tag): the same manifest digest
    expect(sf(['push', profile, `${host}/profiles/web:again`], alice).stdout.trim()).toBe(ref);
    // what was pushed is Docker's JSON of the profile as sysfence writes it: the same bytes come back
    const written = sf(['convert', profile, '--to', 'docker']).stdout;
    const byDigest = sf(['pull', ref, '-o', join(dir, 'p.json')], alice);
    expect(byDigest.status, byDigest.stderr).toBe(0);
    expect(readFileSync(join(dir, 'p.json'), 'utf8')).toBe(written);
    expect(byDigest.stderr).toContain('dev.sysfence.version: ');
    expect(byDigest.stderr).toContain(`pulled ${ref} (`);
    const byTag = sf(['pull', `${host}/profiles/web:1`], alice);
    expect(byTag.stdout).toBe(written);
    // the layout KEP-6061 and SPO read
    const m = JSON.parse(
      spawnSync(
        'curl',
        [
          '-s',
          '-u',
          'alice:secret',
          '-H',
          'Accept: application/vnd.oci.image.manifest.v1+json',
          `http://${host}/v2/profiles/web/manifests/1`,
        ],
        { encoding: 'utf8' },
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

  it('refused: no credentials, wrong credentials, a tampered blob, a malformed reference', () => {
    const none = sf(['push', profile, `${host}/profiles/x:1`], { SYSFENCE_REGISTRY_USERNAME: '' });
    expect([none.status, none.stderr.split('\n')[0]]).toEqual([
      2,
      `error[registry-auth-required]: ${host} asks for credentials (${host})`,
    ]);
    const wrong = sf(['pull', `${host}/profiles/web:1`], { ...alice, SYSFENCE_REGISTRY_PASSWORD: 'nope' });
    expect([wrong.status, wrong.stderr]).toEqual([2, expect.stringContaining('error[registry-auth-failed]')]);
    // --password-stdin
    const stdin = sf(
      ['pull', `${host}/profiles/web:1`, '--username', 'alice', '--password-stdin'],
      {},
      'secret\n',
    );
    expect(stdin.status).toBe(0);
    // change the stored layer under the registry: the pull is refused, nothing is written
    const ref = sf(['push', profile, `${host}/profiles/tamper:1`], alice).stdout.trim();
    const blobs = join(dir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256');
    const layers = readdirSync(blobs).flatMap((d) =>
      readdirSync(join(blobs, d)).map((h) => join(blobs, d, h, 'data')),
    );
    const layer = layers.find((f) => readFileSync(f, 'utf8').includes('"defaultAction": "SCMP_ACT_ERRNO"'))!;
    writeFileSync(layer, readFileSync(layer, 'utf8').replace('"SCMP_ACT_ERRNO"', '"SCMP_ACT_ALLOW"'));
    const out = join(dir, 'tampered.json');
    const t = sf(['pull', ref, '-o', out], alice);
    expect([t.status, t.stderr]).toEqual([
      2,
      expect.stringMatching(
        /^error\[artifact-digest-mismatch\]: blob sha256:[0-9a-f]{64}: .* refused \(tampered or corrupt\)/,
      ),
    ]);
    expect(spawnSync('test', ['-e', out]).status).toBe(1);
    const bad = sf(['pull', 'no-registry-here']);
    expect(bad.stderr).toMatch(/^error\[bad-reference\]/);
  });
});
