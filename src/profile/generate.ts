/**
 * generate: Recordings -> an allow-list Profile. A pure, deterministic function.
 *
 * Calls the trace cannot be relied on to show are added (DESIGN: "calls that follow from others"):
 * exit and exit_group always (strace -c and perf never list them); rt_sigreturn (sigreturn on
 * 32-bit ABIs) and restart_syscall once a signal handler is installed.
 */
import { ARCH_DEFS } from '../arch/defs.js';
import { archById, syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import type { Recording } from '../recorders/recording.js';
import { ENOSYS, EPERM } from './errno.js';
import type { Profile } from './model.js';

export type DefaultDeny = 'enosys' | 'eperm' | 'kill';

export interface GenerateOptions {
  /** What unrecorded calls get: ERRNO(ENOSYS) (default: glibc and libuv fall back), ERRNO(EPERM) or KILL_PROCESS. */
  deny?: DefaultDeny;
  /** Add the companion ABIs (x86_64: x86 and x32; aarch64: arm; ...) through an archMap. */
  companions?: boolean;
}

export interface GenerateResult {
  profile: Profile;
  /** Why each implied name was added. */
  implied: { name: string; because: string }[];
  /** Calls that cannot be written into a profile (numbers no table names), said, not dropped silently. */
  unnamed: { abi: ArchId; name: string; count: number }[];
}

const SIGNAL_SETUP = ['rt_sigaction', 'sigaction', 'signal'];

export function generate(recordings: readonly Recording[], opts: GenerateOptions = {}): GenerateResult {
  const names = new Set<string>();
  const abis = new Set<ArchId>();
  const unnamed: GenerateResult['unnamed'] = [];
  for (const r of recordings)
    for (const [abi, calls] of Object.entries(r.syscalls) as [ArchId, Record<string, { count: number }>][]) {
      abis.add(abi);
      const t = syscallTable(abi);
      for (const [name, s] of Object.entries(calls ?? {})) {
        if (
          t.number(name) === undefined &&
          !archById(abi).multiplexers.some((m) => m.calls[name] !== undefined)
        )
          unnamed.push({ abi, name, count: s.count });
        else names.add(name);
      }
    }
  const implied: GenerateResult['implied'] = [];
  const imply = (name: string, because: string) => {
    if (names.has(name)) return;
    names.add(name);
    implied.push({ name, because });
  };
  if (names.size > 0) {
    imply('exit_group', 'every process ends with it, and strace -c and perf never list it');
    imply('exit', 'every thread ends with it');
  }
  if (SIGNAL_SETUP.some((n) => names.has(n))) {
    imply('rt_sigreturn', 'a signal handler is installed: returning from it needs rt_sigreturn');
    imply('restart_syscall', 'signals can interrupt a sleeping call, which the kernel restarts with it');
    if ([...abis].some((a) => archById(a).bits === 32))
      imply('sigreturn', 'a 32-bit process with a signal handler may return through sigreturn');
  }
  const recorded: ArchDef[] = ARCH_DEFS.filter((a) => abis.has(a.id));
  const profile: Profile = {
    defaultAction: opts.deny === 'kill' ? 'SCMP_ACT_KILL_PROCESS' : 'SCMP_ACT_ERRNO',
  };
  if (opts.deny !== 'kill') profile.defaultErrnoRet = opts.deny === 'eperm' ? EPERM : ENOSYS;
  if (opts.companions) {
    const hosts = recorded.filter(
      (a) => a.companions.length > 0 || !recorded.some((b) => b.companions.includes(a.id)),
    );
    profile.archMap = hosts.map((a) => ({
      architecture: a.scmp,
      subArchitectures: a.companions.length > 0 ? a.companions.map((c) => archById(c).scmp) : null,
    }));
  } else if (recorded.length > 0) profile.architectures = recorded.map((a) => a.scmp);
  const sorted = [...names].sort();
  profile.syscalls = sorted.length > 0 ? [{ names: sorted, action: 'SCMP_ACT_ALLOW' }] : [];
  implied.sort((a, b) => (a.name < b.name ? -1 : 1));
  return { profile, implied, unnamed };
}
