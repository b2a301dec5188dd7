/**
 * Running a command under a compiled seccomp filter. Node cannot install a filter on a child
 * itself, so the filter goes through bubblewrap (`bwrap --seccomp FD`), which loads it right
 * before it execs the command: the profile must allow that execve (a recording of the command
 * always holds it).
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asUserPrefix, userEnv, type WorkloadUser } from '../exec/as-user.js';
import { undoOnDeath } from '../exec/reaper.js';
import { startProcess, ToolError } from '../exec/run.js';
import type { WorkloadExit } from '../recorders/workload.js';

export interface EnforceOptions {
  /** The raw filter (sock_filter array, native byte order), as `compile --format raw` writes. */
  filter: Uint8Array;
  command: readonly string[];
  /** What the command's stdio is (default: inherited). */
  stdio?: 'inherit' | 'ignore';
  /** Run it as this user (sudo's): bubblewrap then runs unprivileged, as that user. */
  user?: WorkloadUser;
}

export async function runUnderFilter(o: EnforceOptions): Promise<WorkloadExit> {
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-run-'));
  const forgetDir = undoOnDeath('path', dir);
  const file = join(dir, 'filter.bpf');
  writeFileSync(file, o.filter);
  const fd = openSync(file, 'r');
  try {
    const s = o.stdio ?? 'inherit';
    const bwrap = ['bwrap', '--dev-bind', '/', '/', '--seccomp', '3', '--', ...o.command];
    const argv = o.user ? [...asUserPrefix(o.user), ...bwrap] : bwrap;
    const child = startProcess(argv[0]!, argv.slice(1), { stdio: [s, s, s, fd], env: userEnv(o.user) });
    // if sysfence dies, bubblewrap and the workload go too
    if (child.pid !== undefined) child.on('exit', undoOnDeath('tree', String(child.pid)));
    return await new Promise<WorkloadExit>((res, rej) => {
      child.on('error', (e: NodeJS.ErrnoException) =>
        rej(
          e.code === 'ENOENT'
            ? new ToolError(
                'tool-missing',
                'bwrap',
                'bubblewrap is not installed (apt-get install bubblewrap)',
              )
            : new ToolError('tool-failed', 'bwrap', `bwrap could not start: ${e.message}`),
        ),
      );
      child.on('exit', (code, signal) => res({ code, signal }));
    });
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    forgetDir();
  }
}
