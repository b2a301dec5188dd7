/** How a recorded (or enforced) workload ended, and the exit status sysfence passes through. */
import { constants } from 'node:os';

export interface WorkloadExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The shell's convention: the workload's own status, or 128 + the signal that killed it. */
export function exitStatus(e: WorkloadExit): number {
  if (e.code !== null) return e.code;
  if (e.signal !== null) return 128 + (constants.signals[e.signal] ?? 0);
  return 1;
}
