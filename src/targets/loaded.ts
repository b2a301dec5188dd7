/**
 * Is the filter running in a process the one a profile makes? The filters the kernel holds for the
 * process (exec/seccomp-filters.ts) against what the runtime builds from the profile: libseccomp's
 * program as the model makes it, with runc's ENOSYS stub, for Docker, runc, Podman and crun; the
 * compiled program for sysfence's own filter. Compared on every call of the host's ABIs (every
 * number, every argument value: bpf/compare.ts) and one call of every other architecture.
 */
import { ARCH_DEFS } from '../arch/defs.js';
import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { type Answerer, compareStacks } from '../bpf/compare.js';
import type { Program } from '../bpf/instruction.js';
import { abiNumbers } from '../compiler/cases.js';
import { compile } from '../compiler/compile.js';
import { actionOfRet } from '../compiler/ret.js';
import { modelProgram } from '../libseccomp/run.js';
import type { Action } from '../profile/actions.js';
import { hostAbis } from '../profile/baseline.js';
import type { Profile } from '../profile/model.js';
import { stubAnswer } from './runc-stub.js';
import { describeTarget, RUNTIMES, type RuntimeTarget } from './target.js';
import { runtimeFilter } from './verdict.js';

export interface LoadedDifference {
  abi: string;
  name: string;
  nr: number;
  args: bigint[];
  loaded: Action;
  expected: Action;
}

export type LoadedComparison =
  | { equal: boolean; differences: LoadedDifference[]; calls: number; against: string }
  | { unsupported: string; against: string };

/** The calls compared: every number of the host's ABIs, and nr 0 of every other AUDIT_ARCH value. */
export function callSpace(host: ArchDef): { arch: number; nr: number }[] {
  const seen = new Set<string>();
  const out: { arch: number; nr: number }[] = [];
  const add = (arch: number, nr: number) => {
    const k = `${arch}:${nr}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ arch, nr });
  };
  for (const a of hostAbis(host)) for (const nr of abiNumbers(a)) add(a.auditArch, nr);
  for (const a of ARCH_DEFS) add(a.auditArch, 0);
  add(0x12345678, 0);
  return out;
}

/** What the runtime enforces for a resolved profile, as an answerer; or why it cannot be said. */
export function expectedAnswerer(resolved: Profile, target: RuntimeTarget): Answerer | { refused: string } {
  if (RUNTIMES[target.runtime].engine === 'sysfence') {
    const program = compile(resolved, { nativeArch: target.native }).instructions;
    return () => ({ programs: [program] });
  }
  const rf = runtimeFilter(resolved, target);
  if (rf.refused) return { refused: rf.refused.message };
  if (rf.unmodelled || !rf.filter) return { refused: rf.unmodelled ?? 'no model of this runtime' };
  const program = modelProgram(rf.filter).instructions;
  const stub = rf.stub;
  return (call) => {
    const s = stub ? stubAnswer(stub, call) : undefined;
    return s !== undefined ? { ret: s } : { programs: [program] };
  };
}

/** The name of a call for people: its ABI (x32 by the number's bit) and table name. */
function callOf(arch: number, nr: number): { abi: string; name: string } {
  const abis = ARCH_DEFS.filter((a) => a.auditArch === arch >>> 0);
  const abi =
    abis.find((a) => a.nrBit?.set && (nr & a.nrBit.bit) !== 0) ?? abis.find((a) => !a.nrBit?.set) ?? abis[0];
  if (!abi) return { abi: `arch 0x${(arch >>> 0).toString(16)}`, name: `#${nr >>> 0}` };
  return { abi: abi.id, name: syscallTable(abi).name(nr >>> 0) ?? `#${nr >>> 0}` };
}

/**
 * The loaded filters (newest first, as the kernel runs them) against `profile` (resolved for the
 * host) under `target`; with `profile` undefined, against no filter at all (everything allowed).
 */
export function compareLoaded(
  loaded: readonly Program[],
  profile: Profile | undefined,
  target: RuntimeTarget,
  host: ArchDef,
  against: string,
): LoadedComparison {
  const expected: Answerer | { refused: string } = profile
    ? expectedAnswerer(profile, target)
    : () => ({ ret: 0x7fff0000 });
  const who = profile ? `${against} as ${describeTarget(target)} enforces it` : against;
  if ('refused' in expected)
    return {
      unsupported: `${describeTarget(target)} does not build a filter from it: ${expected.refused}`,
      against: who,
    };
  const calls = callSpace(host);
  const mine: Answerer = () => (loaded.length === 0 ? { ret: 0x7fff0000 } : { programs: [...loaded] });
  const r = compareStacks(mine, expected, calls, host.endian);
  if ('unsupported' in r) return { unsupported: r.unsupported, against: who };
  const differences = r.differences.map((d) => ({
    ...callOf(d.arch, d.nr),
    nr: d.nr >>> 0,
    args: d.args,
    loaded: actionOfRet(d.left),
    expected: actionOfRet(d.right),
  }));
  return { equal: differences.length === 0, differences, calls: calls.length, against: who };
}
