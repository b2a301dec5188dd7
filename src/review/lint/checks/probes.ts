import { ENOSYS_PROBED } from '../../../knowledge/probed-calls.js';
import { formatAction } from '../../../profile/actions.js';
import { ENOSYS } from '../../../profile/errno.js';
import { allows } from '../../verdicts.js';
import type { Finding, LintCheck } from '../types.js';

export const probes: LintCheck = {
  codes: [
    { code: 'probe-not-enosys', summary: 'a call libraries probe is denied with another errno than ENOSYS' },
  ],
  run(ctx) {
    const out: Finding[] = [];
    for (const { name, who } of ENOSYS_PROBED) {
      const found = ctx.verdictOf(name);
      if (found?.v.kind !== 'fixed' || allows(found.v.action)) continue;
      const a = found.v.action;
      if (a.kind === 'ERRNO' && a.data === ENOSYS) continue;
      out.push({
        code: 'probe-not-enosys',
        severity: name === 'clone3' ? 'error' : 'warning',
        path: ctx.rulePath(name),
        message: `${name} is denied with ${formatAction(a)}, not ENOSYS: ${who} only on ENOSYS, so ${name === 'clone3' ? 'thread and process creation fail' : 'the operation fails'}`,
        fix: `deny ${name} with an explicit rule: SCMP_ACT_ERRNO with errnoRet 38 (defaultErrnoRet is not honoured everywhere: Docker 20.10 drops it)`,
      });
    }
    return out;
  },
};
