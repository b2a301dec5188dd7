#!/usr/bin/env node
// Static reach, in one run, against its anchors:
// 1. time: `sysfence reach PROGRAM` cold (empty cache), with tables cached, and with its result kept, next
//    to `ldd PROGRAM` (the loader's own resolution, the cheapest "what does it load") and to
//    `objdump -d` of the same libc (a disassembler; reach decodes libc once, then reads its table);
// 2. the cost of the default for predicted calls (SCMP_ACT_LOG): one system call in a loop with no
//    filter, under a filter whose rule ALLOWs it, and under one whose rule LOGs it, in nanoseconds
//    per call (bench/syscall-cost.c), and how many kernel log lines the LOG run left (the audit
//    path rate-limits printk: the rest is counted as lost).
// 3. a whole image (IMAGE, default the real-workload one): every program, cold and kept.
// Needs root (dmesg), gcc, binutils (objdump) and a built dist/. Usage: node bench/reach.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'sysfence-bench-reach-'));
const PROGRAMS = (
  process.env.PROGRAMS ?? '/bin/true,/usr/bin/tar,/usr/bin/jq,/usr/bin/git,/usr/bin/python3.11'
).split(',');

function timed(cmd, args, env = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0 && r.status !== 1) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return { ms, out: r.stdout };
}

// warm: the program's result kept (a second reach of the same files); tables: its modules'
// tables kept but not its result (a new program on a machine whose libraries were analysed);
// node: the runtime's own start (`node -e 0`), which every command pays
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const REPS = Number(process.env.REPS ?? 5);
const nodeMs = median(Array.from({ length: REPS }, () => timed('node', ['-e', '0']).ms));
console.log(
  `node -e 0 (the runtime's start, in every figure below): ${nodeMs.toFixed(0)} ms (median of ${REPS})\n`,
);
console.log(
  '| program | reach cold (ms) | tables cached (ms) | result cached (ms) | ldd (ms) | cold / ldd | cached / ldd | calls reachable |',
);
console.log('|---|---|---|---|---|---|---|---|');
for (const p of PROGRAMS) {
  const cache = join(dir, `cache-${Math.random().toString(36).slice(2)}`);
  const env = { SYSFENCE_CACHE_DIR: cache };
  const cold = timed('node', [cli, 'reach', p], env);
  const dropResults = () => {
    for (const f of readdirSync(join(cache, 'reach')))
      if (f.startsWith('p-')) rmSync(join(cache, 'reach', f));
  };
  const tables = median(
    Array.from({ length: REPS }, () => {
      dropResults();
      return timed('node', [cli, 'reach', p], env).ms;
    }),
  );
  timed('node', [cli, 'reach', p], env);
  const warm = median(Array.from({ length: REPS }, () => timed('node', [cli, 'reach', p], env).ms));
  const ldd = median(Array.from({ length: REPS }, () => timed('ldd', [p]).ms));
  const n = /(\d+) system calls reachable/.exec(cold.out)?.[1] ?? '?';
  console.log(
    `| ${p} | ${cold.ms.toFixed(0)} | ${tables.toFixed(0)} | ${warm.toFixed(0)} | ${ldd.toFixed(0)} | ${(cold.ms / ldd).toFixed(1)}x | ${(warm / ldd).toFixed(1)}x | ${n} |`,
  );
}
// a whole image: every program of it (IMAGE, when the Docker engine has it), cold and with its
// tables and results kept
const IMAGE = process.env.IMAGE ?? 'sysfence/servers:bookworm-1';
if (spawnSync('docker', ['image', 'inspect', IMAGE], { stdio: 'ignore' }).status === 0) {
  const env = { SYSFENCE_CACHE_DIR: join(dir, 'image-cache') };
  const cold = timed('node', [cli, 'reach', '--image', IMAGE, '--all'], env);
  const warm = timed('node', [cli, 'reach', '--image', IMAGE, '--all'], env);
  const programs = /(\d+) programs: (\d+) system calls/.exec(cold.out);
  console.log(
    `\nreach --image ${IMAGE} --all: ${programs?.[1] ?? '?'} programs, ${programs?.[2] ?? '?'} calls in all; cold ${(cold.ms / 1000).toFixed(1)} s, kept ${(warm.ms / 1000).toFixed(1)} s (${(warm.ms / Number(programs?.[1] ?? 1)).toFixed(0)} ms a program, the image's export included)`,
  );
} else console.log(`\n(no image ${IMAGE} in the Docker engine: the whole-image row is left out)`);

const libc = '/usr/lib/x86_64-linux-gnu/libc.so.6';
const obj = timed('objdump', ['-d', libc]);
const libcCold = timed('node', [cli, 'reach', '/bin/true'], { SYSFENCE_CACHE_DIR: join(dir, 'libc-only') });
console.log(
  `\nobjdump -d libc.so.6: ${obj.ms.toFixed(0)} ms (text only, no analysis); reach /bin/true cold (decodes and analyses libc, ld.so and true): ${libcCold.ms.toFixed(0)} ms (${(libcCold.ms / obj.ms).toFixed(2)}x)`,
);

// the cost of SCMP_ACT_LOG
execFileSync('gcc', ['-O2', '-o', join(dir, 'cost'), join(root, 'bench', 'syscall-cost.c')]);
const NR = 110; // getppid on x86_64
const ITER = Number(process.env.ITER ?? 200000);
const profile = (action) => ({
  defaultAction: 'SCMP_ACT_ALLOW',
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [
    { names: ['getppid'], action },
    { names: ['mount'], action: 'SCMP_ACT_ERRNO' },
  ],
});
const costs = {};
for (const [label, action] of [
  ['allow', 'SCMP_ACT_ALLOW'],
  ['log', 'SCMP_ACT_LOG'],
]) {
  writeFileSync(join(dir, `${label}.json`), JSON.stringify(profile(action)));
  execFileSync('node', [
    cli,
    'compile',
    join(dir, `${label}.json`),
    '--format',
    'raw',
    '-o',
    join(dir, `${label}.bpf`),
  ]);
}
const logLines = () =>
  spawnSync('dmesg', [], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter((l) => /type=1326/.test(l) && / syscall=110 /.test(l)).length;
const before = logLines();
for (const label of ['none', 'allow', 'log']) {
  const filter = label === 'none' ? 'none' : join(dir, `${label}.bpf`);
  const runs = [1, 2, 3].map(() =>
    Number(execFileSync(join(dir, 'cost'), [filter, String(ITER), String(NR)], { encoding: 'utf8' }).trim()),
  );
  costs[label] = Math.min(...runs);
}
const after = logLines();
console.log(
  `\ngetppid x ${ITER}: no filter ${costs.none.toFixed(0)} ns/call, ALLOW rule ${costs.allow.toFixed(0)} ns (${(costs.allow / costs.none).toFixed(2)}x), LOG rule ${costs.log.toFixed(0)} ns (${(costs.log / costs.none).toFixed(2)}x none, ${(costs.log / costs.allow).toFixed(2)}x ALLOW); kernel log lines left by ${3 * ITER} logged calls: ${after - before} (the audit path rate-limits printk)`,
);
rmSync(dir, { recursive: true, force: true });
