/**
 * How a recording names a call: the ABI's table name, or `syscall_0xN` for a number no table
 * names, N being the number within the ABI (x32's 0x40000000 bit left out: x32's 0x1b9 is the
 * kernel's 0x400001b9). The one place that writes and reads such names; every recorder and reader
 * goes through it.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';

const HEX = /^syscall_0x([0-9a-f]{1,8})$/;

/** A syscall number the kernel can see: an int, not negative (-1 is "no call"). */
export function validSyscallNumber(nr: number): boolean {
  return Number.isInteger(nr) && nr >= 0 && nr <= 0x7fffffff;
}

/** The number without the ABI's marker bit, as `syscall_0xN` writes it. */
function withinAbi(abi: ArchDef, nr: number): number {
  return abi.nrBit?.set ? nr & ~abi.nrBit.bit & 0x7fffffff : nr;
}

/** The recording's name for kernel number `nr` on `abi`; undefined for a number no kernel uses. */
export function callName(abi: ArchDef | ArchId, nr: number): string | undefined {
  if (!validSyscallNumber(nr)) return undefined;
  const t = syscallTable(abi);
  return t.name(nr) ?? `syscall_0x${withinAbi(t.arch, nr).toString(16)}`;
}

/** The kernel number a recording's name stands for on `abi` (table name or syscall_0xN). */
export function callNumber(abi: ArchDef | ArchId, name: string): number | undefined {
  const t = syscallTable(abi);
  const known = t.number(name);
  if (known !== undefined) return known;
  const m = HEX.exec(name);
  if (!m) return undefined;
  const n = Number.parseInt(m[1]!, 16);
  const full = t.arch.nrBit?.set ? n | t.arch.nrBit.bit : n;
  return validSyscallNumber(full) ? full >>> 0 : undefined;
}

/** Whether a name is a `syscall_0xN` name (a number the recorder could not name). */
export const isNumberedName = (name: string): boolean => HEX.test(name);
