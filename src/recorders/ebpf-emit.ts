/** The instruction sequences every program of the recorder uses (scope test, counters, errors). */
import { type Asm, BPF_NOEXIST, FP, R0, R1 } from '../ebpf/asm.js';
import { EEXIST, INDEX_SHIFT, type MapName, type RecorderProgramOptions, SLOT } from './ebpf-layout.js';

/** Jumps to `out` unless the caller is in the workload's cgroup (or below `under`). Clobbers r0-r5. */
export function inScope(a: Asm, o: RecorderProgramOptions, out: string): void {
  if (o.under)
    a.movK(R1, o.under.level)
      .call('get_current_ancestor_cgroup_id')
      .ld64(R1, o.under.id)
      .jX('jne', R0, R1, out);
  else a.call('get_current_cgroup_id').ld64(R1, o.cgroupId).jX('jne', R0, R1, out);
}

/** Mask of the flags that go with a call: compat, gen and (several containers) the index. */
export const callFlags = (o: RecorderProgramOptions) =>
  SLOT.compat | SLOT.gen | (o.under ? (o.under.max - 1) << INDEX_SHIFT : 0);

/** errors[index] += 1 (a map was full). Uses fp-4 and r0-r5. */
export function countError(a: Asm, index: number): void {
  const skip = a.newLabel('error');
  a.st(4, FP, -4, index)
    .lookup('errors', -4)
    .jK('jeq', R0, 0, skip)
    .movK(R1, 1)
    .atomicAdd64(R0, 0, R1)
    .label(skip);
}

/** map[key at fp+keyOff] += 1, inserting 1 when absent; a full map counts errors[error]. Uses r0-r5. */
export function increment(
  a: Asm,
  map: MapName,
  keyOff: number,
  valueOff: number,
  error: number,
  tag: string,
): void {
  a.lookup(map, keyOff)
    .jK('jeq', R0, 0, `${tag}_insert`)
    .movK(R1, 1)
    .atomicAdd64(R0, 0, R1)
    .ja(`${tag}_done`)
    .label(`${tag}_insert`)
    .st(8, FP, valueOff, 1)
    .update(map, keyOff, valueOff, BPF_NOEXIST)
    .jK('jeq', R0, 0, `${tag}_done`)
    // another CPU inserted it first: add to theirs
    .jK('jne', R0, EEXIST, `${tag}_full`)
    .lookup(map, keyOff)
    .jK('jeq', R0, 0, `${tag}_done`)
    .movK(R1, 1)
    .atomicAdd64(R0, 0, R1)
    .ja(`${tag}_done`)
    .label(`${tag}_full`);
  countError(a, error);
  a.label(`${tag}_done`);
}
