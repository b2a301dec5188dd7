/**
 * Running a workload under a profile and seeing what the profile denied: the filter goes through
 * bubblewrap (enforce.ts), and the eBPF recorder watches the workload's cgroup for calls that
 * reach raw_syscalls:sys_exit without having passed sys_enter, which is what a seccomp filter's
 * ERRNO (or TRACE, TRAP) does to a call. Each denial is then explained with `evaluate`: one the
 * profile denies by an explicit rule was meant; one that only the default action denied is a
 * finding (runners/denials.ts), and `learn` proposes exactly those.
 */

import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArchDef, ArchId } from '../arch/types.js';
import { encode } from '../bpf/encode.js';
import { compile } from '../compiler/compile.js';
import type { WorkloadUser } from '../exec/as-user.js';
import { undoOnDeath } from '../exec/reaper.js';
import { findOnPath, ToolError } from '../exec/run.js';
import type { Profile } from '../profile/model.js';
import { serializeDocker } from '../profile/serialize-docker.js';
import type { ContainerEngine } from '../recorders/container-engines.js';
import { fill } from '../recorders/ebpf-maps.js';
import type { EbpfEngine } from '../recorders/ebpf-tracer.js';
import { resolveCommand } from '../recorders/record.js';
import { recordContainer } from '../recorders/record-docker.js';
import { recordWithEbpf } from '../recorders/record-ebpf.js';
import type { RecorderResult } from '../recorders/recorder-result.js';
import type { WorkloadExit } from '../recorders/workload.js';
import { type Recording, RecordingBuilder } from '../recording/recording.js';
import type { RuntimeTarget } from '../targets/target.js';
import { type Denial, explainDenials } from './denials.js';
import { watchKernelLog } from './kernel-log.js';

export interface RunResult {
  exit: WorkloadExit;
  /** Calls the filter denied: returned an error (seen by eBPF) or killed (seen in the kernel log). */
  denials: Denial[];
  /** Why calls the filter killed could not be listed (no dmesg, auditd owns the records), if so. */
  killLogProblem?: string;
  /** Every call that ran (for `check`, reports, and learning). */
  recording: Recording;
}

/**
 * The denials so far while the workload runs, as a recording: `progress` gets one each time the
 * recorder reads its denial map (every few seconds), so a workload that hangs on a denied call is
 * seen as it happens.
 */
function progressOf(
  arch: ArchDef,
  progress: (denied: Recording) => void,
  onlyWorkload = false,
): (r: RecorderResult) => void {
  return (r) => {
    const b = new RecordingBuilder();
    fill(b, arch, r, -1, Number.POSITIVE_INFINITY, 'denied', onlyWorkload);
    progress(b.build());
  };
}

export async function runUnderProfile(o: {
  profile: Profile;
  arch: ArchDef;
  command: readonly string[];
  note?: (m: string) => void;
  /** The calls denied so far, every few seconds while the workload runs. */
  progress?: (denied: Recording) => void;
  /** Run the workload as this user (sudo's); bubblewrap then runs unprivileged, as that user. */
  user?: WorkloadUser;
  /** sysfence's own eBPF program (default) or bpftrace's. */
  engine?: EbpfEngine;
}): Promise<RunResult> {
  const filter = encode(compile(o.profile, { nativeArch: o.arch.id }).instructions);
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-run-'));
  const forgetDir = undoOnDeath('path', dir);
  const file = join(dir, 'filter.bpf');
  writeFileSync(file, filter);
  const fd = openSync(file, 'r');
  try {
    const rec = new RecordingBuilder();
    const denied = new RecordingBuilder();
    const bwrap = findOnPath('bwrap');
    if (bwrap === undefined)
      throw new ToolError(
        'tool-missing',
        'bwrap',
        'bubblewrap is not installed (apt-get install bubblewrap)',
      );
    const command = [bwrap, '--dev-bind', '/', '/', '--seccomp', '3', '--', ...resolveCommand(o.command)];
    const log = await watchKernelLog();
    try {
      const r = await recordWithEbpf(rec, {
        arch: o.arch,
        command,
        args: false,
        denials: denied,
        fd3: fd,
        // what the filter judged: bubblewrap's own set-up before it loads the filter is not the workload
        onlyUnderNewFilter: true,
        ...(o.note ? { note: o.note } : {}),
        ...(o.user ? { user: o.user } : {}),
        ...(o.engine ? { engine: o.engine } : {}),
        ...(o.progress ? { progress: progressOf(o.arch, o.progress) } : {}),
      });
      return result(o.profile, r.exit, rec, denied, await log.stop(r.pids));
    } finally {
      log.dispose();
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
    forgetDir();
  }
}

function result(
  profile: Profile,
  exit: WorkloadExit,
  rec: RecordingBuilder,
  denied: RecordingBuilder,
  log: { killed: Recording; problem?: string },
  target?: RuntimeTarget,
): RunResult {
  // a call KILL_PROCESS stopped also reaches sys_exit (the kernel rolls the call back and exits
  // through signal delivery), so eBPF saw it as well: the kernel log's record stands for it
  const errored = denied.build();
  for (const [abi, calls] of Object.entries(log.killed.syscalls) as [ArchId, Recording['syscalls'][ArchId]][])
    for (const [name, k] of Object.entries(calls ?? {})) {
      const e = errored.syscalls[abi]?.[name];
      if (!e) continue;
      e.count -= Math.min(e.count, k.count);
      if (e.count === 0) delete errored.syscalls[abi]![name];
    }
  const r: RunResult = {
    exit,
    denials: [...explainDenials(profile, errored, target), ...explainDenials(profile, log.killed, target)],
    recording: rec.build(),
  };
  if (log.problem !== undefined) r.killLogProblem = log.problem;
  const lost = log.killed.malformed.samples.filter((m) => m.code === 'audit-records-lost');
  if (lost.length > 0)
    r.killLogProblem = `the kernel dropped SECCOMP log records while the workload ran (${lost[0]!.text}): calls a filter killed may be missing from this list (sysctl kernel.printk_ratelimit=0 turns the rate limit off, or run auditd)`;
  return r;
}

/**
 * A container under a profile (Docker's `--security-opt seccomp=`), recorded by record-docker:
 * the workload's denials, explained against `resolved` (the profile as dockerd resolves it here).
 */
export async function runContainerUnderProfile(o: {
  /** The profile as written (dockerd resolves it itself; it gets Docker's JSON of it). */
  profile: Profile;
  resolved: Profile;
  arch: ArchDef;
  runArgs: readonly string[];
  note?: (m: string) => void;
  /** Who enforces it (Docker 20.10 + runc + libseccomp unless said). */
  target?: RuntimeTarget;
  progress?: (denied: Recording) => void;
  /** sysfence's own eBPF program (default) or bpftrace's. */
  engine?: EbpfEngine;
  /** Docker (default) or Podman. */
  containerEngine?: ContainerEngine;
}): Promise<RunResult> {
  const rec = new RecordingBuilder();
  const denied = new RecordingBuilder();
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-run-'));
  const forgetDir = undoOnDeath('path', dir);
  try {
    const file = join(dir, 'profile.json');
    writeFileSync(file, serializeDocker(o.profile));
    const log = await watchKernelLog();
    try {
      const r = await recordContainer(rec, {
        arch: o.arch,
        runArgs: o.runArgs,
        seccompFile: file,
        denials: denied,
        ...(o.note ? { note: o.note } : {}),
        ...(o.engine ? { engine: o.engine } : {}),
        ...(o.containerEngine ? { containerEngine: o.containerEngine } : {}),
        ...(o.progress ? { progress: progressOf(o.arch, o.progress, true) } : {}),
      });
      return result(o.resolved, r.exit, rec, denied, await log.stop(r.pids), o.target);
    } finally {
      log.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    forgetDir();
  }
}
