#!/usr/bin/env node
// Recording overhead, in one run: untraced vs two floors (an empty program on the raw sys_enter
// tracepoint, loaded by sysfence's loader: the mechanism sysfence's recorder uses; and an empty
// bpftrace program on tracepoint:raw_syscalls:sys_enter) vs sysfence's own eBPF recorder vs the
// bpftrace recorder (--backend bpftrace) vs the strace backend vs `strace -f -o FILE`. Workloads
// (bench/record-workload.c) time their own work, so start-up is reported apart, and measured on
// its own: `record -- /bin/true` end to end against `/bin/true`, median of STARTUP_REPS.
//
// This VM's timings wander by +-30% from run to run (other guests), so the eBPF variants run REPS
// times (short runs) and the table shows the median and the minimum ratio (interference only adds
// time, so the minimum is the steadier estimate of the mechanism's cost); the slow ptrace variants
// run STRACE_REPS times.
//
// Needs root, gcc, bpftrace, strace, and a built dist/. Usage: node bench/record.mjs
// (REPS=21, STRACE_REPS=5, CALLS=300000, FORKS=1000, THREADS=4 by environment)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const REPS = Number(process.env.REPS ?? 21);
const STRACE_REPS = Number(process.env.STRACE_REPS ?? 5);
const CALLS = Number(process.env.CALLS ?? 300000);
const FORKS = Number(process.env.FORKS ?? 500);
const STARTUP_REPS = Number(process.env.STARTUP_REPS ?? 11);
const THREADS = Number(process.env.THREADS ?? 4);
const dir = mkdtempSync(join(tmpdir(), 'sysfence-bench-rec-'));
const bin = join(dir, 'w');
execFileSync('gcc', ['-O2', '-pthread', '-o', bin, join(root, 'bench', 'record-workload.c')]);

const workloads = {
  [`${CALLS} getppid`]: ['calls', String(CALLS)],
  [`${THREADS} threads x ${CALLS / THREADS} getppid`]: ['threads', String(CALLS / THREADS), String(THREADS)],
  [`${FORKS} forks`]: ['forks', String(FORKS)],
};

/** A bpftrace program running in the background for the whole measurement of one variant. */
async function withBpftrace(program, fn) {
  const t = spawn('bpftrace', ['-e', `BEGIN { printf("READY\\n"); } ${program}`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise((res) => {
    let out = '';
    t.stdout.on('data', (d) => {
      out += d;
      if (out.includes('READY')) res();
    });
  });
  try {
    return fn();
  } finally {
    // bpftrace sometimes does not act on a SIGINT that comes right after it attached: repeat it
    const exited = new Promise((res) => t.on('exit', res));
    for (let i = 0; i < 15 && t.exitCode === null && t.signalCode === null; i++) {
      t.kill('SIGINT');
      await Promise.race([exited, new Promise((res) => setTimeout(res, 2000))]);
    }
  }
}

/** An empty program on the raw sys_enter tracepoint, held by sysfence's Perl loader. */
async function withEmptyRawTracepoint(fn) {
  const { LOADER_PERL } = await import(join(root, 'dist', 'ebpf', 'loader-perl.js'));
  const t = spawn('perl', ['-e', LOADER_PERL, 'bench-floor'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const ready = new Promise((res, rej) => {
    t.stdout.on('data', (d) => {
      out += d;
      if (out.includes('ready')) res();
      if (out.includes('error')) rej(new Error(out));
    });
  });
  // x86_64 numbers: bpf, perf_event_open, ioctl, prctl, close; r0 = 0; exit
  t.stdin.write('sys 321 298 16 157 3\nprog 17 raw:sys_enter floor b7000000000000009500000000000000\ngo\n');
  await ready;
  try {
    return fn();
  } finally {
    t.stdin.end('quit\n');
    await new Promise((res) => t.on('exit', res));
  }
}

function ns(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  const attached = /attached in (\d+) ms/.exec(r.stderr);
  return { ns: Number(lines[lines.length - 1]), startupMs: attached ? Number(attached[1]) : undefined };
}

const variants = {
  untraced: async (w) => ns(bin, w),
  'empty raw tp (floor)': (w) => withEmptyRawTracepoint(() => ns(bin, w)),
  'bpftrace empty tp': (w) => withBpftrace('tracepoint:raw_syscalls:sys_enter { }', () => ns(bin, w)),
  'sysfence record (eBPF)': async (w) => ns('node', [cli, 'record', '--backend', 'ebpf', '--', bin, ...w]),
  'sysfence record (bpftrace)': async (w) =>
    ns('node', [cli, 'record', '--backend', 'bpftrace', '--', bin, ...w]),
  'sysfence record (strace)': async (w) =>
    ns('node', [cli, 'record', '--backend', 'strace', '--', bin, ...w]),
  'strace -f -o FILE': async (w) => ns('strace', ['-f', '-o', join(dir, 'strace.log'), bin, ...w]),
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = {};
const startups = {};
for (const [wname, w] of Object.entries(workloads)) {
  results[wname] = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
  for (let rep = 0; rep < REPS; rep++)
    for (const [vname, run] of Object.entries(variants)) {
      if (vname.includes('strace') && rep >= STRACE_REPS) continue;
      const r = await run(w);
      results[wname][vname].push(r.ns);
      if (r.startupMs !== undefined) {
        startups[vname] ??= [];
        startups[vname].push(r.startupMs);
      }
    }
}

const min = (xs) => Math.min(...xs);
console.log(
  `Recording overhead: workload's own wall time, ratio to untraced as median / minimum of alternating runs (${REPS} runs; strace variants ${STRACE_REPS})\n`,
);
const names = Object.keys(variants);
console.log(`| workload | ${names.join(' | ')} | eBPF / raw floor | eBPF / bpftrace floor |`);
console.log(`|---|${names.map(() => '---').join('|')}|---|---|`);
for (const [wname, byVariant] of Object.entries(results)) {
  const base = byVariant.untraced;
  const cells = names.map((v) =>
    v === 'untraced'
      ? `${(median(base) / 1e6).toFixed(1)} ms`
      : `${(median(byVariant[v]) / median(base)).toFixed(2)}x / ${(min(byVariant[v]) / min(base)).toFixed(2)}x`,
  );
  const raw = byVariant['empty raw tp (floor)'];
  const floor = byVariant['bpftrace empty tp'];
  const ours = byVariant['sysfence record (eBPF)'];
  console.log(
    `| ${wname} | ${cells.join(' | ')} | ${(median(ours) / median(raw)).toFixed(2)} / ${(min(ours) / min(raw)).toFixed(2)} | ${(median(ours) / median(floor)).toFixed(2)} / ${(min(ours) / min(floor)).toFixed(2)} |`,
  );
}

// start-up, end to end: the whole `sysfence record` of a command that does nothing
const wall = (cmd, args) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const start = { untraced: [], ebpf: [], bpftrace: [], strace: [] };
for (let i = 0; i < STARTUP_REPS; i++) {
  start.untraced.push(wall('/bin/true', []));
  for (const b of ['ebpf', 'bpftrace', 'strace'])
    start[b].push(
      wall('node', [cli, 'record', '--backend', b, '--recording', join(dir, 'true.json'), '--', '/bin/true']),
    );
}
console.log(
  `\nStart-up: \`sysfence record -- /bin/true\` end to end, median of ${STARTUP_REPS} (spread min-max)`,
);
console.log('| | median | min - max | more than untraced |');
console.log('|---|---|---|---|');
for (const [k, xs] of Object.entries(start))
  console.log(
    `| ${k} | ${median(xs).toFixed(0)} ms | ${Math.min(...xs).toFixed(0)} - ${Math.max(...xs).toFixed(0)} ms | ${(median(xs) - median(start.untraced)).toFixed(0)} ms |`,
  );
rmSync(dir, { recursive: true, force: true });
for (const [v, xs] of Object.entries(startups))
  console.log(
    `attach (tracer started to every program attached), ${v}: median ${median(xs)} ms over ${xs.length} runs`,
  );
