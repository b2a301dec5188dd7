#!/usr/bin/env node
/** sysfence command line: the process around runCli (cli.ts), the only code that exits. */
import { readFileSync, readlinkSync } from 'node:fs';
import { runCli } from './cli.js';

// A closed pipe (`sysfence ... | head`) ends output quietly; any other failure to write (a full
// disk, a closed descriptor) is said once, with a code, and exits 2: never a stack trace.
let outputFailed = false;
for (const [name, stream] of [
  ['standard output', process.stdout],
  ['standard error', process.stderr],
] as const)
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    if (!outputFailed && stream !== process.stderr) {
      outputFailed = true;
      try {
        process.stderr.write(`error[output-failed]: cannot write ${name}: ${e.code ?? e.message}\n`);
      } catch {
        // standard error is gone too
      }
    }
    process.exit(2);
  });

/**
 * Started with standard output closed (`sysfence ... >&-`), Node.js puts /dev/null on descriptor 1
 * (opened read-write, which a shell's `>/dev/null` never does): what would be written there is
 * lost, so the first write is an error instead.
 */
function stdoutWasClosed(): boolean {
  try {
    if (readlinkSync('/proc/self/fd/1') !== '/dev/null') return false;
    const flags = /^flags:\s+(\d+)$/m.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'));
    return flags !== null && (Number.parseInt(flags[1]!, 8) & 3) === 2; // O_ACCMODE == O_RDWR
  } catch {
    return false;
  }
}
if (stdoutWasClosed())
  process.stdout.write = (() => {
    process.stderr.write('error[output-failed]: cannot write standard output: it is closed\n');
    process.exit(2);
  }) as typeof process.stdout.write;

process.exitCode = await runCli(process.argv);
