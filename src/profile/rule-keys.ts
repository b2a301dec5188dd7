import type { ArgCondition } from './model.js';

/** A canonical text key of a rule's argument conditions (order-insensitive). */
export function argsKey(args: readonly ArgCondition[]): string {
  return args
    .map((a) => `${a.index}:${a.op}:${a.value}:${a.op === 'SCMP_CMP_MASKED_EQ' ? (a.valueTwo ?? 0n) : ''}`)
    .sort()
    .join(',');
}

/** A canonical key of an action with the data runc gives it (ERRNO/TRACE default to EPERM). */
export function actionKey(action: string, errnoRet: number | undefined): string {
  const a = action === 'SCMP_ACT_KILL' ? 'SCMP_ACT_KILL_THREAD' : action;
  if (a === 'SCMP_ACT_ERRNO' || a === 'SCMP_ACT_TRACE') return `${a}(${errnoRet ?? 1})`;
  return a;
}
