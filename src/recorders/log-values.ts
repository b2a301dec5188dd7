/**
 * The values a log gives for a call, checked before they become one: a syscall number is an int
 * in the kernel (0 .. 2^31-1; x32 numbers carry bit 30), a name is a C identifier, a count is a
 * whole number of calls, a pid is at most PID_MAX_LIMIT (2^22). A value outside that (2^64+,
 * 1e400, -1, null, "12abc") is a damaged or foreign log: the importers report it with its
 * file:line and record nothing from it, never a made-up syscall.
 */

const DECIMAL = /^\d{1,10}$/;
const NAME = /^[a-z_][a-z0-9_]{0,63}$/;
/** PID_MAX_LIMIT on 64-bit kernels. */
export const PID_MAX = 4_194_304;

/** A decimal syscall number as logs print it, or undefined when it is not one. */
export function syscallNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const n = Number(text);
  return n <= 0x7fffffff ? n : undefined;
}

/** A syscall name as logs print it (openat, _llseek), or undefined when it cannot be one. */
export function syscallName(text: string): string | undefined {
  return NAME.test(text) ? text : undefined;
}

/** A count of calls: a whole number from 0 to 2^53-1. */
export function callCount(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d{1,16}$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A process or thread id: 0 (the idle task, in sysdig) .. PID_MAX. */
export function pidNumber(text: string): number | undefined {
  if (!/^\d{1,7}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= PID_MAX ? n : undefined;
}
