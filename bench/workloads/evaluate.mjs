// The real-workload evaluation: nginx, redis and PostgreSQL (Debian packages in the image that
// bench/workloads/build-image.sh builds) recorded with `sysfence record --docker` while a driver
// exercises them, then run fresh under the generated profile (`sysfence run --docker`), under the
// same profile with `--default-action kill`, and under Docker's default profile, with the same
// driver and lifecycle steps each time. Shared by the live test (test/live/workloads.test.ts, one
// pass) and the benchmark (bench/workloads.mjs, repeated passes for the throughput ratios).
//
// The server runs with `--network none`; the driver (wrk, curl, redis-benchmark, pgbench) runs in
// a second container of the same image that joins the server's network namespace
// (`--network container:NAME`), so the driver is never part of the server's cgroup or recording.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
export const IMAGE = process.env.SYSFENCE_SERVERS_IMAGE ?? 'sysfence/servers:bookworm-1';
/**
 * The container engine the passes use: docker (default) or podman (SYSFENCE_ENGINE=podman; its
 * OCI runtime and ulimits from CONTAINERS_CONF, the image loaded into its storage, named by
 * SYSFENCE_SERVERS_IMAGE).
 */
export const ENGINE = process.env.SYSFENCE_ENGINE ?? 'docker';
const PG = '/usr/lib/postgresql/15/bin';

/**
 * A child to its end without blocking the event loop (a test worker must keep answering its
 * runner), killed with its process group after `timeout` ms.
 */
function spawnAsync(cmd, args, { timeout = 300_000, stdio = ['ignore', 'pipe', 'pipe'] } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d) => {
      stderr += d;
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeout);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`${cmd} ${args.join(' ')}: timed out after ${timeout} ms`));
      else resolve({ status, stdout, stderr });
    });
  });
}

/** Builds the image when missing (debootstrap; about a minute), else nothing. */
export async function buildImage() {
  const r = await spawnAsync('bash', [join(import.meta.dirname, 'build-image.sh'), IMAGE], {
    timeout: 1_200_000,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`bench/workloads/build-image.sh failed (exit ${r.status})`);
}

async function sh(cmd, args, { allowFail = false } = {}) {
  const r = await spawnAsync(cmd, args, { timeout: 120_000 });
  if (r.status !== 0 && !allowFail)
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}\n${r.stderr}${r.stdout}`.slice(0, 4000));
  return r;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One driver step: a name, and whether it did what it must (with the evidence). */
function step(name, ok, detail) {
  return { name, ok, detail: String(detail).trim().slice(0, 500) };
}

function drv(name, args) {
  return sh(ENGINE, ['exec', `${name}-drv`, ...args], { allowFail: true });
}

async function until(what, f, ms = 30_000) {
  const start = Date.now();
  for (;;) {
    if (await f()) return;
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/**
 * The three workloads: how the server runs, how the driver sees it is ready, the steps (each
 * checked), the throughput figure, and the lifecycle's last step (the server stops by itself).
 */
export const WORKLOADS = {
  nginx: {
    runArgs: ['nginx', '-c', '/etc/sysfence/nginx.conf'],
    ready: async (n) =>
      (await drv(n, ['curl', '-sf', '-o', '/dev/null', 'http://127.0.0.1:8080/'])).status === 0,
    // the logs are on the host, so that the log rotation can be done and checked from outside
    mounts: (logs) => ['-v', `${logs}:/var/log/nginx`],
    async drive(n, { seconds, logs }) {
      const steps = [];
      const get = async (path) =>
        (
          await drv(n, [
            'curl',
            '-s',
            '-o',
            '/dev/null',
            '-w',
            '%{http_code} %{size_download}',
            `http://127.0.0.1:8080${path}`,
          ])
        ).stdout;
      const code = async (path, want) => {
        const got = await get(path);
        steps.push(step(`GET ${path}`, got === want, got));
      };
      await code('/', '200 159');
      await code('/large.txt', '200 65536');
      await code('/missing', '404 153');
      const w = await drv(n, ['wrk', '-t2', '-c16', `-d${seconds}s`, 'http://127.0.0.1:8080/index.html']);
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(w.stdout)?.[1] ?? 0);
      const requests = Number(/(\d+) requests in/.exec(w.stdout)?.[1] ?? 0);
      steps.push(
        step(
          'wrk (static file)',
          w.status === 0 && requests > 0 && !/Non-2xx|Socket errors/.test(w.stdout),
          `${requests} requests, ${rps}/s${/Non-2xx.*|Socket errors.*/.exec(w.stdout)?.[0] ?? ''}`,
        ),
      );
      const wl = await drv(n, ['wrk', '-t1', '-c4', '-d1s', 'http://127.0.0.1:8080/large.txt']);
      steps.push(
        step(
          'wrk (64 KiB file)',
          wl.status === 0 && !/Non-2xx|Socket errors/.test(wl.stdout),
          wl.stdout.split('\n').at(-3),
        ),
      );
      await sh(ENGINE, ['kill', '-s', 'HUP', n]);
      // the reload is done when the old workers have gone and new ones answer
      await sleep(1000);
      await code('/', '200 159');
      // log rotation as logrotate does it: move the log away, USR1, and the next request is in a new file
      renameSync(join(logs, 'access.log'), join(logs, 'access.log.1'));
      await sh(ENGINE, ['kill', '-s', 'USR1', n]);
      await sleep(500);
      await code('/large.txt', '200 65536');
      await sleep(200);
      const fresh = existsSync(join(logs, 'access.log'))
        ? readFileSync(join(logs, 'access.log'), 'utf8')
        : '';
      steps.push(
        step(
          'SIGUSR1 reopens the access log',
          /"GET \/large.txt HTTP\/1.1" 200 65536/.test(fresh),
          fresh || 'no new access.log',
        ),
      );
      return { steps, throughput: rps, unit: 'requests/s (wrk, 2 threads, 16 connections)' };
    },
    stop: async (n) => await sh(ENGINE, ['kill', '-s', 'QUIT', n]),
  },
  redis: {
    user: 'redis',
    runArgs: ['redis-server', '/etc/sysfence/redis.conf'],
    ready: async (n) => (await drv(n, ['redis-cli', 'ping'])).stdout.trim() === 'PONG',
    async drive(n, { requests }) {
      const steps = [];
      const b = await drv(n, ['redis-benchmark', '--csv', '-n', String(requests)]);
      const rows = b.stdout
        .split('\n')
        .slice(1)
        .filter((l) => l.startsWith('"'))
        .map((l) => l.split('","').map((f) => f.replaceAll('"', '')));
      const rps = rows.map((r) => Number(r[1]));
      const geomean = rps.length ? Math.exp(rps.reduce((s, x) => s + Math.log(x), 0) / rps.length) : 0;
      // redis-benchmark's default tests (7.0): PING_INLINE ... MSET, 20 of them
      steps.push(
        step(
          'redis-benchmark (all default tests)',
          b.status === 0 && rows.length === 20 && rps.every((x) => x > 0) && b.stderr.trim() === '',
          `${rows.length} tests, geometric mean ${geomean.toFixed(0)}/s${b.stderr ? `; ${b.stderr}` : ''}`,
        ),
      );
      const info = async (field) =>
        new RegExp(`^${field}:(\\S+)`, 'm').exec(
          (await drv(n, ['redis-cli', 'INFO', 'persistence'])).stdout,
        )?.[1];
      const bg = async (cmd, reply, progress, status) => {
        const r = await drv(n, ['redis-cli', cmd]);
        await until(`${cmd} to finish`, async () => (await info(progress)) === '0');
        steps.push(
          step(
            cmd,
            r.stdout.trim() === reply && (await info(status)) === 'ok',
            `${r.stdout.trim()}; ${status}:${await info(status)}`,
          ),
        );
      };
      await bg('BGSAVE', 'Background saving started', 'rdb_bgsave_in_progress', 'rdb_last_bgsave_status');
      await bg(
        'BGREWRITEAOF',
        'Background append only file rewriting started',
        'aof_rewrite_in_progress',
        'aof_last_bgrewrite_status',
      );
      return {
        steps,
        throughput: geomean,
        unit: 'requests/s (redis-benchmark, geometric mean of its tests)',
      };
    },
    stop: async (n) => await drv(n, ['redis-cli', 'SHUTDOWN', 'SAVE']),
  },
  postgres: {
    user: 'postgres',
    runArgs: [
      `${PG}/postgres`,
      '-D',
      '/var/lib/postgresql/data',
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=/tmp',
    ],
    ready: async (n) => (await drv(n, [`${PG}/pg_isready`, '-q', '-h', '127.0.0.1'])).status === 0,
    async drive(n, { seconds }) {
      const steps = [];
      const init = await drv(n, [
        `${PG}/pgbench`,
        '-h',
        '127.0.0.1',
        '-U',
        'postgres',
        '-i',
        '-s',
        '2',
        '-q',
        'postgres',
      ]);
      steps.push(step('pgbench -i', init.status === 0, init.stderr.split('\n').at(-2)));
      const run = await drv(n, [
        `${PG}/pgbench`,
        '-h',
        '127.0.0.1',
        '-U',
        'postgres',
        '-c',
        '4',
        '-j',
        '2',
        '-T',
        String(seconds),
        'postgres',
      ]);
      const tps = Number(/tps = ([\d.]+)/.exec(run.stdout)?.[1] ?? 0);
      const failed = /number of failed transactions: (\d+)/.exec(run.stdout)?.[1];
      steps.push(
        step(
          'pgbench (TPC-B, 4 clients)',
          run.status === 0 && tps > 0 && failed === '0',
          `tps ${tps}, failed ${failed}`,
        ),
      );
      const psql = async (sql, want) => {
        const r = await drv(n, [`${PG}/psql`, '-h', '127.0.0.1', '-U', 'postgres', '-XAtc', sql, 'postgres']);
        steps.push(step(sql, r.status === 0 && r.stdout.trim() === want, r.stdout || r.stderr));
      };
      await psql('CHECKPOINT', 'CHECKPOINT');
      await psql('VACUUM ANALYZE', 'VACUUM');
      await psql('SELECT pg_reload_conf()', 't');
      await psql('SELECT count(*) > 0 FROM pgbench_history', 't');
      return { steps, throughput: tps, unit: 'transactions/s (pgbench TPC-B, 4 clients)' };
    },
    // smart shutdown (SIGTERM): the server checkpoints and exits 0
    stop: async (n) => await sh(ENGINE, ['kill', '-s', 'TERM', n]),
  },
};

/**
 * One pass of one workload in one mode:
 *  record  - `sysfence record --docker -o DIR/NAME.json` (profile, recording, SPO, securityContext)
 *  profile - `sysfence run --docker --profile DIR/NAME.json` (denials in DIR/NAME.run.json)
 *  kill    - the same with `--default-action kill`
 *  enforce - plain `docker run --security-opt seccomp=DIR/NAME.json`: the profile's own cost, with
 *            nothing observing (profile and kill trace the container with eBPF to see denials)
 *  default - plain `docker run` (Docker's default profile): the baseline
 *
 * @param {string} workload
 * @param {string} mode
 * @param {{ dir?: string, seconds?: number, requests?: number }} [options]
 */
export async function pass(workload, mode, { dir, seconds = 5, requests = 20000 } = {}) {
  const w = WORKLOADS[workload];
  const name = `sysfence-eval-${workload}-${mode}-${process.pid}`;
  const profile = join(dir, `${workload}.json`);
  const report = join(dir, `${workload}.${mode}.run.json`);
  const logs = mkdtempSync(join(dir, `${workload}-${mode}-logs-`));
  chmodSync(logs, 0o755); // nginx's workers (www-data) reopen the logs in it
  const run = [
    '--name',
    name,
    '--network',
    'none',
    ...(w.user ? ['--user', w.user] : []),
    ...(w.mounts ? w.mounts(logs) : []),
    IMAGE,
    ...w.runArgs,
  ];
  const argv = {
    record: [
      cli,
      'record',
      `--${ENGINE}`,
      '--kubernetes',
      '-o',
      profile,
      '--recording',
      join(dir, `${workload}.recording.json`),
      '--',
      ...run,
    ],
    profile: [cli, 'run', `--${ENGINE}`, '--profile', profile, '--report', report, '--', ...run],
    kill: [
      cli,
      'run',
      `--${ENGINE}`,
      '--profile',
      profile,
      '--default-action',
      'kill',
      '--report',
      report,
      '--',
      ...run,
    ],
    default: null,
    enforce: null,
  }[mode];
  if (argv === undefined) throw new Error(`unknown mode ${mode}`);
  await sh(ENGINE, ['rm', '-f', name, `${name}-drv`], { allowFail: true });
  const started = Date.now();
  const child = argv
    ? spawn('node', argv, { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(
        ENGINE,
        ['run', ...(mode === 'enforce' ? ['--security-opt', `seccomp=${profile}`] : []), ...run],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  let result;
  try {
    await until(
      `${name} to run`,
      async () =>
        child.exitCode !== null ||
        (
          await sh(ENGINE, ['inspect', '-f', '{{.State.Running}}', name], { allowFail: true })
        ).stdout.trim() === 'true',
      60_000,
    );
    if (child.exitCode !== null) throw new Error(`${mode} of ${workload} ended before it ran:\n${output}`);
    await sh(ENGINE, [
      'run',
      '-d',
      '--name',
      `${name}-drv`,
      '--network',
      `container:${name}`,
      IMAGE,
      'sleep',
      'infinity',
    ]);
    await until(`${workload} to answer`, () => w.ready(name), 60_000);
    const readyMs = Date.now() - started;
    const d = await w.drive(name, { seconds, requests, logs });
    await w.stop(name);
    const exit = await Promise.race([exited, sleep(60_000).then(() => ({ code: null, signal: 'timeout' }))]);
    d.steps.push(step('stops cleanly (exit 0)', exit.code === 0, JSON.stringify(exit)));
    result = { workload, mode, ...d, readyMs, wallMs: Date.now() - started, output };
    if (mode === 'profile' || mode === 'kill') result.run = JSON.parse(readFileSync(report, 'utf8'));
  } finally {
    await sh(ENGINE, ['rm', '-f', `${name}-drv`], { allowFail: true });
    if (child.exitCode === null) child.kill('SIGINT');
    await Promise.race([exited, sleep(20_000)]);
    await sh(ENGINE, ['rm', '-f', name], { allowFail: true });
  }
  return result;
}

/** The generated profile's size next to Docker's default, through sysfence's own `explain`. */
export async function sizes(dir, workload) {
  const { parseDockerProfile, explainProfile, referenceProfile, runtimeSet } = await import(
    join(root, 'dist', 'index.js')
  );
  const mine = parseDockerProfile(readFileSync(join(dir, `${workload}.json`), 'utf8')).profile;
  const [m] = explainProfile(mine, { arches: ['x86_64'] });
  const [d] = explainProfile(referenceProfile(`${ENGINE}-default`), { arches: ['x86_64'] });
  const rec = JSON.parse(readFileSync(join(dir, `${workload}.recording.json`), 'utf8'));
  const recorded = Object.keys(rec.syscalls?.x86_64 ?? {}).length;
  // calls static reach predicted are allowed and logged (SCMP_ACT_LOG): counted apart
  const json = JSON.parse(readFileSync(join(dir, `${workload}.json`), 'utf8'));
  const logged = new Set(
    (json.syscalls ?? [])
      .filter((r) => r.action === 'SCMP_ACT_LOG' && !r.args?.length)
      .flatMap((r) => r.names ?? []),
  ).size;
  return {
    allowed: m.allowed - logged,
    logged,
    dockerDefault: d.allowed,
    recorded,
    runtimeSet: runtimeSet(ENGINE).syscalls.length,
  };
}

export function newDir() {
  return mkdtempSync(join(tmpdir(), 'sysfence-eval-'));
}
