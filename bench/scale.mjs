#!/usr/bin/env node
// bench/scale: profiles of 1,000 to 100,000 rules through validate, resolve and compile (sysfence's
// filter) and libseccomp's model, each in a fresh process so that the peak memory (max RSS) is the
// step's own; libseccomp itself (python3-seccomp, the anchor) builds the same profiles in the same
// run. Goal: 100,000 rules validate, resolve and compile in < 5 s and < 500 MB.
//   npm run build && node bench/scale.mjs [--sizes 1000,10000,100000]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const arg = process.argv.indexOf('--sizes');
const sizes = arg > 0 ? process.argv[arg + 1].split(',').map(Number) : [1000, 10000, 100000];
const dir = mkdtempSync(join(tmpdir(), 'sysfence-scale-'));
const { syscallTable } = await import(join(root, 'dist', 'index.js'));
/** Names with argument rules; every other x86_64 name gets unconditional rules. */
const ARG_NAMES = [
  'ioctl',
  'fcntl',
  'socket',
  'prctl',
  'mmap',
  'kill',
  'clone',
  'setsockopt',
  'getsockopt',
  'madvise',
];
const OTHERS = syscallTable('x86_64')
  .entries.map(([n]) => n)
  .filter((n) => !ARG_NAMES.includes(n));

/**
 * A profile of n rules as big generated ones are: a tenth unconditional allows of 4 names each (the
 * table's names, over and over), the rest argument rules (one EQ value each, on ten syscalls, 150
 * values each, repeated).
 */
function profileText(n) {
  const rules = [];
  for (let i = 0; i < n; i++) {
    if (i % 10 === 0)
      rules.push({
        names: [0, 1, 2, 3].map((k) => OTHERS[(i / 10 + k * 97) % OTHERS.length]),
        action: 'SCMP_ACT_ALLOW',
      });
    else
      rules.push({
        names: [ARG_NAMES[i % ARG_NAMES.length]],
        action: 'SCMP_ACT_ALLOW',
        // 150 values per syscall, over and over (a profile the kernel's 4,096 instructions hold)
        args: [{ index: 1, value: ((i * 7919) % 150) * 3 + 1, op: 'SCMP_CMP_EQ' }],
      });
  }
  return JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: rules,
  });
}

// one step in a fresh node, timed and measured there; prints "seconds maxRSS"
const STEP = `
const [file, step] = process.argv.slice(2);
const root = ${JSON.stringify(root)};
const m = (p) => import(root + '/dist/' + p);
const { readFileSync } = await import('node:fs');
const t0 = performance.now();
const { loadProfileText } = await m('profile/load.js');
const text = readFileSync(file, 'utf8');
const r = loadProfileText(text);
if (r.issues.some((i) => i.severity === 'error')) throw new Error('invalid: ' + r.issues[0].message);
let rules = r.profiles[0].profile.syscalls.length;
if (step !== 'validate') {
  const { resolve } = await m('profile/resolve.js');
  const p = resolve(r.profiles[0].profile, { arch: 'x86_64', kernelVersion: '6.1' });
  if (step === 'compile') {
    const { compile } = await m('compiler/compile.js');
    const c = compile(p, { nativeArch: 'x86_64' });
    rules = c.instructions.length;
  } else if (step === 'model') {
    const { buildLibseccompFilter } = await m('libseccomp/filter.js');
    const { modelProgram } = await m('libseccomp/run.js');
    const f = buildLibseccompFilter(p, { version: '2.5', native: 'x86_64' });
    rules = f.refused ? -1 : modelProgram(f).instructions.length;
  }
}
const s = (performance.now() - t0) / 1000;
const { readFileSync: rf } = await import('node:fs');
const hwm = /VmHWM:\\s+(\\d+) kB/.exec(rf('/proc/self/status', 'utf8'))[1];
console.log(s.toFixed(3), (Number(hwm) / 1024).toFixed(0), rules);
`;
writeFileSync(join(dir, 'step.mjs'), STEP);

function step(file, what) {
  const r = spawnSync('node', [join(dir, 'step.mjs'), file, what], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) return { error: r.stderr.trim().split('\n').slice(-1)[0] };
  const [s, mb, n] = r.stdout.trim().split(' ');
  return { s: Number(s), mb: Number(mb), n: Number(n) };
}

function libseccomp(file) {
  const py = `
import json, sys, time, resource, seccomp
p = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
f = seccomp.SyscallFilter(seccomp.ERRNO(38))
for r in p["syscalls"]:
    conds = [seccomp.Arg(a["index"], seccomp.EQ, int(a["value"])) for a in r.get("args", [])]
    for n in r["names"]:
        try:
            if seccomp.resolve_syscall(seccomp.Arch.NATIVE, n) == -1:
                continue
        except (ValueError, RuntimeError):
            continue  # as runc: names libseccomp does not know are skipped
        f.add_rule(seccomp.ALLOW, n, *conds)
import tempfile, os
fd, path = tempfile.mkstemp(); os.close(fd)
with open(path, "wb") as o: f.export_bpf(o)
n = os.path.getsize(path) // 8; os.unlink(path)
print("%.3f %d %d" % (time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, n))
`;
  const r = spawnSync('/usr/bin/python3', ['-c', py, file], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return { error: (r.stderr || 'timeout').trim().split('\n').slice(-1)[0] };
  const [s, mb, n] = r.stdout.trim().split(' ');
  return { s: Number(s), mb: Number(mb), n: Number(n) };
}

const fmt = (x) => (x.error ? `error: ${x.error}` : `${x.s.toFixed(2)} s, ${x.mb} MB`);
console.log(
  '| rules | file | validate | validate+resolve+compile | libseccomp model | libseccomp 2.5.4 (anchor) | compile vs libseccomp |',
);
console.log(
  '| ----- | ---- | -------- | ------------------------ | ---------------- | ------------------------- | --------------------- |',
);
for (const n of sizes) {
  const file = join(dir, `p${n}.json`);
  writeFileSync(file, profileText(n));
  const mb = (statSync(file).size / (1 << 20)).toFixed(1);
  const v = step(file, 'validate');
  const c = step(file, 'compile');
  const mo = step(file, 'model');
  const l = libseccomp(file);
  const ratio = c.error || l.error ? '-' : `${(c.s / l.s).toFixed(2)}x the time`;
  console.log(
    `| ${n} | ${mb} MB | ${fmt(v)} | ${fmt(c)} (${c.n ?? '?'} instructions) | ${fmt(mo)} | ${fmt(l)} (${l.n ?? '?'} instructions) | ${ratio} |`,
  );
}
rmSync(dir, { recursive: true, force: true });
