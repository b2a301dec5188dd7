import { findArch } from '../../../arch/tables.js';
import type { Finding, LintCheck } from '../types.js';

export const companions: LintCheck = {
  codes: [{ code: 'missing-companion', summary: 'an ABI is filtered without its companion ABIs (x86, x32)' }],
  run(ctx) {
    const out: Finding[] = [];
    const p = ctx.profile;
    for (const a of ctx.arches) {
      const missing = a.companions.filter((c) => !ctx.arches.some((x) => x.id === c));
      if (
        missing.length > 0 &&
        !ctx.arches.some((x) => x.companions.length === 0 && a.companions.includes(x.id))
      )
        out.push({
          code: 'missing-companion',
          severity: 'info',
          path: p.archMap ? '$.archMap' : p.architectures ? '$.architectures' : '$',
          message: `${a.id} is filtered but not its companion ABI${missing.length === 1 ? '' : 's'} ${missing.join(', ')}: calls made through them (int 0x80, x32 numbers) get the bad-arch action, KILL`,
          fix: `fine unless the workload runs ${missing.join('/')} code; then add ${missing.map((m) => findArch(m)!.scmp).join(', ')} (generate --companions)`,
        });
    }
    return out;
  },
};
