/** explain: what a syscall is and how Docker treats it; what a profile allows, against Docker's default. */
import { ARCH_DEFS } from '../arch/defs.js';
import { LIBSECCOMP_UNKNOWN_NAMES, LIBSECCOMP_VERSION } from '../arch/tables/libseccomp.gen.js';
import {
  findArch,
  isKnownSyscallName,
  isLegacySyscallName,
  KNOWN_SYSCALL_NAMES,
  syscallTable,
} from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { type Category, namesByCategory } from '../knowledge/categories.js';
import { syscallRisk, syscallSummary } from '../knowledge/syscall-info.js';
import { formatAction } from './actions.js';
import { hostArchFor } from './arch-names.js';
import { DOCKER_DEFAULT_CAPABILITIES } from './capabilities.js';
import type { Profile } from './model.js';
import { ruleNames } from './model.js';
import { type ArchPolicy, buildPolicy } from './policy.js';
import { ProfileError } from './profile-error.js';
import { referenceProfile } from './reference-profiles.js';
import { DEFAULT_KERNEL, resolve } from './resolve.js';
import { closest } from './suggest.js';
import { targetArches } from './validate.js';

export interface SyscallExplanation {
  name: string;
  summary: string | null;
  /** Number per ABI (null where the ABI lacks it), in ARCH_DEFS order. */
  numbers: Record<string, number | null>;
  legacy: boolean;
  /** libseccomp (and so runc/crun built on it) cannot resolve the name and drops rules for it. */
  unknownToLibseccomp: boolean;
  capability: string | null;
  risk: string | null;
  docker: { arch: string; verdict: 'allowed' | 'conditional' | 'denied' | 'absent'; detail: string };
}

/** Accepts a name, or a number on `arch` (default x86_64). */
export function explainSyscall(query: string, archName = 'x86_64'): SyscallExplanation {
  const arch = findArch(archName);
  if (!arch) throw new ProfileError('unknown-arch', '$', `unknown architecture "${archName}"`);
  let name = query;
  if (/^\d+$/.test(query)) {
    const n = syscallTable(arch).name(Number(query));
    if (!n) throw new ProfileError('unknown-syscall', '$', `${arch.id} has no syscall number ${query}`);
    name = n;
  } else if (!isKnownSyscallName(query)) {
    const guess = closest(query, KNOWN_SYSCALL_NAMES);
    throw new ProfileError(
      'unknown-syscall',
      '$',
      `unknown syscall "${query}"${guess ? `; did you mean "${guess}"?` : ''}`,
    );
  }
  const numbers: Record<string, number | null> = {};
  for (const a of ARCH_DEFS) numbers[a.id] = syscallTable(a).number(name) ?? null;
  const risk = syscallRisk(name);
  return {
    name,
    summary: syscallSummary(name) ?? null,
    numbers,
    legacy: isLegacySyscallName(name),
    unknownToLibseccomp: LIBSECCOMP_UNKNOWN_NAMES.includes(name),
    capability: risk?.capability ?? null,
    risk: risk?.risk ?? null,
    docker: dockerVerdict(name, arch),
  };
}

function dockerVerdict(name: string, arch: ArchDef): SyscallExplanation['docker'] {
  const nr = syscallTable(arch).number(name);
  if (nr === undefined) return { arch: arch.id, verdict: 'absent', detail: `${arch.id} has no ${name}` };
  const docker = referenceProfile('docker-default');
  const host = hostArchFor(docker, arch);
  const resolved = resolve(docker, {
    arch: host,
    capabilities: DOCKER_DEFAULT_CAPABILITIES,
    kernelVersion: DEFAULT_KERNEL,
  });
  const ap = buildPolicy(resolved, { nativeArch: host.id }).byArch.get(arch.id);
  const s = ap?.syscalls.get(nr);
  if (s?.unconditional?.action.kind === 'ALLOW')
    return { arch: arch.id, verdict: 'allowed', detail: 'allowed with the default capabilities' };
  if (s?.conditional.some((r) => r.action.kind === 'ALLOW'))
    return {
      arch: arch.id,
      verdict: 'conditional',
      detail: `allowed only for some argument values (${conditionText(s.conditional[0]!.conditions)})`,
    };
  const verdict = s?.unconditional ? formatAction(s.unconditional.action) : formatAction(ap!.defaultAction);
  const reasons: string[] = [];
  for (const r of docker.syscalls ?? []) {
    if (!ruleNames(r).includes(name) || r.action !== 'SCMP_ACT_ALLOW') continue;
    if (r.includes?.caps?.length) reasons.push(`allowed only with ${r.includes.caps.join(' and ')}`);
    else if (r.includes?.arches?.length) reasons.push(`allowed only on ${r.includes.arches.join(', ')}`);
    else if (r.includes?.minKernel) reasons.push(`allowed only on kernels >= ${r.includes.minKernel}`);
  }
  const why = reasons.length > 0 ? reasons.join('; ') : "not in Docker's allow-list";
  return { arch: arch.id, verdict: 'denied', detail: `${verdict}: ${why}` };
}

function conditionText(conds: { index: number; op: string; value: bigint; valueTwo: bigint }[]): string {
  return conds
    .map((c) =>
      c.op === 'SCMP_CMP_MASKED_EQ'
        ? `arg${c.index} & 0x${c.value.toString(16)} == ${c.valueTwo}`
        : `arg${c.index} ${c.op.replace('SCMP_CMP_', '')} ${c.value}`,
    )
    .join(' and ');
}

export interface ArchSummary {
  arch: string;
  defaultAction: string;
  /** Names (unique numbers) allowed unconditionally on this ABI. */
  allowed: number;
  /** Names allowed for some argument values only. */
  conditional: number;
  /** Names with an explicit rule that does not allow them. */
  denied: number;
  docker: { allowed: number; conditional: number };
  /** Allowed here but not by Docker's default, and the reverse. */
  onlyHere: string[];
  onlyDocker: string[];
  /** Per category (knowledge/categories): names allowed (unconditionally), by argument, in the table. */
  categories: {
    category: Category;
    allowed: number;
    conditional: number;
    total: number;
    allowedNames: string[];
  }[];
}

function countArch(ap: ArchPolicy): { allowed: Set<string>; conditional: Set<string>; denied: number } {
  const table = syscallTable(ap.arch);
  const allowed = new Set<string>();
  const conditional = new Set<string>();
  let denied = 0;
  const allowKinds = new Set(['ALLOW', 'LOG']);
  const defAllows = allowKinds.has(ap.defaultAction.kind);
  for (const [name, nr] of table.entries) {
    if (table.name(nr) !== name) continue;
    const s = ap.syscalls.get(nr);
    if (!s) {
      if (defAllows) allowed.add(name);
      continue;
    }
    if (s.unconditional) {
      if (allowKinds.has(s.unconditional.action.kind)) allowed.add(name);
      else denied++;
    } else if (s.conditional.some((r) => allowKinds.has(r.action.kind)) || defAllows) conditional.add(name);
    else denied++;
  }
  return { allowed, conditional, denied };
}

/** Per-ABI counts of what a profile allows, compared with Docker's default on the same ABI. */
export function explainProfile(
  p: Profile,
  opts: { arches?: string[]; capabilities?: readonly string[]; kernelVersion?: string } = {},
): ArchSummary[] {
  const abis = opts.arches?.length
    ? opts.arches.map((a) => {
        const d = findArch(a);
        if (!d) throw new ProfileError('unknown-arch', '$', `unknown architecture "${a}"`);
        return d;
      })
    : targetArches(p).length > 0
      ? targetArches(p)
      : [findArch('x86_64')!];
  const docker = referenceProfile('docker-default');
  const caps = opts.capabilities ?? DOCKER_DEFAULT_CAPABILITIES;
  const kernelVersion = opts.kernelVersion ?? DEFAULT_KERNEL;
  return abis.map((abi) => {
    const host = hostArchFor(p, abi);
    const rp = resolve(p, { arch: host, capabilities: caps, kernelVersion });
    const mine = buildPolicy(rp, { nativeArch: host.id }).byArch.get(abi.id);
    const dHost = hostArchFor(docker, abi);
    const dp = resolve(docker, { arch: dHost, capabilities: caps, kernelVersion });
    const theirs = buildPolicy(dp, { nativeArch: dHost.id }).byArch.get(abi.id);
    const a = mine
      ? countArch(mine)
      : { allowed: new Set<string>(), conditional: new Set<string>(), denied: 0 };
    const d = theirs
      ? countArch(theirs)
      : { allowed: new Set<string>(), conditional: new Set<string>(), denied: 0 };
    return {
      arch: abi.id,
      defaultAction: mine ? formatAction(mine.defaultAction) : 'not in the filter (bad-arch action)',
      allowed: a.allowed.size,
      conditional: a.conditional.size,
      denied: a.denied,
      docker: { allowed: d.allowed.size, conditional: d.conditional.size },
      onlyHere: [...a.allowed].filter((n) => !d.allowed.has(n)).sort(),
      onlyDocker: [...d.allowed].filter((n) => !a.allowed.has(n)).sort(),
      categories: [...namesByCategory(abi)]
        .filter(([, names]) => names.length > 0)
        .map(([category, names]) => ({
          category,
          allowed: names.filter((n) => a.allowed.has(n)).length,
          conditional: names.filter((n) => a.conditional.has(n)).length,
          total: names.length,
          allowedNames: names.filter((n) => a.allowed.has(n)).sort(),
        })),
    };
  });
}

export { LIBSECCOMP_VERSION };
