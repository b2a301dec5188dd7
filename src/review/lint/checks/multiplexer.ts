import { ruleNames } from '../../../profile/model.js';
import { allows } from '../../verdicts.js';
import type { LintCheck } from '../types.js';

/** A rule on a multiplexed call's arguments does not bind it on ABIs with socketcall/ipc. */
export const multiplexer: LintCheck = {
  codes: [
    { code: 'multiplexer-bypass', summary: 'argument rules on socket/IPC calls that socketcall/ipc bypass' },
  ],
  run(ctx) {
    return (ctx.profile.syscalls ?? []).flatMap((r, i) => {
      if (!r.args?.length) return [];
      const bypassed: string[] = [];
      const weakened: string[] = [];
      let via = '';
      let names: string[] = [];
      for (const t of ctx.tables) {
        if (!t.accepted) continue;
        for (const m of t.abi.multiplexers) {
          const mux = t.calls.find((c) => c.name === m.syscall);
          const mine = ruleNames(r).filter((n) => m.calls[n] !== undefined);
          if (!mux || mine.length === 0) continue;
          names = mine;
          via = m.syscall;
          if (mux.verdict.kind === 'fixed' && allows(mux.verdict.action)) bypassed.push(t.abi.id);
          else weakened.push(t.abi.id);
        }
      }
      if (bypassed.length + weakened.length === 0) return [];
      return [
        {
          code: 'multiplexer-bypass',
          severity: bypassed.length > 0 ? ('error' as const) : ('warning' as const),
          path: `$.syscalls[${i}].args`,
          message: `rule ${i} checks the arguments of ${names.join(', ')}, which ${[...bypassed, ...weakened].join(', ')} also reach through ${via}() with the arguments in memory: ${bypassed.length > 0 ? `${via} is allowed outright there (${bypassed.join(', ')}), so the rule is bypassed` : 'its argument 0 conditions are lost there'}`,
          fix: `deny ${via} (modern libcs make the direct calls), or leave the 32-bit ABIs out of the filter if nothing runs as them`,
        },
      ];
    });
  },
};
