// A whole application: a Compose project of four services (nginx, redis, PostgreSQL and a driver,
// all from the real-workload image) recorded in one run with `record --docker --select`, then
// brought up again with the Compose override sysfence wrote: every request succeeds under the
// recorded profiles and every service stops cleanly, both times.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// a plain ES module, shared with the benchmark
import { buildImage, IMAGE } from '../../bench/workloads/evaluate.mjs';
import { findArch } from '../../src/arch/tables.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { ebpfProblems } from '../../src/recorders/record.js';
import { run, startSysfence, tempDir, until } from '../helpers/proc.js';
import { referenceFile } from '../helpers/schemas.js';
import { haveDocker, haveTool, requirement } from '../helpers/tools.js';

const x86_64 = findArch('x86_64')!;
const docker = haveDocker();
const skip =
  process.arch !== 'x64'
    ? 'the runtime sets were measured on x86_64'
    : (requirement(docker, 'a running Docker engine (scripts/start-dockerd.sh)') ??
      requirement(haveTool('docker-compose', ['version']), 'docker-compose') ??
      requirement(ebpfProblems(x86_64).length === 0, `eBPF (${ebpfProblems(x86_64).join('; ')})`));

const PROJECT = `sfshop${process.pid}`;
const PG = '/usr/lib/postgresql/15/bin';
let dir = '';

// one network namespace for the project (the web container's), as the servers listen on loopback
const COMPOSE = `version: "2.4"
services:
  web:
    image: ${IMAGE}
    command: ["nginx", "-c", "/etc/sysfence/nginx.conf"]
    network_mode: none
  cache:
    image: ${IMAGE}
    user: redis
    command: ["redis-server", "/etc/sysfence/redis.conf"]
    network_mode: "service:web"
  db:
    image: ${IMAGE}
    user: postgres
    command: ["${PG}/postgres", "-D", "/var/lib/postgresql/data", "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=/tmp"]
    network_mode: "service:web"
  drv:
    image: ${IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    network_mode: "service:web"
`;

function compose(files: string[], args: string[]) {
  return run('docker-compose', ['-p', PROJECT, ...files.flatMap((f) => ['-f', f]), ...args], { cwd: dir });
}

const drv = (args: string[]) => run('docker', ['exec', `${PROJECT}_drv_1`, ...args]);

/** The application's requests, each with its result: all must succeed. */
async function drive(): Promise<Record<string, boolean>> {
  await until('the servers', async () =>
    [
      (await await drv(['curl', '-sf', '-o', '/dev/null', 'http://127.0.0.1:8080/index.html'])).status,
      (await await drv(['redis-cli', 'ping'])).status,
      (await await drv([`${PG}/pg_isready`, '-q', '-h', '127.0.0.1'])).status,
    ].every((s) => s === 0),
  );
  const psql = (sql: string) => drv([`${PG}/psql`, '-h', '127.0.0.1', '-U', 'postgres', '-tAc', sql]);
  const steps: Record<string, boolean> = {};
  for (let i = 0; i < 5; i++)
    steps[`GET /index.html #${i}`] =
      (await drv(['curl', '-sf', '-o', '/dev/null', 'http://127.0.0.1:8080/index.html'])).status === 0;
  steps['GET /missing is 404'] =
    (await drv(['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:8080/missing']))
      .stdout === '404';
  steps['redis SET'] = (await drv(['redis-cli', 'set', 'cart:1', 'apples'])).stdout.trim() === 'OK';
  steps['redis GET'] = (await drv(['redis-cli', 'get', 'cart:1'])).stdout.trim() === 'apples';
  steps['redis INCR'] = /^\d+$/.test((await drv(['redis-cli', 'incr', 'visits'])).stdout.trim());
  steps['postgres CREATE'] =
    (await psql('create table if not exists orders (id serial, item text)')).status === 0;
  steps['postgres INSERT'] = (await psql("insert into orders (item) values ('apples')")).status === 0;
  steps['postgres SELECT'] = /^\d+$/.test((await psql('select count(*) from orders')).stdout.trim());
  return steps;
}

/** `docker-compose stop`, then each service's exit code (0: it stopped cleanly). */
async function stopAll(files: string[]): Promise<Record<string, number>> {
  const r = await compose(files, ['stop', '-t', '20']);
  if (r.status !== 0) throw new Error(`docker-compose stop: ${r.stderr}`);
  const codes: Record<string, number> = {};
  for (const s of ['web', 'cache', 'db', 'drv'])
    codes[s] = Number(
      (await run('docker', ['inspect', '-f', '{{.State.ExitCode}}', `${PROJECT}_${s}_1`])).stdout.trim(),
    );
  return codes;
}

beforeAll(async () => {
  if (skip) return;
  await buildImage();
  dir = tempDir('sysfence-compose-');
  writeFileSync(join(dir, 'docker-compose.yml'), COMPOSE);
}, 600_000);

afterAll(async () => {
  if (skip) return;
  await compose(['docker-compose.yml'], ['down', '-t', '1']);
});

describe.skipIf(skip !== undefined)('record --docker --select (a Compose application)', () => {
  it('records every service in one run; the override runs them all with every request and stop ok', async () => {
    const out = join(dir, 'profiles');
    const rec = startSysfence(
      [
        'record',
        '--docker',
        '--select',
        `com.docker.compose.project=${PROJECT}`,
        '--until-signal',
        'USR1',
        '-o',
        out,
      ],
      { stdout: 'ignore', timeout: 600_000 },
    );
    await until('the recorder', () => rec.stderr().includes('start the application'));
    expect((await compose(['docker-compose.yml'], ['up', '-d'])).status).toBe(0);
    const first = await drive();
    // a restart while recording is one more run of its service
    expect((await compose(['docker-compose.yml'], ['restart', '-t', '5', 'cache'])).status).toBe(0);
    await until('redis again', async () => (await drv(['redis-cli', 'ping'])).stdout.trim() === 'PONG');
    first['redis GET after a restart'] = (await drv(['redis-cli', 'incr', 'visits'])).status === 0;
    const stop1 = await stopAll(['docker-compose.yml']);
    rec.signal('SIGUSR1');
    expect((await rec.exit).code).toBe(0);
    const ok = Object.fromEntries(Object.keys(first).map((k) => [k, true]));
    const { 'redis GET after a restart': _restart, ...okAgain } = ok;
    expect([first, stop1]).toEqual([ok, { web: 0, cache: 0, db: 0, drv: 0 }]);

    // one profile per service, and the override that applies them
    const override = parse(readFileSync(join(out, 'docker-compose.seccomp.yml'), 'utf8')) as {
      services: Record<string, { security_opt: string[] }>;
    };
    expect(Object.keys(override.services).sort()).toEqual(['cache', 'db', 'drv', 'web']);
    const allowed: Record<string, number> = {};
    for (const s of Object.keys(override.services)) {
      expect(override.services[s]?.security_opt).toEqual([`seccomp=${join(out, `${s}.json`)}`]);
      const p = parseDockerProfile(readFileSync(join(out, `${s}.json`), 'utf8')).profile!;
      allowed[s] = (p.syscalls ?? [])
        .filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length)
        .reduce((n, r) => n + (r.names?.length ?? 0), 0);
      expect(readFileSync(join(out, `${s}.spo.yaml`), 'utf8')).toContain('kind: SeccompProfile');
    }
    // Docker's default, counted the same way (unconditional allows): 361 names
    const dockerDefault = parseDockerProfile(readFileSync(referenceFile('docker-default.json'), 'utf8'))
      .profile!;
    const dockerAllowed = new Set(
      (dockerDefault.syscalls ?? [])
        .filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length && !r.includes && !r.excludes)
        .flatMap((r) => r.names ?? []),
    ).size;
    console.log(
      `compose: allowed calls per service, against Docker's default ${dockerAllowed}: ${Object.entries(
        allowed,
      )
        .map(([s, n]) => `${s} ${n} (${((100 * n) / dockerAllowed).toFixed(0)}%)`)
        .join(', ')}`,
    );
    expect(dockerAllowed).toBe(361);
    for (const n of Object.values(allowed)) expect(n).toBeLessThan(dockerAllowed / 2);
    expect(rec.stderr()).toMatch(/sysfence: db: sfshop\d+_db_1 \(1 run\): \d+ syscalls/);
    expect(rec.stderr()).toMatch(/sysfence: cache: sfshop\d+_cache_1 \(2 runs\): \d+ syscalls/);

    // fresh containers under the recorded profiles: the same requests and stops
    expect((await compose(['docker-compose.yml'], ['rm', '-f'])).status).toBe(0);
    const files = ['docker-compose.yml', join(out, 'docker-compose.seccomp.yml')];
    const up = await compose(files, ['up', '-d']);
    expect([up.status, up.stderr.includes('error')]).toEqual([0, false]);
    const seccomp = (
      await run('docker', ['inspect', '-f', '{{json .HostConfig.SecurityOpt}}', `${PROJECT}_db_1`])
    ).stdout;
    expect(seccomp).toContain('seccomp=');
    const second = await drive();
    expect([second, await stopAll(files)]).toEqual([okAgain, { web: 0, cache: 0, db: 0, drv: 0 }]);
  }, 600_000);
});
