import { findArch } from '../../arch/tables.js';
import type { ArchDef } from '../../arch/types.js';
import { DOCKER_DEFAULT_CAPABILITIES } from '../../profile/capabilities.js';
import type { Profile } from '../../profile/model.js';
import { profileDefaultAction } from '../../profile/policy.js';
import { DEFAULT_KERNEL } from '../../profile/resolve.js';
import { targetArches } from '../../profile/validate.js';
import { runtimeTarget } from '../../targets/target.js';
import { type ReviewOptions, type SyscallVerdict, verdictTable } from '../verdicts.js';
import type { LintContext } from './types.js';

export function lintContext(p: Profile, o: ReviewOptions & { rewrites?: boolean } = {}): LintContext {
  const arches = targetArches(p).length > 0 ? targetArches(p) : [findArch('x86_64')!];
  const tables = arches.map((a) => verdictTable(p, a, o));
  const ruleIndex = (name: string) =>
    (p.syscalls ?? []).findIndex((r) => (r.names ?? []).includes(name) || r.name === name);
  return {
    profile: p,
    capabilities: o.capabilities ?? DOCKER_DEFAULT_CAPABILITIES,
    kernelVersion: o.kernelVersion ?? DEFAULT_KERNEL,
    target: o.target ?? runtimeTarget('docker', { native: arches[0]!.id }),
    rewrites: o.rewrites ?? true,
    arches,
    tables,
    def: profileDefaultAction(p),
    verdictOf(name: string): { v: SyscallVerdict; abi: ArchDef } | undefined {
      for (const t of tables) {
        const c = t.calls.find((x) => x.name === name);
        if (c && t.accepted) return { v: c.verdict, abi: t.abi };
      }
      return undefined;
    },
    rulePath(name: string): string {
      const i = ruleIndex(name);
      if (i < 0) return '$.defaultAction';
      const r = p.syscalls![i]!;
      const j = (r.names ?? []).indexOf(name);
      return j >= 0 ? `$.syscalls[${i}].names[${j}]` : `$.syscalls[${i}].name`;
    },
  };
}
