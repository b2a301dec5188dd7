/**
 * Profiles sysfence writes (generate, record, merge, run --learn, convert) must mean the same under
 * runc and crun as they say: this finds rules libseccomp (2.5 and 2.6) would refuse or compile into
 * another answer, and rewrites them into an equivalent form it compiles exactly (rewrite.ts). When
 * no rewrite is found, it refuses to write the profile (fail closed) rather than emit one whose
 * enforced meaning differs from what it says.
 */
import { findArch } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';
import type { LibseccompVersion } from '../libseccomp/names.js';
import { archFromScmp } from '../profile/arch-names.js';
import type { Profile } from '../profile/model.js';
import { ruleNames } from '../profile/model.js';
import { ProfileError } from '../profile/profile-error.js';
import { DEFAULT_KERNEL, resolve } from '../profile/resolve.js';
import { divergences } from './divergences.js';
import { replaceRules, rewriteSyscall } from './rewrite.js';
import { type RuntimeTarget, runtimeTarget } from './target.js';

const MISCOMPILED = new Set(['libseccomp-bug', 'precedence', 'no-number-load']);
const VERSIONS: readonly LibseccompVersion[] = ['2.5', '2.6'];

export interface ExactResult {
  profile: Profile;
  /** One line per syscall whose rules were rewritten. */
  rewritten: string[];
}

/** The host ABI a profile is for: its first architecture (a profile naming none: x86_64, never this machine's). */
function hostOf(p: Profile): ArchId {
  const first = p.architectures?.[0] ? archFromScmp(p.architectures[0]) : undefined;
  return first?.id ?? 'x86_64';
}

function problems(p: Profile, t: RuntimeTarget): { refusedName?: string; names: string[]; refused?: string } {
  const r = divergences(resolve(p, { arch: t.native, kernelVersion: DEFAULT_KERNEL }), t);
  if (r.refused) {
    const out: { refusedName?: string; names: string[]; refused?: string } = {
      names: [],
      refused: r.refused.message,
    };
    if (r.refused.name) out.refusedName = r.refused.name;
    return out;
  }
  const unloaded = r.syscalls.find((d) => d.label === 'no-number-load');
  if (unloaded)
    throw new ProfileError(
      'libseccomp-miscompiles',
      '$.syscalls',
      `under libseccomp ${t.libseccomp}, ${unloaded.reason.replace(/^intends [^;]*; [^:]*: /, '')}; sysfence does not write such a profile: give an unconditional rule to a syscall ${unloaded.abi.id} has, or leave out the names it lacks`,
    );
  return { names: [...new Set(r.syscalls.filter((d) => MISCOMPILED.has(d.label)).map((d) => d.name))] };
}

/**
 * The profile, with the argument rules libseccomp gets wrong rewritten. Only resolved-style
 * profiles (no archMap, includes or excludes on the rules concerned) can be rewritten; others are
 * refused with the syscall named.
 */
export function ensureRuntimeExact(profile: Profile, o: { native?: ArchId } = {}): ExactResult {
  const native = o.native ?? hostOf(profile);
  if (!findArch(native)) return { profile, rewritten: [] };
  let p = profile;
  const rewritten: string[] = [];
  for (let round = 0; round < 16; round++) {
    let fixedOne = false;
    for (const v of VERSIONS) {
      const t = runtimeTarget('libseccomp', { native, libseccomp: v });
      const found = problems(p, t);
      const names = found.refusedName ? [found.refusedName] : found.names;
      if (found.refused && !found.refusedName)
        throw new ProfileError(
          'libseccomp-refuses',
          '$',
          `libseccomp ${v} refuses the profile: ${found.refused}`,
        );
      for (const name of names) {
        const touched = (p.syscalls ?? []).filter((r) => ruleNames(r).includes(name));
        if (p.archMap || touched.some((r) => r.includes || r.excludes))
          throw new ProfileError(
            'libseccomp-miscompiles',
            '$.syscalls',
            `libseccomp ${v} would not enforce the rules for ${name} as written, and rules with includes/excludes or an archMap are not rewritten: run sysfence lint for a rewrite`,
          );
        const others = VERSIONS.filter((x) => x !== v).map((x) =>
          runtimeTarget('libseccomp', { native, libseccomp: x }),
        );
        const rw = rewriteSyscall(p, t, name, others);
        if (!rw)
          throw new ProfileError(
            found.refused ? 'libseccomp-refuses' : 'libseccomp-miscompiles',
            '$.syscalls',
            `libseccomp ${v} would ${found.refused ? 'refuse' : 'not enforce'} the rules for ${name} as written, and no equivalent form it compiles exactly was found: the profile is not written (enforce it with sysfence's own filter, or change the rules)`,
          );
        p = replaceRules(p, name, rw.rules);
        rewritten.push(
          `${name}: rules rewritten (same meaning) so that libseccomp ${VERSIONS.join(' and ')} compile them exactly`,
        );
        fixedOne = true;
      }
    }
    if (!fixedOne) return { profile: p, rewritten };
  }
  throw new ProfileError(
    'libseccomp-miscompiles',
    '$.syscalls',
    'rewriting the rules for libseccomp did not settle',
  );
}
