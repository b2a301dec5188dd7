/**
 * Answers a call against the modelled libseccomp filter: the program codegen.ts rebuilds, run by
 * sysfence's BPF emulator. Besides the answer, it says when a comparison ran on another word than
 * the one it was written for (the accumulator was not reloaded), which is how libseccomp's program
 * comes to differ from the rules it was given.
 */
import { emulate } from '../bpf/emulate.js';
import { generateProgram, type LibseccompProgram } from './codegen.js';
import type { LibseccompFilter } from './filter.js';

export interface SeccompCall {
  arch: number;
  nr: number;
  args?: readonly bigint[];
}

export interface ModelAnswer {
  ret: number;
  /** The syscall number was never loaded: the architecture value was compared as the number. */
  noNumberLoad?: boolean;
  /** An argument comparison ran on another word than the one it was written for. */
  staleWord?: boolean;
}

const programs = new WeakMap<LibseccompFilter, LibseccompProgram>();

/** The program libseccomp generates for the filter (cached per model). */
export function modelProgram(f: LibseccompFilter): LibseccompProgram {
  let p = programs.get(f);
  if (!p) {
    p = generateProgram(f);
    programs.set(f, p);
  }
  return p;
}

/** The return value libseccomp's program gives a call (runc's ENOSYS stub not included). */
export function runModel(f: LibseccompFilter, call: SeccompCall): ModelAnswer {
  const p = modelProgram(f);
  const answer: ModelAnswer = { ret: 0 };
  const data = call.args
    ? { arch: call.arch, nr: call.nr, args: call.args }
    : { arch: call.arch, nr: call.nr };
  const r = emulate(p.instructions, data, f.native.endian, (pc, _a, last) => {
    const want = p.wants.get(pc);
    if (want === undefined || want === last) return;
    if (want === 0 && last === 4) answer.noNumberLoad = true;
    else if (want >= 16) answer.staleWord = true;
  });
  answer.ret = r.ret >>> 0;
  return answer;
}
