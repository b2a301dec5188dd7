#!/usr/bin/env node
// The real-workload figures (issue "containers end to end", step 5), measured in one run: for each
// of nginx, redis and PostgreSQL, REPS rounds of three passes in turn (bench/workloads/evaluate.mjs):
//   default - Docker's default profile, nothing observing (the anchor)
//   enforce - the generated profile, nothing observing
//   record  - `sysfence record --docker` (eBPF) while the same driver runs
// and prints the allowed calls against Docker's default, the recording's wall time, and the
// driver's throughput as median ratios to the anchor (and the minimum and maximum ratio of the
// rounds: this VM's timings wander, and driver and server share its 2 cores).
//
// Needs root, a Docker engine, bpftrace and a built dist/; builds the image when it is missing.
// Usage: node bench/workloads.mjs   (REPS=5, SECONDS=5, REQUESTS=20000, WORKLOADS=nginx,redis,postgres)
import { buildImage, ENGINE, newDir, pass, sizes } from './workloads/evaluate.mjs';

const REPS = Number(process.env.REPS ?? 5);
const options = {
  seconds: Number(process.env.SECONDS ?? 5),
  requests: Number(process.env.REQUESTS ?? 20000),
};
const workloads = (process.env.WORKLOADS ?? 'nginx,redis,postgres').split(',');

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

if (ENGINE === 'docker') await buildImage();
const dir = newDir();
const rows = [];
for (const w of workloads) {
  const by = { default: [], enforce: [], record: [] };
  const wall = { default: [], record: [] };
  let unit = '';
  for (let i = 0; i < REPS; i++) {
    // record first: the profile of round 1 is the one enforce uses (each record rewrites it)
    for (const mode of ['record', 'default', 'enforce']) {
      const p = await pass(w, mode, { dir, ...options });
      const bad = p.steps.filter((s) => !s.ok);
      if (bad.length > 0) throw new Error(`${w} ${mode}: ${JSON.stringify(bad)}`);
      by[mode].push(p.throughput);
      if (wall[mode]) wall[mode].push(p.wallMs);
      unit = p.unit;
      process.stderr.write(`${w} round ${i + 1} ${mode}: ${p.throughput.toFixed(0)}\n`);
    }
  }
  // one more pass under the profile with sysfence watching: the calls it denied, and which were unexpected
  const watched = await pass(w, 'profile', { dir, ...options });
  const failed = watched.steps.filter((x) => !x.ok);
  if (failed.length > 0) throw new Error(`${w} profile: ${JSON.stringify(failed)}`);
  const denials = watched.run?.denials ?? [];
  const unexpected = denials.filter((d) => !d.expected).map((d) => d.name);
  const s = await sizes(dir, w);
  const ratios = (mode) => by[mode].map((x, i) => x / by.default[i]);
  const fmt = (mode) => {
    const r = ratios(mode);
    return `${(median(by[mode]) / median(by.default)).toFixed(3)}x (rounds ${Math.min(...r).toFixed(2)}-${Math.max(...r).toFixed(2)})`;
  };
  rows.push(
    `${w}: ${s.allowed} allowed on x86_64 + ${s.logged} allowed and logged (predicted, family siblings) = ${s.allowed + s.logged} (recorded ${s.recorded}, runtime set ${s.runtimeSet}) vs ${ENGINE}'s default ${s.dockerDefault} (${((s.allowed + s.logged) / s.dockerDefault).toFixed(2)}x; without audit ${(s.allowed / s.dockerDefault).toFixed(2)}x)\n` +
      `  ${unit}, median of ${REPS}: ${ENGINE}'s default profile ${median(by.default).toFixed(0)}\n` +
      `  under the profile: ${fmt('enforce')}\n` +
      `  while recording:   ${fmt('record')}\n` +
      `  run under the profile with sysfence watching: every driver step ok, ${denials.length} denials (${unexpected.length} unexpected${unexpected.length ? `: ${unexpected.join(', ')}` : ''})\n` +
      `  recorded pass wall time ${(median(wall.record) / 1000).toFixed(1)} s vs ${(median(wall.default) / 1000).toFixed(1)} s unrecorded`,
  );
}
console.log(
  `\nreal workloads, ${REPS} rounds each (driver ${options.seconds} s / ${options.requests} requests):\n${rows.join('\n')}`,
);
