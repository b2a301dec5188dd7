import { ARCH_DEFS } from '../arch/defs.js';
import { findArch } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import type { Profile } from './model.js';

/** SCMP_ARCH_* spellings runc accepts. */
export const SCMP_ARCH_NAMES: readonly string[] = ARCH_DEFS.map((a) => a.scmp);

/** The ABI for an OCI `SCMP_ARCH_*` name (exact spelling only, as runc requires). */
export function archFromScmp(name: string): ArchDef | undefined {
  return ARCH_DEFS.find((a) => a.scmp === name);
}

/**
 * Spellings accepted in Docker's `includes.arches` / `excludes.arches`: dockerd compares them with
 * Go's runtime.GOARCH (amd64, arm64, ...); Docker's own profile also uses x86, x32 and the SCMP ids.
 */
export function filterArchMatches(spelling: string): ArchDef | undefined {
  return findArch(spelling);
}

/** The host ABI whose archMap entry (or architectures list) carries `abi` (x86 rides on x86_64). */
export function hostArchFor(p: Profile, abi: ArchDef): ArchDef {
  for (const m of p.archMap ?? []) if (m.architecture === abi.scmp) return abi;
  for (const m of p.archMap ?? [])
    if ((m.subArchitectures ?? []).includes(abi.scmp)) return findArch(m.architecture) ?? abi;
  return abi;
}
