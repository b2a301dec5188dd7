import { allows } from '../../verdicts.js';
import type { LintCheck } from '../types.js';

export const defaultAllow: LintCheck = {
  codes: [
    { code: 'default-allow', summary: 'the default action allows: a deny-list, open to every new syscall' },
  ],
  run: (ctx) =>
    allows(ctx.def)
      ? [
          {
            code: 'default-allow',
            severity: 'error',
            path: '$.defaultAction',
            message: `the default action is ${ctx.profile.defaultAction}: every syscall not listed is allowed, including those added to the kernel after this profile was written`,
            fix: 'make it an allow-list: defaultAction SCMP_ACT_ERRNO with defaultErrnoRet 38 (sysfence generate from a recording)',
          },
        ]
      : [],
};
