/**
 * What one function does that matters for system calls, as decoded from its machine code: the
 * system call numbers it passes, the calls it makes (with the argument values known at each), the
 * addresses it takes, and what it leaves unknown. Architecture-neutral: the x86-64 and aarch64
 * decoders both write these, and every analysis after them reads only these.
 *
 * A "location" is a register or an outgoing stack slot, numbered by the decoder's architecture
 * (`LOCATIONS` below): x86-64 rax..r15 are 0..15 and [rsp+0..0x78] 16..31; aarch64 x0..x30 are
 * 0..30 and [sp+0..0x38] 32..39.
 */

/** A location's value at a point: constants (at most MAX_CONSTANTS), or the value a register held at the function's entry. */
export type Value = { c: number[] } | { e: number };

export const MAX_CONSTANTS = 8;

export interface CallSite {
  /** The call instruction's address. */
  at: number;
  /** A code address in this module (a function start, a PLT stub or the middle of a function). */
  to?: number;
  /** A pointer slot (GOT entry) read by the call: resolved through the module's relocations. */
  slot?: number;
  /** The function calls what one of its own entry locations holds (a callback parameter). */
  param?: number;
  /** A jump that leaves the function (a tail call). */
  tail?: true;
  /** A conditional jump that leaves it (back from a cold fragment into its function's middle, mostly). */
  cond?: true;
  /** Argument locations whose value is known at the call, as [location, value] pairs. */
  args?: [number, Value][];
}

export interface FunctionSummary {
  start: number;
  end: number;
  name?: string;
  /** System call numbers passed at this function's own call sites. */
  sys: number[];
  /** Locations whose entry value is passed as the number at a site: the function is a syscall wrapper. */
  sysParams: number[];
  /** Sites whose number is unknown (their addresses). */
  unresolved: number[];
  /** Sites of another ABI (int 0x80 in 64-bit code: i386 numbers), unresolved by design. */
  foreign: number[];
  calls: CallSite[];
  /** Indirect calls and jumps whose target is not known (their addresses). */
  indirect: number[];
  /** Addresses this function takes (code or data): every function whose address is taken may be called indirectly. */
  refs: number[];
  /**
   * Set when nothing in the function returns, jumps out or runs off its end by itself: -1 when it
   * ends in a trap or a loop, else the callee of its final call (it returns only if that does).
   * The module's never-returning functions are settled from these (module.ts).
   */
  noRet?: number;
}
