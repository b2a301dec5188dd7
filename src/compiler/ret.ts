/** Profile actions -> seccomp return values. */
import * as op from '../bpf/opcodes.js';
import type { Action, ActionKind } from '../profile/actions.js';

const BASE: Record<ActionKind, number> = {
  KILL_PROCESS: op.SECCOMP_RET_KILL_PROCESS,
  KILL_THREAD: op.SECCOMP_RET_KILL_THREAD,
  TRAP: op.SECCOMP_RET_TRAP,
  ERRNO: op.SECCOMP_RET_ERRNO,
  NOTIFY: op.SECCOMP_RET_USER_NOTIF,
  TRACE: op.SECCOMP_RET_TRACE,
  LOG: op.SECCOMP_RET_LOG,
  ALLOW: op.SECCOMP_RET_ALLOW,
};

export function retValue(a: Action): number {
  return (BASE[a.kind] | (a.data & op.SECCOMP_RET_DATA)) >>> 0;
}

/** The action a return value means (unknown action values are KILL_PROCESS to the kernel). */
export function actionOfRet(ret: number): Action {
  const action = (ret & op.SECCOMP_RET_ACTION_FULL) >>> 0;
  const kind =
    (Object.entries(BASE).find(([, v]) => v === action)?.[0] as ActionKind | undefined) ?? 'KILL_PROCESS';
  return { kind, data: kind === 'ERRNO' || kind === 'TRACE' ? ret & op.SECCOMP_RET_DATA : 0 };
}
