#!/usr/bin/env node
// bench/compile: sysfence's compiler against libseccomp 2.5.4 (Debian's, through its Python
// binding) on Docker's default profile, in one run. Prints a table of ratios; with --write it also
// rewrites docs/compiler-benchmark.md. Needs `npm run build`, gcc and python3-seccomp.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const lib = (p) => import(join(root, 'dist', p));
const { parseDockerProfile, resolve, buildPolicy, syscallTable } = await lib('index.js');
const { compile } = await lib('compiler/compile.js');
const { emulate } = await lib('bpf/emulate.js');
const { encode } = await lib('bpf/encode.js');
const { buildWithLibseccomp } = await lib('targets/oracle.js');
const { retValue } = await lib('compiler/ret.js');
const { toAction } = await lib('profile/actions.js');
const { findArch: archOf } = await lib('arch/tables.js');

const text = readFileSync(join(root, 'data', 'profiles', 'docker-default.json'), 'utf8');
const docker = parseDockerProfile(text).profile;
const full = resolve(docker, { arch: 'x86_64', kernelVersion: '6.1' });
const variants = [
  ['x86_64', { ...full, architectures: ['SCMP_ARCH_X86_64'] }],
  ['x86_64+x86+x32', full],
];
const opts = { nativeArch: 'x86_64' };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = [];
const dir = mkdtempSync(join(tmpdir(), 'sysfence-bench-'));
execFileSync('gcc', ['-O2', '-o', join(dir, 'cost'), join(root, 'bench', 'syscall-cost.c')]);
// libseccomp's own compile time in C (needs libseccomp-dev); without it, the Python binding's
let haveC = true;
try {
  execFileSync(
    'gcc',
    ['-O2', '-o', join(dir, 'lsc'), join(root, 'bench', 'libseccomp-compile.c'), '-lseccomp'],
    { stdio: 'ignore' },
  );
} catch {
  haveC = false;
}
const OPS = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};
/** The rule list runc hands libseccomp for a resolved profile (rules equal to the default dropped, repeated indices split). */
function runcRules(profile) {
  const def = retValue(toAction(profile.defaultAction, profile.defaultErrnoRet));
  const lines = [`default ${def}`];
  for (const a of profile.architectures ?? []) lines.push(`arch ${archOf(a).auditArch}`);
  for (const r of profile.syscalls ?? []) {
    const act = retValue(toAction(r.action, r.errnoRet));
    if (act === def) continue;
    const args = r.args ?? [];
    const idx = args.map((a) => a.index);
    const pieces = new Set(idx).size < idx.length ? args.map((a) => [a]) : [args];
    for (const name of r.names ?? [])
      for (const piece of pieces)
        lines.push(
          `rule ${act} ${name} ${piece.length} ${piece.map((a) => `${a.index} ${OPS[a.op]} ${a.value} ${a.op === 'SCMP_CMP_MASKED_EQ' ? (a.valueTwo ?? 0n) : 0n}`).join(' ')}`,
        );
  }
  return `${lines.join('\n')}\n`;
}

for (const [label, profile] of variants) {
  // programs
  const ours = compile(profile, opts).instructions;
  const built = buildWithLibseccomp([
    { profile, optimize: 1 },
    { profile, optimize: 2 },
  ]);
  const [linear, tree] = built.results.map((r) => r.program);
  // instructions executed per syscall number (all numbers of every ABI, zero arguments)
  const policy = buildPolicy(profile, opts);
  const stats = (prog) => {
    const steps = [];
    let allowed = 0;
    let cacheable = 0;
    for (const a of policy.arches) {
      const t = syscallTable(a);
      for (const [name, nr] of t.entries) {
        if (t.name(nr) !== name) continue;
        const e = emulate(prog, { nr, arch: a.auditArch, args: [] });
        steps.push(e.steps);
        const s = policy.byArch.get(a.id).syscalls.get(nr);
        if (s?.unconditional?.action.kind === 'ALLOW') {
          allowed++;
          if (e.loads.every((o) => o === 0 || o === 4)) cacheable++;
        }
      }
    }
    return {
      mean: steps.reduce((x, y) => x + y, 0) / steps.length,
      max: Math.max(...steps),
      cacheable: cacheable / allowed,
    };
  };
  // compile time in-process: sysfence from the resolved profile (policy + code), libseccomp build + export
  const times = [];
  for (let i = 0; i < 30; i++) compile({ ...profile }, opts);
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    for (let j = 0; j < 50; j++) compile({ ...profile }, opts);
    times.push((performance.now() - t0) / 50);
  }
  const ourMs = median(times);
  const libPyMs =
    median(
      Array.from(
        { length: 5 },
        () => buildWithLibseccomp([{ profile, optimize: 1, repeat: 50 }]).results[0].seconds,
      ),
    ) * 1000;
  const libMs = haveC
    ? median(
        Array.from({ length: 5 }, () =>
          Number(execFileSync(join(dir, 'lsc'), ['200'], { input: runcRules(profile), encoding: 'utf8' })),
        ),
      )
    : libPyMs;
  const libTreeMs =
    median(
      Array.from(
        { length: 5 },
        () => buildWithLibseccomp([{ profile, optimize: 2, repeat: 50 }]).results[0].seconds,
      ),
    ) * 1000;
  // kernel cost, ns per call, alternating runs, medians
  const files = { sysfence: ours, 'libseccomp linear': linear, 'libseccomp tree': tree };
  for (const [k, p] of Object.entries(files))
    writeFileSync(join(dir, `${k.replace(' ', '-')}-${label}.bpf`), encode(p));
  const probes = [
    ['personality(0xffffffff) (argument rule: never cached)', ['135', '0xffffffff']],
    ['syslog(10) (denied: never cached)', ['103', '10']],
    ['getppid (allowed: cached since 5.11)', ['110']],
  ];
  const kernel = {};
  for (const [pname, args] of probes) {
    const samples = { none: [], sysfence: [], 'libseccomp linear': [], 'libseccomp tree': [] };
    for (let round = 0; round < 5; round++)
      for (const k of Object.keys(samples)) {
        const f = k === 'none' ? 'none' : join(dir, `${k.replace(' ', '-')}-${label}.bpf`);
        samples[k].push(
          Number(execFileSync(join(dir, 'cost'), [f, '300000', ...args], { encoding: 'utf8' })),
        );
      }
    kernel[pname] = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  }
  rows.push({
    label,
    sizes: { sysfence: ours.length, linear: linear.length, tree: tree.length },
    stats: { sysfence: stats(ours), linear: stats(linear), tree: stats(tree) },
    ourMs,
    libMs,
    libPyMs,
    libTreeMs,
    kernel,
    version: built.version,
  });
}

const f1 = (x) => x.toFixed(1);
const lines = [];
lines.push(`# Compiler benchmark: sysfence vs libseccomp ${rows[0].version}`);
lines.push('');
lines.push(
  `Docker's default profile resolved for an x86_64 host (default capabilities, kernel 6.1). Generated by`,
);
lines.push(
  '`node bench/compile.mjs --write` on a 2-core VM; rerun to refresh. Instructions executed are counted by',
);
lines.push("sysfence's emulator over every syscall number of every ABI in the filter, with zero arguments.");
lines.push('');
for (const r of rows) {
  lines.push(`## ${r.label}`);
  lines.push('');
  lines.push('| measure | sysfence | libseccomp linear | libseccomp tree (CTL_OPTIMIZE=2) |');
  lines.push('|---|---|---|---|');
  lines.push(`| program length (instructions) | ${r.sizes.sysfence} | ${r.sizes.linear} | ${r.sizes.tree} |`);
  lines.push(
    `| instructions executed per syscall, mean | ${f1(r.stats.sysfence.mean)} | ${f1(r.stats.linear.mean)} | ${f1(r.stats.tree.mean)} |`,
  );
  lines.push(
    `| instructions executed per syscall, max | ${r.stats.sysfence.max} | ${r.stats.linear.max} | ${r.stats.tree.max} |`,
  );
  lines.push(
    `| unconditional allows the kernel can cache | ${f1(r.stats.sysfence.cacheable * 100)}% | ${f1(r.stats.linear.cacheable * 100)}% | ${f1(r.stats.tree.cacheable * 100)}% |`,
  );
  lines.push(
    `| compile time in-process, ms (libseccomp ${haveC ? 'in C, build + export' : 'through Python'}) | ${r.ourMs.toFixed(3)} | ${r.libMs.toFixed(3)} (${f1(r.libMs / r.ourMs)}x ours) | - |`,
  );
  lines.push(
    `| compile time through libseccomp's Python binding, ms | - | ${r.libPyMs.toFixed(3)} | ${r.libTreeMs.toFixed(3)} |`,
  );
  for (const [p, v] of Object.entries(r.kernel))
    lines.push(
      `| kernel ns/call, ${p}; no filter ${f1(v.none)} ns | ${f1(v.sysfence)} (${(v.sysfence / v.none).toFixed(2)}x) | ${f1(v['libseccomp linear'])} (${(v['libseccomp linear'] / v.none).toFixed(2)}x) | ${f1(v['libseccomp tree'])} (${(v['libseccomp tree'] / v.none).toFixed(2)}x) |`,
    );
  lines.push('');
}
const md = `${lines.join('\n')}\n`;
process.stdout.write(md);
if (process.argv.includes('--write')) writeFileSync(join(root, 'docs', 'compiler-benchmark.md'), md);
