import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { giveToSudoUser, workloadUser } from '../../exec/as-user.js';
import { holdStopSignals } from '../../exec/signals.js';
import { hostArch } from '../host.js';
import { err } from '../output.js';
import { demo } from './demo-run.js';

export { DEMO_WORKLOAD } from './demo-run.js';

/**
 * The built-in demo: record the demo server, generate its profile, prove the filter, run the
 * server under it, and show that the fence holds when one call it needs is taken away.
 */
export function registerDemo(program: Command, setExit: (code: number) => void): void {
  program
    .command('demo')
    .description('record a small HTTP server, generate its profile, and run it under the profile')
    .option('--backend <b>', 'auto | ebpf | strace', 'auto')
    .option(
      '--dir <dir>',
      'where the recording and profile are written (default: a new directory in $TMPDIR)',
    )
    .option('--as-root', 'under sudo, run the demo server as root (by default as the user who ran sudo)')
    .action(async (opts: { backend: 'auto' | 'ebpf' | 'strace'; dir?: string; asRoot?: boolean }) => {
      holdStopSignals();
      const arch = hostArch();
      // a fresh directory nobody else can have prepared (mkdtemp, mode 0700), or the user's own,
      // which is created if missing and never emptied: only the demo's two files are written to it
      const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'sysfence-demo-'));
      if (opts.dir) mkdirSync(dir, { recursive: true });
      else giveToSudoUser(dir);
      // what the demo server writes about each run goes to a private scratch directory, removed after
      const scratch = mkdtempSync(join(tmpdir(), 'sysfence-demo-run-'));
      const user = workloadUser(opts.asRoot === true, (m) => err(`sysfence: ${m}`));
      if (user) giveToSudoUser(scratch);
      try {
        await demo(arch, dir, scratch, opts.backend, setExit, user);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });
}
