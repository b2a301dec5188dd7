#!/usr/bin/env node
// What a recording costs the rest of the machine (the other pods of a node): sysfence's recorder
// hangs on the raw sys_enter tracepoint, which runs for every task, and leaves at once for a task
// outside the recorded cgroup(s). A syscall loop (bench/syscall-cost.c, getppid, no filter) is
// timed outside any recording: alone, while `record -- sleep` records one command, and while
// `record --docker --select` watches every container cgroup (the mode `--containerd --select` uses
// for a node's pods). Median of REPS short runs each, interleaved (this VM's timings wander).
//
// Needs root, gcc, eBPF, a running Docker engine for the --select row, and a built dist/.
// Usage: node bench/bystander.mjs   (REPS=9, ITER=2000000 by environment)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const REPS = Number(process.env.REPS ?? 9);
const ITER = Number(process.env.ITER ?? 2000000);
const dir = mkdtempSync(join(tmpdir(), 'sysfence-bench-bystander-'));
const loop = join(dir, 'cost');
execFileSync('gcc', ['-O2', '-o', loop, join(root, 'bench', 'syscall-cost.c')]);
const ns = () => Number(execFileSync(loop, ['none', String(ITER), '110'], { encoding: 'utf8' }).trim());

/** Starts a recorder and waits until it says it records (its eBPF program attached). */
async function recorder(args, ready) {
  const child = spawn('node', [cli, ...args], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let err = '';
  await new Promise((resolve, reject) => {
    child.stderr.setEncoding('utf8').on('data', (d) => {
      err += d;
      if (ready.test(err)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`recorder exited ${code}: ${err}`)));
  });
  return () => {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
    return new Promise((r) => child.once('exit', r));
  };
}

const modes = {
  alone: async () => async () => {},
  'record -- sleep (one command)': () =>
    // the workload is started after the program is attached: the loop runs while it sleeps
    recorder(['record', '-o', join(dir, 'sleep.json'), '--', 'sleep', '30'], /./).then(async (stop) => {
      await new Promise((r) => setTimeout(r, 1500));
      return stop;
    }),
  'record --docker --select (every container cgroup)': () =>
    recorder(
      ['record', '--docker', '--select', 'sysfence.bench=none', '--duration', '60', '-o', join(dir, 'sel')],
      /recording every container/,
    ),
};
const results = Object.fromEntries(Object.keys(modes).map((k) => [k, []]));
const docker = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
for (let i = 0; i < REPS; i++)
  for (const [name, begin] of Object.entries(modes)) {
    if (name.includes('--docker') && !docker) continue;
    const stop = await begin();
    results[name].push(ns());
    await stop();
  }
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const base = median(results.alone);
console.log(
  `| a getppid loop outside the recording (${ITER} calls, median of ${REPS}) | ns per call | vs alone |`,
);
console.log('|---|---|---|');
for (const [name, xs] of Object.entries(results)) {
  if (xs.length === 0) {
    console.log(`| ${name} | (no Docker engine) | |`);
    continue;
  }
  console.log(`| ${name} | ${median(xs).toFixed(1)} | ${(median(xs) / base).toFixed(2)}x |`);
}
rmSync(dir, { recursive: true, force: true });
