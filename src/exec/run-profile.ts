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
import { recordWithEbpf } from '../recorders/record-ebpf.js';
import { type Recording, RecordingBuilder } from '../recorders/recording.js';
import type { WorkloadExit } from '../recorders/workload.js';

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
    const command = ['bwrap', '--dev-bind', '/', '/', '--seccomp', '3', '--', ...resolveCommand(o.command)];
    const r = await recordWithEbpf(rec, {
      arch: o.arch,
      command: resolveCommand(command),
      args: false,
      denials: denied,
      fd3: fd,
      ...(o.note ? { note: o.note } : {}),
    });
    const denials: Denial[] = [];
    for (const [abi, calls] of Object.entries(denied.build().syscalls) as [
      ArchId,
      Recording['syscalls'][ArchId],
    ][]) {
      const t = syscallTable(abi);
      for (const [name, s] of Object.entries(calls ?? {})) {
        const nr = t.number(name);
        const v = nr === undefined ? undefined : evaluate(o.profile, abi, { nr });
        // allowed by the profile yet stopped: bwrap's own filter or the runtime, not this profile
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
    return { exit: r.exit, denials, recording: rec.build() };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
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
