/**
 * resolve(): what dockerd does to a profile before the runtime sees it (moby's setupSeccomp):
 * archMap picks the host's architectures, includes/excludes keep or drop rules by the container's
 * capabilities, the host's architecture and kernel version, `name` becomes `names`.
 */
import { findArch } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { DOCKER_DEFAULT_CAPABILITIES } from './capabilities.js';
import { errnoNumber } from './errno.js';
import type { Profile, SyscallRule } from './model.js';
import { ProfileError } from './profile-error.js';

export interface ResolveOptions {
  /** The host (native) architecture. Required: the library never asks the machine (cli/host.ts does). */
  arch: ArchId | ArchDef | string;
  /** The container's bounding capabilities; default: Docker's default set. */
  capabilities?: readonly string[];
  /** The host kernel version ("6.1"); default: DEFAULT_KERNEL (the library never asks the machine). */
  kernelVersion?: string;
}

/** Compares "a.b[.c]" versions on major.minor, as moby's kernelGreaterEqualThan does. */
export function kernelAtLeast(have: string, want: string): boolean {
  const [hm = 0, hn = 0] = have.split(/[.-]/).map((x) => Number.parseInt(x, 10) || 0);
  const [wm = 0, wn = 0] = want.split('.').map((x) => Number.parseInt(x, 10) || 0);
  return hm > wm || (hm === wm && hn >= wn);
}

function archOf(a: ResolveOptions['arch']): ArchDef {
  if (typeof a !== 'string') return a;
  const def = findArch(a);
  if (!def) throw new ProfileError('unknown-arch', '$', `unknown architecture "${a}"`);
  return def;
}

function keep(rule: SyscallRule, goArch: string | null, caps: readonly string[], kernel: string): boolean {
  const ex = rule.excludes;
  if (ex) {
    if (ex.arches?.length && goArch !== null && ex.arches.includes(goArch)) return false;
    if (ex.caps?.some((c) => caps.includes(c))) return false;
    if (ex.minKernel !== undefined && kernelAtLeast(kernel, ex.minKernel)) return false;
  }
  const inc = rule.includes;
  if (inc) {
    if (inc.arches?.length && (goArch === null || !inc.arches.includes(goArch))) return false;
    if (inc.caps?.length && !inc.caps.every((c) => caps.includes(c))) return false;
    if (inc.minKernel !== undefined && !kernelAtLeast(kernel, inc.minKernel)) return false;
  }
  return true;
}

const origins = new WeakMap<Profile, readonly number[]>();

/**
 * For a profile made by resolve(): the index in the original profile of each of its rules (rules
 * dropped by includes/excludes shift the rest). Undefined for a profile resolve() did not make.
 */
export function ruleOrigins(resolved: Profile): readonly number[] | undefined {
  return origins.get(resolved);
}

/** The OCI profile a runtime receives for a container with these properties. */
/**
 * The kernel version minKernel rules are judged against when none is given: Debian 12's series.
 * The library never reads the machine's kernel (same input, same output on every host); the CLI
 * passes the running kernel where its help says so.
 */
export const DEFAULT_KERNEL = '6.1';

export function resolve(p: Profile, opts: ResolveOptions): Profile {
  if (p.architectures && p.archMap)
    throw new ProfileError(
      'archmap-and-architectures',
      '$.archMap',
      'both "architectures" and "archMap" are set',
    );
  const arch = archOf(opts.arch);
  const caps = opts.capabilities ?? DOCKER_DEFAULT_CAPABILITIES;
  const kernel = opts.kernelVersion ?? DEFAULT_KERNEL;
  const out: Profile = { defaultAction: p.defaultAction };
  const der = p.defaultErrnoRet ?? (p.defaultErrno !== undefined ? errnoNumber(p.defaultErrno) : undefined);
  if (der !== undefined) out.defaultErrnoRet = der;
  let arches = p.architectures ? [...p.architectures] : undefined;
  if (p.archMap) {
    const entry = p.archMap.find((m) => m.architecture === arch.scmp);
    if (entry) arches = [entry.architecture, ...(entry.subArchitectures ?? [])];
  }
  if (arches && arches.length > 0) out.architectures = arches;
  if (p.flags) out.flags = [...p.flags];
  if (p.listenerPath !== undefined) out.listenerPath = p.listenerPath;
  if (p.listenerMetadata !== undefined) out.listenerMetadata = p.listenerMetadata;
  const rules: SyscallRule[] = [];
  const from: number[] = [];
  (p.syscalls ?? []).forEach((rule, i) => {
    if (rule.name !== undefined && rule.names && rule.names.length > 0)
      throw new ProfileError('name-and-names', `$.syscalls[${i}]`, 'a rule has both "name" and "names"');
    if (!keep(rule, arch.goArch, caps, kernel)) return;
    const names = rule.name !== undefined ? [rule.name] : [...(rule.names ?? [])];
    const r: SyscallRule = { names, action: rule.action };
    const errnoRet = rule.errnoRet ?? (rule.errno !== undefined ? errnoNumber(rule.errno) : undefined);
    if (errnoRet !== undefined) r.errnoRet = errnoRet;
    // conditions are shared, not copied: nothing downstream changes them (100,000 rules: ~70 MB less)
    if (rule.args && rule.args.length > 0) r.args = rule.args;
    rules.push(r);
    from.push(i);
  });
  out.syscalls = rules;
  origins.set(out, from);
  return out;
}
