/**
 * runc's -ENOSYS stub (runc 1.1 libcontainer/seccomp/patchbpf): a small program runc puts in front
 * of libseccomp's filter so that syscalls newer than the profile get ENOSYS (which libraries fall
 * back from) instead of the default errno. Per architecture the profile lists (the host's only if
 * listed), the highest number libseccomp resolves for any name in the profile (whatever the rule's
 * action) bounds the known calls; a number above it gets ENOSYS. On s390 and s390x, number 0
 * (setup, which multiplexes unknown numbers there) gets ENOSYS too. For x86_64 and x32, which share
 * an AUDIT_ARCH value, the x32 bit selects the bound; with only one of them listed, the other's
 * numbers go straight to the filter. runc leaves the stub out when the default action is ALLOW, LOG
 * or TRACE. It adds it even when defaultErrnoRet is ENOSYS already (runc 1.1.5, measured through
 * containerd, which passes defaultErrnoRet on where Docker 20.10 drops it: test/live/cri.test.ts):
 * a number above the bound then gets ENOSYS from the stub where libseccomp's filter would have
 * answered otherwise (0x80000000 on x86_64: ENOSYS, not the bad-ABI action).
 */
import type { ArchDef } from '../arch/types.js';
import { retValue } from '../compiler/ret.js';
import { type LibseccompVersion, nameTable } from '../libseccomp/names.js';
import { archFromScmp } from '../profile/arch-names.js';
import { ENOSYS } from '../profile/errno.js';
import type { Profile } from '../profile/model.js';
import { ruleNames } from '../profile/model.js';

const X32_BIT = 0x40000000;

interface StubSection {
  /** Bounds by ABI (x86_64 and x32 may share a section). */
  bounds: Map<ArchDef['id'], number>;
}

export interface EnosysStub {
  /** Per AUDIT_ARCH value. */
  sections: Map<number, StubSection>;
}

export const ENOSYS_RET = retValue({ kind: 'ERRNO', data: ENOSYS });

/** runc's stub for a (resolved) profile, or undefined when runc adds none. */
export function runcStub(p: Profile, version: LibseccompVersion): EnosysStub | undefined {
  if (
    p.defaultAction === 'SCMP_ACT_ALLOW' ||
    p.defaultAction === 'SCMP_ACT_LOG' ||
    p.defaultAction === 'SCMP_ACT_TRACE'
  )
    return undefined;
  const names = (p.syscalls ?? []).flatMap((r) => ruleNames(r));
  const sections = new Map<number, StubSection>();
  for (const spelling of p.architectures ?? []) {
    const abi = archFromScmp(spelling);
    const table = abi ? nameTable(version, abi) : undefined;
    if (!abi || !table) continue;
    let largest = 0;
    for (const n of names) {
      const r = table.resolve(n);
      if (r.kind === 'number' && r.nr > largest) largest = r.nr;
    }
    if (largest === 0) continue;
    const s = sections.get(abi.auditArch) ?? { bounds: new Map() };
    s.bounds.set(abi.id, largest);
    sections.set(abi.auditArch, s);
  }
  return sections.size > 0 ? { sections } : undefined;
}

/** ENOSYS when the stub answers the call itself; undefined when it passes the call to the filter. */
export function stubAnswer(stub: EnosysStub, call: { arch: number; nr: number }): number | undefined {
  const s = stub.sections.get(call.arch >>> 0);
  if (!s) return undefined;
  const nr = call.nr >>> 0;
  const x64 = s.bounds.get('x86_64');
  const x32 = s.bounds.get('x32');
  if (x64 !== undefined || x32 !== undefined) {
    const isX32 = (nr & X32_BIT) !== 0;
    const bound = isX32 ? x32 : x64;
    if (bound === undefined) return undefined;
    return nr > bound ? ENOSYS_RET : undefined;
  }
  const [[id, bound]] = [...s.bounds] as [[ArchDef['id'], number]];
  if ((id === 's390' || id === 's390x') && nr === 0) return ENOSYS_RET;
  return nr > bound ? ENOSYS_RET : undefined;
}
