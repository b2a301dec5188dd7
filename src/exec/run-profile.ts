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
import { evaluate } from '../profile/evaluate.js';
import type { Profile } from '../profile/model.js';
import { resolveCommand } from '../recorders/record.js';
import { recordContainer } from '../recorders/record-docker.js';
import { recordWithEbpf } from '../recorders/record-ebpf.js';
import { type Recording, RecordingBuilder } from '../recorders/recording.js';
import type { WorkloadExit } from '../recorders/workload.js';
import { findOnPath, ToolError } from './run.js';

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
}

export interface RunResult {
  exit: WorkloadExit;
  denials: Denial[];
  /** Every call that ran (for `check`, reports, and learning). */
  recording: Recording;
}

export async function runUnderProfile(o: {
  profile: Profile;
  arch: ArchDef;
  command: readonly string[];
  note?: (m: string) => void;
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
    const r = await recordWithEbpf(rec, {
      arch: o.arch,
      command,
      args: false,
      denials: denied,
      fd3: fd,
      ...(o.note ? { note: o.note } : {}),
    });
    return { exit: r.exit, denials: explainDenials(o.profile, denied.build()), recording: rec.build() };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each denied call with the profile's verdict on it: an explicit rule's (expected) or the default's. */
export function explainDenials(profile: Profile, denied: Recording): Denial[] {
  const denials: Denial[] = [];
  for (const [abi, calls] of Object.entries(denied.syscalls) as [ArchId, Recording['syscalls'][ArchId]][]) {
    const t = syscallTable(abi);
    for (const [name, s] of Object.entries(calls ?? {})) {
      const nr = t.number(name);
      const v = nr === undefined ? undefined : evaluate(profile, abi, { nr });
      // allowed by the profile yet stopped: another filter (bwrap's, the runtime's), not this one
      if (v && (v.kind === 'ALLOW' || v.kind === 'LOG')) continue;
      const verdict = v
        ? `${v.kind === 'ERRNO' ? `ERRNO(${v.data})` : v.kind} ${v.source === 'rule' ? `by rule ${v.rule}` : 'by default'}`
        : 'unknown number';
      denials.push({
        abi,
        name,
        count: s.count,
        pids: s.pids,
        executables: s.executables,
        expected: v?.source === 'rule',
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
  profileFile: string;
  resolved: Profile;
  arch: ArchDef;
  runArgs: readonly string[];
  note?: (m: string) => void;
}): Promise<RunResult> {
  const rec = new RecordingBuilder();
  const denied = new RecordingBuilder();
  const r = await recordContainer(rec, {
    arch: o.arch,
    runArgs: o.runArgs,
    seccompFile: o.profileFile,
    denials: denied,
    ...(o.note ? { note: o.note } : {}),
  });
  return { exit: r.exit, denials: explainDenials(o.resolved, denied.build()), recording: rec.build() };
}

/** The profile with the unexpected denials allowed: one added rule, nothing else changed. */
export function learn(profile: Profile, denials: readonly Denial[]): { profile: Profile; added: string[] } {
  const added = [...new Set(denials.filter((d) => !d.expected).map((d) => d.name))].sort();
  if (added.length === 0) return { profile, added };
  return {
    profile: {
      ...profile,
      syscalls: [...(profile.syscalls ?? []), { names: added, action: 'SCMP_ACT_ALLOW' }],
    },
    added,
  };
}
