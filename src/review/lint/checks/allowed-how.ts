import type { SyscallVerdict } from '../../verdicts.js';
import { allows } from '../../verdicts.js';

/** Whether a verdict allows the call always, for some argument values, or never. */
export const allowedHow = (v: SyscallVerdict): 'always' | 'some' | undefined =>
  v.kind === 'fixed'
    ? allows(v.action)
      ? 'always'
      : undefined
    : v.rules.some((r) => allows(r.action)) || allows(v.otherwise)
      ? 'some'
      : undefined;
