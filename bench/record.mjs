#!/usr/bin/env node
// Recording overhead, in one run: untraced vs an empty bpftrace program on raw_syscalls:sys_enter
// (the floor of the mechanism) vs a plain bpftrace count map vs sysfence's eBPF backend vs
// sysfence's strace backend vs the seeds' `strace -f -o FILE`. Workloads (bench/record-workload.c)
// time their own work, so tracer start-up is reported apart. Runs alternate; medians of REPS.
//
// Needs root, gcc, bpftrace, strace, and a built dist/. Usage: node bench/record.mjs
// (REPS=5, CALLS=500000, FORKS=2000, THREADS=4 by environment)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const REPS = Number(process.env.REPS ?? 5);
const CALLS = Number(process.env.CALLS ?? 500000);
const FORKS = Number(process.env.FORKS ?? 2000);
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
    t.kill('SIGINT');
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
  'bpftrace empty (floor)': (w) => withBpftrace('tracepoint:raw_syscalls:sys_enter { }', () => ns(bin, w)),
  'bpftrace @[args->id] = count()': (w) =>
    withBpftrace('tracepoint:raw_syscalls:sys_enter { @[args->id] = count(); }', () => ns(bin, w)),
  'sysfence record (eBPF)': async (w) => ns('node', [cli, 'record', '--backend', 'ebpf', '--', bin, ...w]),
  'sysfence record (strace)': async (w) =>
    ns('node', [cli, 'record', '--backend', 'strace', '--', bin, ...w]),
  'strace -f -o FILE': async (w) => ns('strace', ['-f', '-o', join(dir, 'strace.log'), bin, ...w]),
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const results = {};
const startups = [];
for (const [wname, w] of Object.entries(workloads)) {
  results[wname] = Object.fromEntries(Object.keys(variants).map((v) => [v, []]));
  for (let rep = 0; rep < REPS; rep++)
    for (const [vname, run] of Object.entries(variants)) {
      const r = await run(w);
      results[wname][vname].push(r.ns);
      if (r.startupMs !== undefined) startups.push(r.startupMs);
    }
}
rmSync(dir, { recursive: true, force: true });

console.log(`Recording overhead: medians of ${REPS} alternating runs (workload's own wall time)\n`);
const names = Object.keys(variants);
console.log(`| workload | ${names.join(' | ')} | eBPF backend / floor |`);
console.log(`|---|${names.map(() => '---').join('|')}|---|`);
for (const [wname, byVariant] of Object.entries(results)) {
  const base = median(byVariant.untraced);
  const cells = names.map((v) => {
    const m = median(byVariant[v]);
    return v === 'untraced' ? `${(m / 1e6).toFixed(1)} ms` : `${(m / base).toFixed(2)}x`;
  });
  const floor = median(byVariant['bpftrace empty (floor)']);
  const ours = median(byVariant['sysfence record (eBPF)']);
  console.log(`| ${wname} | ${cells.join(' | ')} | ${(ours / floor).toFixed(2)} |`);
}
console.log(
  `\nbpftrace start-up (spawn to every probe attached), sysfence eBPF backend: median ${median(startups)} ms over ${startups.length} runs`,
);
