/**
 * lint: what a reviewer should know about a profile, each finding with a stable code, a severity,
 * the JSON path it is about, and a fix. It reads the profile's meaning through the verdict tables
 * (resolved for the given capabilities and kernel) and its text for where a finding points.
 * validate's findings (unknown names, shadowed or contradictory rules, ...) are not repeated
 * here; `sysfence lint` prints both.
 */

import { LIBSECCOMP_UNKNOWN_NAMES, LIBSECCOMP_VERSION } from '../arch/tables/libseccomp.gen.js';
import { findArch } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { ENOSYS_PROBED } from '../knowledge/probed-calls.js';
import { riskyNames, syscallRisk } from '../knowledge/syscall-info.js';
import { formatAction, sameAction, toAction } from '../profile/actions.js';
import { DOCKER_DEFAULT_CAPABILITIES } from '../profile/capabilities.js';
import { ENOSYS } from '../profile/errno.js';
import type { Profile } from '../profile/model.js';
import { profileDefaultAction } from '../profile/policy.js';
import { targetArches } from '../profile/validate.js';
import { allows, type ReviewOptions, type SyscallVerdict, verdictTable } from './verdicts.js';

export type LintSeverity = 'error' | 'warning' | 'info';

export interface Finding {
  code: string;
  severity: LintSeverity;
  path: string;
  message: string;
  fix: string;
}

/**
 * Arguments that are pointers: a filter sees only the address, never what it points to, and the
 * process can change the memory after the check (TOCTOU), so a condition on them checks nothing.
 */
const POINTER_ARGS: Record<string, number[]> = {
  open: [0],
  openat: [1],
  openat2: [1, 2],
  creat: [0],
  execve: [0, 1, 2],
  execveat: [1, 2, 3],
  read: [1],
  write: [1],
  pread64: [1],
  pwrite64: [1],
  readv: [1],
  writev: [1],
  stat: [0, 1],
  lstat: [0, 1],
  fstat: [1],
  newfstatat: [1, 2],
  statx: [1, 4],
  access: [0],
  faccessat: [1],
  faccessat2: [1],
  mkdir: [0],
  mkdirat: [1],
  rmdir: [0],
  unlink: [0],
  unlinkat: [1],
  rename: [0, 1],
  renameat: [1, 3],
  renameat2: [1, 3],
  link: [0, 1],
  linkat: [1, 3],
  symlink: [0, 1],
  symlinkat: [0, 2],
  readlink: [0, 1],
  readlinkat: [1, 2],
  chdir: [0],
  chroot: [0],
  chmod: [0],
  fchmodat: [1],
  chown: [0],
  lchown: [0],
  fchownat: [1],
  truncate: [0],
  mount: [0, 1, 2, 4],
  umount2: [0],
  pivot_root: [0, 1],
  connect: [1],
  bind: [1],
  accept: [1, 2],
  accept4: [1, 2],
  sendto: [1, 4],
  recvfrom: [1, 4, 5],
  sendmsg: [1],
  recvmsg: [1],
  sendmmsg: [1],
  recvmmsg: [1],
  setsockopt: [3],
  getsockopt: [3, 4],
  clone3: [0],
  futex: [0, 3, 4],
  bpf: [1],
  ptrace: [2, 3],
  setxattr: [0, 1, 2],
  getxattr: [0, 1, 2],
  name_to_handle_at: [1, 2],
  open_by_handle_at: [1],
  perf_event_open: [0],
  seccomp: [2],
  socketcall: [1],
  rt_sigaction: [1, 2],
  rt_sigprocmask: [1, 2],
  nanosleep: [0, 1],
  uname: [0],
  getrandom: [0],
  memfd_create: [0],
  init_module: [0, 2],
  finit_module: [1],
  kexec_file_load: [3],
};

/** Namespace flags of clone(2): CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. */
const CLONE_NEW = 0x7e020000n;

function findRule(p: Profile, name: string): number {
  return (p.syscalls ?? []).findIndex((r) => (r.names ?? []).includes(name) || r.name === name);
}

function rulePath(p: Profile, name: string): string {
  const i = findRule(p, name);
  if (i < 0) return '$.defaultAction';
  const r = p.syscalls![i]!;
  const j = (r.names ?? []).indexOf(name);
  return j >= 0 ? `$.syscalls[${i}].names[${j}]` : `$.syscalls[${i}].name`;
}

const severityRank: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

export function lintProfile(p: Profile, o: ReviewOptions = {}): Finding[] {
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  const caps = o.capabilities ?? DOCKER_DEFAULT_CAPABILITIES;
  const arches = targetArches(p).length > 0 ? targetArches(p) : [findArch('x86_64')!];
  const tables = arches.map((a) => verdictTable(p, a, o));
  const def = profileDefaultAction(p);

  // a deny-list
  if (allows(def))
    add({
      code: 'default-allow',
      severity: 'error',
      path: '$.defaultAction',
      message: `the default action is ${p.defaultAction}: every syscall not listed is allowed, including those added to the kernel after this profile was written`,
      fix: 'make it an allow-list: defaultAction SCMP_ACT_ERRNO with defaultErrnoRet 38 (sysfence generate from a recording)',
    });

  // dangerous calls allowed (per name, on any ABI of the filter)
  const verdictOf = (name: string): { v: SyscallVerdict; abi: ArchDef } | undefined => {
    for (const t of tables) {
      const c = t.calls.find((x) => x.name === name);
      if (c && t.accepted) return { v: c.verdict, abi: t.abi };
    }
    return undefined;
  };
  const allowedHow = (v: SyscallVerdict): 'always' | 'some' | undefined =>
    v.kind === 'fixed'
      ? allows(v.action)
        ? 'always'
        : undefined
      : v.rules.some((r) => allows(r.action)) || allows(v.otherwise)
        ? 'some'
        : undefined;
  for (const name of riskyNames()) {
    if (name === 'clone' || name === 'clone3') continue; // below, with what matters about them
    const found = verdictOf(name);
    if (!found) continue;
    const how = allowedHow(found.v);
    if (!how) continue;
    const risk = syscallRisk(name)!;
    // CAP_SYS_PTRACE gates only other users' processes: the container's own are reachable
    const capHeld =
      risk.capability === undefined || risk.capability === 'CAP_SYS_PTRACE' || caps.includes(risk.capability);
    add({
      code: 'dangerous-syscall',
      severity: capHeld && how === 'always' ? 'warning' : 'info',
      path: rulePath(p, name),
      message: `${name} is allowed${how === 'some' ? ' for some argument values' : ''}: ${risk.risk}${risk.capability ? `; ${risk.capability} gates it${risk.capability === 'CAP_SYS_PTRACE' ? ' for processes of other users only' : caps.includes(risk.capability) ? ', and the container has it' : ', which the container lacks (defence in depth)'}` : '; no capability is needed'}`,
      fix: `remove ${name} unless the workload needs it (sysfence check with a recording tells)`,
    });
  }
  const clone = verdictOf('clone');
  if (clone?.v.kind === 'fixed' && allows(clone.v.action))
    add({
      code: 'clone-namespaces',
      severity: 'warning',
      path: rulePath(p, 'clone'),
      message:
        'clone is allowed with any flags: CLONE_NEWUSER needs no capability, and a user namespace opens kernel code meant for root',
      fix: `allow clone only when (flags & 0x${CLONE_NEW.toString(16)}) == 0 (SCMP_CMP_MASKED_EQ on argument 0), as Docker's default does`,
    });
  const clone3 = verdictOf('clone3');
  if (clone3 && allowedHow(clone3.v))
    add({
      code: 'clone3-unfiltered',
      severity: 'info',
      path: rulePath(p, 'clone3'),
      message:
        'clone3 is allowed: its flags are in memory the filter cannot read, so namespace creation cannot be restricted as for clone',
      fix: 'deny clone3 with ERRNO(38) (glibc then uses clone, which can be filtered) unless the workload needs clone3-only features',
    });
  for (const name of ['unshare', 'setns']) {
    const v = verdictOf(name)?.v;
    if (v?.kind === 'fixed' && allows(v.action))
      add({
        code: 'namespace-syscall',
        severity: 'warning',
        path: rulePath(p, name),
        message: `${name} is allowed without an argument rule: it enters or creates namespaces (a user namespace needs no capability)`,
        fix: `remove ${name}, or allow it only for the namespace flags the workload needs`,
      });
  }

  // companion ABIs
  for (const a of arches) {
    const missing = a.companions.filter((c) => !arches.some((x) => x.id === c));
    if (missing.length > 0 && !arches.some((x) => x.companions.length === 0 && a.companions.includes(x.id)))
      add({
        code: 'missing-companion',
        severity: 'info',
        path: p.archMap ? '$.archMap' : p.architectures ? '$.architectures' : '$',
        message: `${a.id} is filtered but not its companion ABI${missing.length === 1 ? '' : 's'} ${missing.join(', ')}: calls made through them (int 0x80, x32 numbers) get the bad-arch action, KILL`,
        fix: `fine unless the workload runs ${missing.join('/')} code; then add ${missing.map((m) => findArch(m)!.scmp).join(', ')} (generate --companions)`,
      });
  }

  // ENOSYS where libraries expect it
  for (const { name, who } of ENOSYS_PROBED) {
    const found = verdictOf(name);
    if (found?.v.kind !== 'fixed' || allows(found.v.action)) continue;
    const a = found.v.action;
    if (a.kind === 'ERRNO' && a.data === ENOSYS) continue;
    add({
      code: 'probe-not-enosys',
      severity: name === 'clone3' ? 'error' : 'warning',
      path: rulePath(p, name),
      message: `${name} is denied with ${formatAction(a)}, not ENOSYS: ${who} only on ENOSYS, so ${name === 'clone3' ? 'thread and process creation fail' : 'the operation fails'}`,
      fix: `deny ${name} with an explicit rule: SCMP_ACT_ERRNO with errnoRet 38 (defaultErrnoRet is not honoured everywhere: Docker 20.10 drops it)`,
    });
  }

  // rules with no effect, or that do not do what they say
  (p.syscalls ?? []).forEach((r, i) => {
    const act = toAction(r.action, r.errnoRet);
    if (!r.args?.length && !r.includes && !r.excludes && sameAction(act, def))
      add({
        code: 'rule-equals-default',
        severity: 'info',
        path: `$.syscalls[${i}]`,
        message: `rule ${i} (${(r.names ?? [r.name]).slice(0, 5).join(', ')}${(r.names?.length ?? 0) > 5 ? ', ...' : ''}) does what the default does (${formatAction(act)}); runc drops it`,
        fix: probedOnly(r.names ?? [])
          ? 'keep it if the profile may run where defaultErrnoRet is dropped (Docker 20.10): it pins ENOSYS'
          : 'remove it, or give it the action it was meant to have',
      });
    const byIndex = new Map<number, number>();
    for (const a of r.args ?? [])
      if (a.op === 'SCMP_CMP_NE') byIndex.set(a.index, (byIndex.get(a.index) ?? 0) + 1);
    for (const [index, n] of byIndex)
      if (n > 1)
        add({
          code: 'ne-same-index',
          severity: 'error',
          path: `$.syscalls[${i}].args`,
          message: `rule ${i} has ${n} SCMP_CMP_NE conditions on argument ${index}: runc turns conditions on a repeated index into separate rules (ORed), and "a != x OR a != y" holds for every value`,
          fix: `write one allow rule per permitted value (SCMP_CMP_EQ), or put the excluded values in deny rules before an unconditional allow`,
        });
    for (const name of r.names ?? (r.name ? [r.name] : []))
      for (const a of r.args ?? [])
        if (POINTER_ARGS[name]?.includes(a.index))
          add({
            code: 'pointer-argument',
            severity: 'warning',
            path: `$.syscalls[${i}].args[${(r.args ?? []).indexOf(a)}]`,
            message: `rule ${i} checks argument ${a.index} of ${name}, a pointer: the filter sees the address, not the data, and the process can change the data after the check`,
            fix: 'do not rely on it: filter the call as a whole, or check the data with a user-space supervisor (SCMP_ACT_NOTIFY) or an LSM',
          });
  });

  // names the runtime's libseccomp does not know: runc and crun skip such rules without a word
  (p.syscalls ?? []).forEach((r, i) => {
    (r.names ?? (r.name ? [r.name] : [])).forEach((name, j) => {
      if (!LIBSECCOMP_UNKNOWN_NAMES.includes(name)) return;
      const act = toAction(r.action, r.errnoRet);
      add({
        code: 'dropped-by-libseccomp',
        severity: allows(act) ? 'warning' : 'info',
        path: r.names ? `$.syscalls[${i}].names[${j}]` : `$.syscalls[${i}].name`,
        message: `libseccomp ${LIBSECCOMP_VERSION} (Debian 12's, which runc and crun use) does not know ${name}: the runtime drops this entry silently, so ${name} gets the default action (${formatAction(def)}), not ${formatAction(act)}`,
        fix: `expect ${formatAction(def)} for ${name} on such hosts, or run a runtime built on a newer libseccomp`,
      });
    });
  });

  // socketcall: a rule on a multiplexed call's arguments does not bind it on ABIs with socketcall
  (p.syscalls ?? []).forEach((r, i) => {
    if (!r.args?.length) return;
    const bypassed: string[] = [];
    const weakened: string[] = [];
    let via = '';
    let names: string[] = [];
    for (const t of tables) {
      if (!t.accepted) continue;
      for (const m of t.abi.multiplexers) {
        const mux = t.calls.find((c) => c.name === m.syscall);
        const mine = (r.names ?? (r.name ? [r.name] : [])).filter((n) => m.calls[n] !== undefined);
        if (!mux || mine.length === 0) continue;
        names = mine;
        via = m.syscall;
        if (mux.verdict.kind === 'fixed' && allows(mux.verdict.action)) bypassed.push(t.abi.id);
        else weakened.push(t.abi.id);
      }
    }
    if (bypassed.length + weakened.length === 0) return;
    add({
      code: 'multiplexer-bypass',
      severity: bypassed.length > 0 ? 'error' : 'warning',
      path: `$.syscalls[${i}].args`,
      message: `rule ${i} checks the arguments of ${names.join(', ')}, which ${[...bypassed, ...weakened].join(', ')} also reach through ${via}() with the arguments in memory: ${bypassed.length > 0 ? `${via} is allowed outright there (${bypassed.join(', ')}), so the rule is bypassed` : 'its argument 0 conditions are lost there'}`,
      fix: `deny ${via} (modern libcs make the direct calls), or leave the 32-bit ABIs out of the filter if nothing runs as them`,
    });
  });

  const order = (f: Finding) => `${severityRank[f.severity]}\u0000${f.code}\u0000${f.path}`;
  return findings.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}

function probedOnly(names: readonly string[]): boolean {
  return names.length > 0 && names.every((n) => ENOSYS_PROBED.some((p) => p.name === n));
}
