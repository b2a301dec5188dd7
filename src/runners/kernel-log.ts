/**
 * Calls a filter KILLed (or TRAPped): such a call never reaches a syscall tracepoint, so the eBPF
 * denial probe cannot see it, but the kernel logs it (seccomp/actions_logged holds kill_process,
 * kill_thread and trap by default) as an audit SECCOMP record: to auditd's log when auditd runs,
 * else to the kernel log. `dmesg --follow-new` is started before the workload; afterwards its
 * SECCOMP records of the workload's own processes (pids the recorder saw) are read with the
 * audit importer. With auditd running, the records go to its log instead, which is said.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { undoOnDeath } from '../exec/reaper.js';
import { findOnPath, startProcess } from '../exec/run.js';
import { AuditReader } from '../recorders/audit.js';
import type { Recording } from '../recording/recording.js';
import { RecordingBuilder } from '../recording/recording.js';

const PID = /\spid=(\d+)\s/;

export interface KernelLogWatch {
  /** The workload's SECCOMP records (their calls), and why none could be read, if so. */
  stop(pids: ReadonlySet<number>): Promise<{ killed: Recording; problem?: string }>;
  /** Ends dmesg if it still runs (error paths: nothing sysfence started outlives it). */
  dispose(): void;
}

function auditdRuns(): boolean {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'auditd') return true;
    } catch {
      // the process is gone
    }
  }
  return false;
}

export async function watchKernelLog(): Promise<KernelLogWatch> {
  const dmesg = findOnPath('dmesg');
  let problem: string | undefined;
  let child: ChildProcess | undefined;
  let out = '';
  if (auditdRuns())
    problem = 'auditd runs: calls a filter killed are in its log (ausearch -m SECCOMP), not read here';
  else if (!dmesg || !existsSync('/dev/kmsg'))
    problem = 'dmesg or /dev/kmsg is missing: calls a filter killed cannot be listed';
  else {
    // its own process group: a terminal's Ctrl-C for the workload does not end it early
    const c = startProcess(dmesg, ['--follow-new'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child = c;
    // if sysfence dies, no dmesg follows the kernel log on forever
    if (c.pid !== undefined) c.on('exit', undoOnDeath('tree', String(c.pid)));
    c.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    let err = '';
    c.stderr!.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    c.on('exit', (code) => {
      if (code !== null && code !== 0 && problem === undefined)
        problem = `dmesg --follow-new failed (${err.trim() || `exit ${code}`}): run as root`;
    });
    c.on('error', (e) => {
      problem = `dmesg could not run: ${e.message}`;
    });
    // dmesg opens /dev/kmsg and seeks to its end at once; give it that moment before the workload
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    async stop(pids) {
      const killed = new RecordingBuilder();
      if (child) {
        // the kernel logs a kill before the process's exit completes; one more moment for dmesg
        await new Promise((r) => setTimeout(r, 100));
        child.kill('SIGTERM');
        await new Promise((r) => (child!.exitCode !== null ? r(undefined) : child!.once('close', r)));
        const reader = new AuditReader(killed, 'kernel log');
        let n = 0;
        for (const line of out.split('\n')) {
          n++;
          const pid = PID.exec(line);
          // the kernel's word that it suppressed records concerns every process
          if (pid ? pids.has(Number(pid[1])) : /callbacks suppressed|audit_lost=|backlog limit/.test(line))
            reader.line(line, n);
        }
      }
      return problem === undefined ? { killed: killed.build() } : { killed: killed.build(), problem };
    },
    dispose() {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
