/**
 * Running a workload under a profile and seeing what the profile denied: the filter goes through
 * bubblewrap (enforce.ts), and the eBPF recorder watches the workload's cgroup for calls that
 * reach raw_syscalls:sys_exit without having passed sys_enter, which is what a seccomp filter's
 * ERRNO (or TRACE, TRAP) does to a call. Each denial is then explained with `evaluate`: one the
 * profile denies by an explicit rule was meant; one that only the default action denied is a
 * finding, and `learn` proposes exactly those.
 */

import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { encode } from '../bpf/encode.js';
import { compile } from '../compiler/compile.js';
import type { WorkloadUser } from '../exec/as-user.js';
import { findOnPath, ToolError } from '../exec/run.js';
import { type FamilyAddition, familyAdditions } from '../knowledge/call-families.js';
import { formatAction } from '../profile/actions.js';
import { evaluate } from '../profile/evaluate.js';
import { type Profile, ruleNames, type SyscallRule } from '../profile/model.js';
import { serializeDocker } from '../profile/serialize-docker.js';
import { fill, type MapDump } from '../recorders/ebpf-maps.js';
import { resolveCommand } from '../recorders/record.js';
import { recordContainer } from '../recorders/record-docker.js';
import { recordWithEbpf } from '../recorders/record-ebpf.js';
import type { WorkloadExit } from '../recorders/workload.js';
import { type Recording, RecordingBuilder } from '../recording/recording.js';
import type { RuntimeTarget } from '../targets/target.js';
import { runtimeEvaluate, runtimeFilter } from '../targets/verdict.js';
import { watchKernelLog } from './kernel-log.js';

export interface Denial {
  abi: ArchId;
  name: string;
  count: number;
  pids: number[];
  executables: string[];
  /** True when an explicit rule of the profile denies the call (the profile meant it). */
  expected: boolean;
  /** The verdict, as `explain` would word it (ERRNO(38) by default, ERRNO(1) by rule 3, ...). */
  verdict: string;
  /**
   * Set when the profile allows the call but the runtime enforcing it (Docker: runc + libseccomp)
   * denies it: why (libseccomp's order or miscompilation, runc's stub, a name libseccomp lacks).
   * Allowing the call again in the profile would not change that, so --learn does not.
   */
  runtime?: { label: string; reason: string };
}

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
): (maps: MapDump) => void {
  return (maps) => {
    const b = new RecordingBuilder();
    fill(b, arch, maps, -1, Number.POSITIVE_INFINITY, '@d', onlyWorkload);
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
}): Promise<RunResult> {
  const filter = encode(compile(o.profile, { nativeArch: o.arch.id }).instructions);
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-run-'));
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
        ...(o.progress ? { progress: progressOf(o.arch, o.progress) } : {}),
      });
      return result(o.profile, r.exit, rec, denied, await log.stop(r.pids));
    } finally {
      log.dispose();
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
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
 * Each denied call with the profile's verdict on it: an explicit rule's (expected) or the default's.
 * With a runtime target (Docker), a call the profile allows but the runtime's filter denies is a
 * denial too, with the runtime's reason.
 */
export function explainDenials(profile: Profile, denied: Recording, target?: RuntimeTarget): Denial[] {
  const denials: Denial[] = [];
  const rf = target ? runtimeFilter(profile, target) : undefined;
  for (const [abi, calls] of Object.entries(denied.syscalls) as [ArchId, Recording['syscalls'][ArchId]][]) {
    const t = syscallTable(abi);
    for (const [name, s] of Object.entries(calls ?? {})) {
      const nr = t.number(name);
      const v = nr === undefined ? undefined : evaluate(profile, abi, { nr });
      if (v?.kind === 'LOG' && v.source === 'default') {
        // a default LOG lets the call run and logs it (run --default-action log): what to learn
        denials.push({
          abi,
          name,
          count: s.count,
          pids: s.pids,
          executables: s.executables,
          expected: false,
          verdict: 'LOG by default (it ran; the kernel logged it)',
        });
        continue;
      }
      if (v && (v.kind === 'ALLOW' || v.kind === 'LOG')) {
        // allowed by the profile yet stopped: the runtime's filter (with the cause), or another one
        const rv = rf && nr !== undefined ? runtimeEvaluate(rf, { arch: t.arch.auditArch, nr }) : undefined;
        if (rv?.divergence && rv.action.kind !== 'ALLOW' && rv.action.kind !== 'LOG')
          denials.push({
            abi,
            name,
            count: s.count,
            pids: s.pids,
            executables: s.executables,
            expected: false,
            verdict: `${formatAction(rv.action)} by the runtime, where the profile allows it`,
            runtime: { label: rv.divergence.label, reason: rv.divergence.reason },
          });
        continue;
      }
      // a rule that denies exactly like the default is dropped from the policy (as runc does), yet
      // it says the profile means the denial (the probed calls' ENOSYS rule, for one)
      const rule =
        v?.source === 'rule'
          ? v.rule
          : (profile.syscalls ?? []).findIndex(
              (r) =>
                ruleNames(r).includes(name) &&
                !r.args?.length &&
                r.action !== 'SCMP_ACT_ALLOW' &&
                r.action !== 'SCMP_ACT_LOG',
            );
      const verdict = v
        ? `${formatAction(v)} ${rule !== undefined && rule >= 0 ? `by rule ${rule}` : 'by default'}`
        : 'unknown number';
      denials.push({
        abi,
        name,
        count: s.count,
        pids: s.pids,
        executables: s.executables,
        expected: rule !== undefined && rule >= 0,
        verdict,
      });
    }
  }
  return denials;
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
}): Promise<RunResult> {
  const rec = new RecordingBuilder();
  const denied = new RecordingBuilder();
  const dir = mkdtempSync(join(tmpdir(), 'sysfence-run-'));
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
        ...(o.progress ? { progress: progressOf(o.arch, o.progress, true) } : {}),
      });
      return result(o.resolved, r.exit, rec, denied, await log.stop(r.pids), o.target);
    } finally {
      log.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The calls a run recorded that `profile` would deny by its default action: what a run with the
 * default set to LOG (nothing denied, everything recorded) teaches, in one pass. Read from the
 * recording, not the kernel log (whose SECCOMP records the kernel drops under load).
 */
export function wouldDeny(profile: Profile, recording: Recording): Denial[] {
  const out: Denial[] = [];
  for (const [abi, calls] of Object.entries(recording.syscalls) as [
    ArchId,
    Recording['syscalls'][ArchId],
  ][]) {
    const t = syscallTable(abi);
    for (const [name, s] of Object.entries(calls ?? {})) {
      const nr = t.number(name);
      if (nr === undefined) continue;
      const v = evaluate(profile, abi, { nr });
      if (v.source !== 'default' || v.kind === 'ALLOW' || v.kind === 'LOG') continue;
      out.push({
        abi,
        name,
        count: s.count,
        pids: s.pids,
        executables: s.executables,
        expected: false,
        verdict: `ran under LOG; the profile's default would give ${formatAction(v)}`,
      });
    }
  }
  return out;
}

/**
 * The profile with the unexpected denials allowed: one added rule, nothing else changed. Unless
 * `exact`, the call-family siblings of what is added and of what ran (knowledge/call-families)
 * come with it, the ones the profile does not allow (or deny by a rule) yet: the next input, or
 * the same one with other timing, would need them.
 */
export function learn(
  profile: Profile,
  denials: readonly Denial[],
  /** `resolved`: the profile resolved for this machine, to see what it allows already. */
  opts: { exact?: boolean; resolved?: Profile; ran?: Recording } = {},
): { profile: Profile; added: string[]; families: FamilyAddition[] } {
  const learned = [...new Set(denials.filter((d) => !d.expected && !d.runtime).map((d) => d.name))].sort();
  if (learned.length === 0) return { profile, added: learned, families: [] };
  let families: FamilyAddition[] = [];
  if (!opts.exact) {
    // the triggers: every call that ran (`ran`, the run's recording) and every call learned; a
    // call already allowed can still bring a sibling this run did not happen to make (sort's
    // rt_sigaction -> the gettid and tgkill of re-raising SIGPIPE, which depends on timing)
    const byAbi = new Map<string, Set<string>>();
    for (const d of denials)
      if (!d.expected && !d.runtime) byAbi.set(d.abi, (byAbi.get(d.abi) ?? new Set()).add(d.name));
    for (const [abi, calls] of Object.entries(opts.ran?.syscalls ?? {}))
      for (const name of Object.keys(calls ?? {})) byAbi.set(abi, (byAbi.get(abi) ?? new Set()).add(name));
    const allowed = (abi: string, name: string) => {
      const nr = syscallTable(abi as ArchId).number(name);
      if (nr === undefined) return false;
      const v = evaluate(opts.resolved ?? profile, abi as ArchId, { nr });
      return v.kind === 'ALLOW' || v.kind === 'LOG' || v.source === 'rule';
    };
    families = familyAdditions(
      byAbi,
      (abi, n) => syscallTable(abi as ArchId).number(n) !== undefined && !allowed(abi, n),
      new Set(learned),
      false,
    );
  }
  const added = [...learned, ...families.filter((f) => !f.unless).map((f) => f.name)].sort();
  const restricted: SyscallRule[] = families.flatMap((f) =>
    f.unless
      ? [
          {
            names: [f.name],
            action: 'SCMP_ACT_ALLOW' as const,
            args: [
              {
                index: f.unless.index,
                value: f.unless.mask,
                valueTwo: 0n,
                op: 'SCMP_CMP_MASKED_EQ' as const,
              },
            ],
            comment: `family ${f.family}: ${f.name} only without these flags`,
          },
        ]
      : [],
  );
  return {
    profile: {
      ...profile,
      syscalls: [...(profile.syscalls ?? []), { names: added, action: 'SCMP_ACT_ALLOW' }, ...restricted],
    },
    added: [...added, ...restricted.map((r) => `${r.names![0]} (without CLONE_NEW* flags)`)],
    families,
  };
}
