import { riskyNames, syscallRisk } from '../../../knowledge/syscall-info.js';
import { allows } from '../../verdicts.js';
import type { Finding, LintCheck } from '../types.js';
import { allowedHow } from './allowed-how.js';

/** Namespace flags of clone(2): CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. */
const CLONE_NEW = 0x7e020000n;

export const dangerous: LintCheck = {
  codes: [
    {
      code: 'dangerous-syscall',
      summary: 'a dangerous syscall is allowed (with the capability that still gates it)',
    },
    { code: 'clone-namespaces', summary: 'clone is allowed with any flags, namespaces included' },
    { code: 'clone3-unfiltered', summary: "clone3 is allowed: its flags are out of the filter's reach" },
    { code: 'namespace-syscall', summary: 'unshare or setns is allowed without an argument rule' },
  ],
  run(ctx) {
    const out: Finding[] = [];
    for (const name of riskyNames()) {
      if (name === 'clone' || name === 'clone3') continue; // below, with what matters about them
      const found = ctx.verdictOf(name);
      if (!found) continue;
      const how = allowedHow(found.v);
      if (!how) continue;
      const risk = syscallRisk(name)!;
      const caps = ctx.capabilities;
      // CAP_SYS_PTRACE gates only other users' processes: the container's own are reachable
      const capHeld =
        risk.capability === undefined ||
        risk.capability === 'CAP_SYS_PTRACE' ||
        caps.includes(risk.capability);
      out.push({
        code: 'dangerous-syscall',
        severity: capHeld && how === 'always' ? 'warning' : 'info',
        path: ctx.rulePath(name),
        message: `${name} is allowed${how === 'some' ? ' for some argument values' : ''}: ${risk.risk}${risk.capability ? `; ${risk.capability} gates it${risk.capability === 'CAP_SYS_PTRACE' ? ' for processes of other users only' : caps.includes(risk.capability) ? ', and the container has it' : ', which the container lacks (defence in depth)'}` : '; no capability is needed'}`,
        fix: `remove ${name} unless the workload needs it (sysfence check with a recording tells)`,
      });
    }
    const clone = ctx.verdictOf('clone');
    if (clone?.v.kind === 'fixed' && allows(clone.v.action))
      out.push({
        code: 'clone-namespaces',
        severity: 'warning',
        path: ctx.rulePath('clone'),
        message:
          'clone is allowed with any flags: CLONE_NEWUSER needs no capability, and a user namespace opens kernel code meant for root',
        fix: `allow clone only when (flags & 0x${CLONE_NEW.toString(16)}) == 0 (SCMP_CMP_MASKED_EQ on argument 0), as Docker's default does`,
      });
    const clone3 = ctx.verdictOf('clone3');
    if (clone3 && allowedHow(clone3.v))
      out.push({
        code: 'clone3-unfiltered',
        severity: 'info',
        path: ctx.rulePath('clone3'),
        message:
          'clone3 is allowed: its flags are in memory the filter cannot read, so namespace creation cannot be restricted as for clone',
        fix: 'deny clone3 with ERRNO(38) (glibc then uses clone, which can be filtered) unless the workload needs clone3-only features',
      });
    for (const name of ['unshare', 'setns']) {
      const v = ctx.verdictOf(name)?.v;
      if (v?.kind === 'fixed' && allows(v.action))
        out.push({
          code: 'namespace-syscall',
          severity: 'warning',
          path: ctx.rulePath(name),
          message: `${name} is allowed without an argument rule: it enters or creates namespaces (a user namespace needs no capability)`,
          fix: `remove ${name}, or allow it only for the namespace flags the workload needs`,
        });
    }
    return out;
  },
};
