/**
 * Profile -> classic BPF. Layout:
 *
 *   ld [4]; jeq AUDIT_ARCH_A -> A; jeq AUDIT_ARCH_B -> B; ...; ret BAD_ARCH
 *   A: ld [0]; a balanced tree of `jge` over the ranges of equal verdict (the x32 guard and the
 *      ENOSYS stub are ranges too); leaves jump straight to shared `ret`s or to argument blocks
 *   A's argument blocks; A's returns
 *
 * Every path to an unconditional verdict reads only arch and nr, so the kernel's per-syscall
 * cache (Linux >= 5.11) can skip the filter for allowed calls.
 */

import { syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { type BuiltProgram, ProgramBuilder } from '../bpf/builder.js';
import * as op from '../bpf/opcodes.js';
import { SysfenceError } from '../errors.js';
import type { ActionKind } from '../profile/actions.js';
import type { Profile } from '../profile/model.js';
import { auditGroups, computePolicy, type PolicyOptions } from '../profile/policy.js';
import { emitBlock } from './block.js';
import { retValue } from './ret.js';
import { groupSegments, type Segment } from './segments.js';

export interface CompileOptions extends PolicyOptions {
  /** Action for an ABI the filter does not accept; default KILL_PROCESS. */
  badArchAction?: ActionKind;
  /** runc's ENOSYS stub for numbers above the highest the profile names. */
  enosysStub?: boolean;
}

export interface CompiledFilter extends BuiltProgram {
  /** Per AUDIT_ARCH group: its ABIs, the number of ranges and the depth of its decision tree. */
  groups: { arches: string[]; ranges: number; depth: number }[];
}

export class CompileError extends SysfenceError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'CompileError';
  }
}

/**
 * Split points of the decision tree. A leaf that costs c more instructions (an argument block)
 * weighs 2^c; each node splits its ranges where the weights on both sides are closest to equal
 * (ties towards the middle). This keeps the longest path (jumps plus the leaf's own instructions)
 * near the Kraft bound while every split is found by binary search: O(n log n). Argument blocks
 * end up near the root, which is right for the kernel too: only calls with argument rules run the
 * filter on every call, allowed calls are cached.
 */
function planTree(costs: number[]): (lo: number, hi: number) => number {
  const prefix = [0];
  for (const c of costs) prefix.push(prefix[prefix.length - 1]! + 2 ** Math.min(c, 16));
  return (lo, hi) => {
    const total = prefix[hi + 1]! - prefix[lo]!;
    const half = prefix[lo]! + total / 2;
    // smallest k in (lo, hi] with prefix[k] >= half, then the better of k and k-1
    let a = lo + 1;
    let b = hi;
    while (a < b) {
      const m = (a + b) >> 1;
      if (prefix[m]! >= half) b = m;
      else a = m + 1;
    }
    const mid = (lo + hi + 1) / 2;
    let best = a;
    for (const k of [a - 1, a, a + 1]) {
      if (k <= lo || k > hi) continue;
      const d = Math.abs(prefix[k]! - half);
      const bd = Math.abs(prefix[best]! - half);
      if (d < bd || (d === bd && Math.abs(k - mid) < Math.abs(best - mid))) best = k;
    }
    return best;
  };
}

function emitTree(
  b: ProgramBuilder,
  segs: Segment[],
  target: (s: Segment) => string,
  costs: number[],
): number {
  // Returns the depth (jumps on the longest path). Nodes are emitted in pre-order so every jump
  // goes forward; leaves cost nothing: their parent jumps straight to the verdict.
  const pick = planTree(costs);
  const node = (lo: number, hi: number, label: string | null): number => {
    if (label) b.label(label);
    if (lo === hi) {
      if (label) b.ja(target(segs[lo]!));
      return label ? 1 : 0;
    }
    const mid = pick(lo, hi);
    const left = mid - 1 === lo ? target(segs[lo]!) : b.newLabel('T');
    const right = mid === hi ? target(segs[hi]!) : b.newLabel('T');
    b.jump(op.BPF_JGE, segs[mid]!.start, right, left);
    const dl = mid - 1 === lo ? 0 : node(lo, mid - 1, left);
    const dr = mid === hi ? 0 : node(mid, hi, right);
    return 1 + Math.max(dl, dr);
  };
  return node(0, segs.length - 1, null);
}

/** Instructions of an argument block (an upper bound of its longest path). */
function blockCost(v: Segment['verdict']): number {
  if (v.kind !== 'block') return 0;
  const scratch = new ProgramBuilder();
  emitBlock(scratch, v.arch, v.rules, 'F', () => 'T');
  scratch.label('T').label('F').ret(0);
  return scratch.build().instructions.length - 1;
}

export function compile(profile: Profile, opts: CompileOptions): CompiledFilter {
  const policy = computePolicy(profile, opts);
  const badArch = { kind: opts.badArchAction ?? 'KILL_PROCESS', data: 0 } as const;
  const b = new ProgramBuilder();
  const groups = auditGroups(policy);
  const stats: CompiledFilter['groups'] = [];
  const prepared = groups.map((g) => ({
    g,
    segs: groupSegments(policy, g, { badArch, enosysStub: opts.enosysStub ?? false }),
    label: b.newLabel('A'),
  }));
  const badLabel = 'BADARCH';

  b.ldAbs(op.SECCOMP_DATA_ARCH);
  for (const { g, segs, label } of prepared) {
    // A group whose whole number space has one verdict needs no tree: jump to its return.
    const only =
      segs.length === 1 && segs[0]!.verdict.kind === 'ret' ? `R${g[0]!.id}_${segs[0]!.verdict.ret}` : label;
    b.jump(
      op.BPF_JEQ,
      g[0]!.auditArch,
      only,
      null,
      g
        .map((a) => a.auditArchName)
        .filter((n, i, all) => all.indexOf(n) === i)
        .join('/'),
    );
  }
  b.label(badLabel).ret(retValue(badArch));

  for (const { g, segs, label } of prepared) {
    const prefix = g[0]!.id;
    const rets = new Map<number, string>();
    const retLabel = (ret: number) => {
      let l = rets.get(ret);
      if (!l) {
        l = `R${prefix}_${ret}`;
        rets.set(ret, l);
      }
      return l;
    };
    const blockLabels = new Map<string, string>();
    const target = (s: Segment): string => {
      if (s.verdict.kind === 'ret') return retLabel(s.verdict.ret);
      let l = blockLabels.get(s.verdict.key);
      if (!l) {
        l = b.newLabel('B');
        blockLabels.set(s.verdict.key, l);
      }
      return l;
    };
    let depth = 0;
    if (segs.length === 1 && segs[0]!.verdict.kind === 'ret') retLabel(segs[0]!.verdict.ret);
    else {
      b.label(label).ldAbs(op.SECCOMP_DATA_NR);
      depth = emitTree(
        b,
        segs,
        target,
        segs.map((x) => blockCost(x.verdict)),
      );
    }
    // argument blocks: the first rule whose conditions all hold decides, else the fallback
    const emitted = new Set<string>();
    for (const s of segs) {
      if (s.verdict.kind !== 'block' || emitted.has(s.verdict.key)) continue;
      const v = s.verdict;
      emitted.add(v.key);
      b.label(blockLabels.get(v.key)!);
      b.comment(`${v.arch.id}: ${v.nrs.map((nr) => syscallTable(v.arch).name(nr) ?? String(nr)).join(', ')}`);
      emitBlock(b, v.arch, v.rules, retLabel(v.fallback), (r) => retLabel(retValue(r.action)));
    }
    for (const [ret, l] of [...rets.entries()].sort((x, y) => (x[1] < y[1] ? -1 : 1))) b.label(l).ret(ret);
    stats.push({ arches: g.map((a: ArchDef) => a.id), ranges: segs.length, depth });
  }
  const built = b.build();
  if (built.instructions.length > op.BPF_MAXINSNS)
    throw new CompileError(
      'program-too-large',
      `the filter needs ${built.instructions.length} instructions; the kernel accepts at most ${op.BPF_MAXINSNS}. ` +
        'Split the profile, drop architectures, or simplify argument rules.',
    );
  return { ...built, groups: stats };
}
