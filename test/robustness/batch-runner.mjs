// Runs many sysfence command lines in one process (dist/cli/cli.js runCli), for the seeded fuzz
// run: starting Node once per case would take ~0.2 s each. Usage:
//   node batch-runner.mjs CASES.json RESULTS.jsonl PROGRESS
// CASES.json: [{ "argv": ["validate", "x.json"] }, ...]. Before each case its index is written to
// PROGRESS, so that a case that hangs the process is known to whoever kills it. Each result line:
// { i, status, ms, stdoutBytes, stderr } (stderr cut to 4 KiB), or { i, threw } if runCli threw.
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [casesFile, resultsFile, progressFile] = process.argv.slice(2);
const { runCli } = await import(join(import.meta.dirname, '..', '..', 'dist', 'cli', 'cli.js'));
const cases = JSON.parse(readFileSync(casesFile, 'utf8'));
writeFileSync(resultsFile, '');

const realOut = process.stdout.write.bind(process.stdout);
const realErr = process.stderr.write.bind(process.stderr);
let stdoutBytes = 0;
let stderr = '';
const capture = (sink) => (chunk, enc, cb) => {
  sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
  const done = typeof enc === 'function' ? enc : cb;
  if (done) done();
  return true;
};
process.stdout.write = capture((s) => {
  stdoutBytes += Buffer.byteLength(s);
});
process.stderr.write = capture((s) => {
  if (stderr.length < 4096) stderr += s;
});

for (let i = 0; i < cases.length; i++) {
  writeFileSync(progressFile, String(i));
  stdoutBytes = 0;
  stderr = '';
  const started = performance.now();
  let line;
  try {
    const status = await runCli(['node', 'sysfence', ...cases[i].argv]);
    line = {
      i,
      status,
      ms: Math.round(performance.now() - started),
      stdoutBytes,
      stderr: stderr.slice(0, 4096),
    };
  } catch (e) {
    line = { i, threw: String(e?.stack ?? e), ms: Math.round(performance.now() - started) };
  }
  appendFileSync(resultsFile, `${JSON.stringify(line)}\n`);
}
writeFileSync(progressFile, 'done');
realOut('');
realErr('');
