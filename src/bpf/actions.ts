/** seccomp return values <-> readable action names. */
import * as op from './opcodes.js';

const NAMES: ReadonlyArray<readonly [number, string]> = [
  [op.SECCOMP_RET_KILL_PROCESS, 'KILL_PROCESS'],
  [op.SECCOMP_RET_KILL_THREAD, 'KILL_THREAD'],
  [op.SECCOMP_RET_TRAP, 'TRAP'],
  [op.SECCOMP_RET_ERRNO, 'ERRNO'],
  [op.SECCOMP_RET_USER_NOTIF, 'NOTIFY'],
  [op.SECCOMP_RET_TRACE, 'TRACE'],
  [op.SECCOMP_RET_LOG, 'LOG'],
  [op.SECCOMP_RET_ALLOW, 'ALLOW'],
];

/** "ERRNO(38)", "ALLOW", or "0x12340000" for values the kernel does not define. */
export function describeRet(ret: number): string {
  const action = (ret & op.SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = ret & op.SECCOMP_RET_DATA;
  const name = NAMES.find(([v]) => v === action)?.[1];
  if (name === undefined) return `0x${(ret >>> 0).toString(16)}`;
  return name === 'ERRNO' || name === 'TRACE' ? `${name}(${data})` : data === 0 ? name : `${name}|${data}`;
}
