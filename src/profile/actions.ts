import { EPERM } from './errno.js';
import type { ActionName } from './model.js';

/** What a filter decides, in the kernel's terms (SECCOMP_RET_*). */
export type ActionKind =
  | 'KILL_PROCESS'
  | 'KILL_THREAD'
  | 'TRAP'
  | 'ERRNO'
  | 'TRACE'
  | 'LOG'
  | 'ALLOW'
  | 'NOTIFY';

export interface Action {
  kind: ActionKind;
  /** SECCOMP_RET_DATA: the errno for ERRNO, the message for TRACE; 0 otherwise. */
  data: number;
}

const KIND: Record<ActionName, ActionKind> = {
  SCMP_ACT_KILL: 'KILL_THREAD',
  SCMP_ACT_KILL_THREAD: 'KILL_THREAD',
  SCMP_ACT_KILL_PROCESS: 'KILL_PROCESS',
  SCMP_ACT_TRAP: 'TRAP',
  SCMP_ACT_ERRNO: 'ERRNO',
  SCMP_ACT_TRACE: 'TRACE',
  SCMP_ACT_ALLOW: 'ALLOW',
  SCMP_ACT_LOG: 'LOG',
  SCMP_ACT_NOTIFY: 'NOTIFY',
};

/** The action runc builds from a profile action and errno (ERRNO and TRACE default to EPERM). */
export function toAction(name: ActionName, errnoRet: number | undefined): Action {
  const kind = KIND[name];
  return { kind, data: kind === 'ERRNO' || kind === 'TRACE' ? (errnoRet ?? EPERM) : 0 };
}

export function sameAction(a: Action, b: Action): boolean {
  return a.kind === b.kind && a.data === b.data;
}

/** Strictness order the kernel applies across stacked filters (highest first). */
export const ACTION_PRECEDENCE: readonly ActionKind[] = [
  'KILL_PROCESS',
  'KILL_THREAD',
  'TRAP',
  'ERRNO',
  'NOTIFY',
  'TRACE',
  'LOG',
  'ALLOW',
];

export function formatAction(a: Action): string {
  return a.kind === 'ERRNO' || a.kind === 'TRACE' ? `${a.kind}(${a.data})` : a.kind;
}
