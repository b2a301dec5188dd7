import { ENOSYS_PROBED } from '../../../knowledge/probed-calls.js';
import { syscallArgs } from '../../../knowledge/syscall-args.js';
import { formatAction, sameAction, toAction } from '../../../profile/actions.js';
import { ruleNames } from '../../../profile/model.js';
import type { Finding, LintCheck } from '../types.js';

function probedOnly(names: readonly string[]): boolean {
  return names.length > 0 && names.every((n) => ENOSYS_PROBED.some((p) => p.name === n));
}

/** Rules with no effect, or that do not do what they say. */
export const rules: LintCheck = {
  codes: [
    { code: 'rule-equals-default', summary: 'a rule does what the default does (runc drops it)' },
    { code: 'ne-same-index', summary: 'several SCMP_CMP_NE on one argument: ORed by runc, so always true' },
    {
      code: 'pointer-argument',
      summary: 'a condition on a pointer argument (the filter sees the address only)',
    },
  ],
  run(ctx) {
    const out: Finding[] = [];
    (ctx.profile.syscalls ?? []).forEach((r, i) => {
      const act = toAction(r.action, r.errnoRet);
      if (!r.args?.length && !r.includes && !r.excludes && sameAction(act, ctx.def))
        out.push({
          code: 'rule-equals-default',
          severity: 'info',
          path: `$.syscalls[${i}]`,
          message: `rule ${i} (${ruleNames(r).slice(0, 5).join(', ')}${ruleNames(r).length > 5 ? ', ...' : ''}) does what the default does (${formatAction(act)}); runc drops it`,
          fix: probedOnly(r.names ?? [])
            ? 'keep it if the profile may run where defaultErrnoRet is dropped (Docker 20.10): it pins ENOSYS'
            : 'remove it, or give it the action it was meant to have',
        });
      const byIndex = new Map<number, number>();
      for (const a of r.args ?? [])
        if (a.op === 'SCMP_CMP_NE') byIndex.set(a.index, (byIndex.get(a.index) ?? 0) + 1);
      for (const [index, n] of byIndex)
        if (n > 1)
          out.push({
            code: 'ne-same-index',
            severity: 'error',
            path: `$.syscalls[${i}].args`,
            message: `rule ${i} has ${n} SCMP_CMP_NE conditions on argument ${index}: runc turns conditions on a repeated index into separate rules (ORed), and "a != x OR a != y" holds for every value`,
            fix: `write one allow rule per permitted value (SCMP_CMP_EQ), or put the excluded values in deny rules before an unconditional allow`,
          });
      for (const name of ruleNames(r))
        for (const a of r.args ?? []) {
          const arg = syscallArgs(name)?.[a.index];
          if (arg?.pointer)
            out.push({
              code: 'pointer-argument',
              severity: 'warning',
              path: `$.syscalls[${i}].args[${(r.args ?? []).indexOf(a)}]`,
              message: `rule ${i} checks argument ${a.index} of ${name} (${arg.name ? `${arg.name}, ` : ''}${arg.type}), a pointer: the filter sees the address, not the data, and the process can change the data after the check`,
              fix: 'do not rely on it: filter the call as a whole, or check the data with a user-space supervisor (SCMP_ACT_NOTIFY) or an LSM',
            });
        }
    });
    return out;
  },
};
