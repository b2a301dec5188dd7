import { profileProvenance } from '../../../profile/provenance.js';
import type { Finding, LintCheck } from '../types.js';

/**
 * Calls a profile allows because static reach predicted them (their rule's comment says so, see
 * profile/provenance.ts), not because a run made them: a reviewer should know which allowances
 * rest on reading the code, and whether their use is logged.
 */
export const predicted: LintCheck = {
  codes: [
    {
      code: 'predicted-calls',
      summary: 'calls allowed because static reach predicted them, not because a run made them',
    },
  ],
  run(ctx) {
    const prov = profileProvenance(ctx.profile);
    const out: Finding[] = [];
    const rules = ctx.profile.syscalls ?? [];
    for (const [i, r] of rules.entries()) {
      const names = (r.names ?? []).filter((n) => prov.get(n)?.kind === 'predicted');
      if (names.length === 0) continue;
      const logged = r.action === 'SCMP_ACT_LOG';
      const allowed = logged || r.action === 'SCMP_ACT_ALLOW';
      if (!allowed) continue;
      const shown = names.slice(0, 8).join(', ');
      out.push({
        code: 'predicted-calls',
        severity: 'info',
        path: `$.syscalls[${i}]`,
        message: `${names.length} call${names.length === 1 ? '' : 's'} allowed on static reach alone (${shown}${names.length > 8 ? `, and ${names.length - 8} more` : ''}): no recorded run made ${names.length === 1 ? 'it' : 'them'}; ${logged ? 'each use is logged by the kernel (SCMP_ACT_LOG)' : 'their use is not logged'}`,
        fix: logged
          ? 'record inputs that make these calls (they become recorded), or read the kernel log (type=1326) to see which ones real inputs use'
          : 'generate with --predicted log to see which ones real inputs use, or --predicted deny to leave them out',
      });
    }
    return out;
  },
};
