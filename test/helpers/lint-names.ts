// What lint's libseccomp findings name, for the differentials that hold lint to the model
// (lint-exact) and to the real library (runtime-exact).
import type { Profile, SyscallRule } from '../../src/profile/model.js';
import { lintProfile } from '../../src/review/lint/index.js';
import type { RuntimeTarget } from '../../src/targets/target.js';

const LINT_CODES = new Set(['libseccomp-refuses', 'libseccomp-miscompiles', 'dropped-by-libseccomp']);

/**
 * The syscalls lint's libseccomp findings name ("*": the profile is refused), and the rewrites it
 * proposes (searched only when `rewrites` is true).
 */
export function lintLibseccompNames(
  p: Profile,
  target: RuntimeTarget,
  rewrites: boolean,
): { names: Set<string>; rewrites: { name: string; rules: SyscallRule[] }[] } {
  const names = new Set<string>();
  const proposed: { name: string; rules: SyscallRule[] }[] = [];
  for (const f of lintProfile(p, { target, kernelVersion: '6.1', rewrites })) {
    if (!LINT_CODES.has(f.code)) continue;
    if (f.code === 'libseccomp-refuses') names.add('*');
    else if (f.code === 'dropped-by-libseccomp' && /changes nothing/.test(f.message)) continue;
    else {
      const m = /^(?:under .*?, )?(\w+)\(|does not know (\w+)|no number for (\w+)/.exec(f.message);
      const name = m?.[1] ?? m?.[2] ?? m?.[3];
      if (name) names.add(name);
    }
    const rules = f.rewrite as SyscallRule[] | undefined;
    if (rules?.length) proposed.push({ name: rules[0]!.names![0]!, rules });
  }
  return { names, rewrites: proposed };
}
