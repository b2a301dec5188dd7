// What a test started, found in /proc: tests look only at what they made, never at the whole
// machine (other test files, other users' containers and tracers run beside them).
import { readdirSync, readFileSync } from 'node:fs';

/** The process's name (comm), or '' when it is gone. */
export function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Pids whose environment holds SYSFENCE_TEST_MARK=mark (sysfence passes it to what it starts). */
export function marked(mark: string, except?: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === except) continue;
    try {
      if (readFileSync(`/proc/${p}/environ`).includes(`SYSFENCE_TEST_MARK=${mark}`)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Pids named `name` in a cgroup that sysfence `owner` made (`sysfence-OWNER...`): a container's
 * workload recorded or run by that sysfence, and nobody else's.
 */
export function inCgroupOf(owner: number, name: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || comm(Number(p)) !== name) continue;
    try {
      if (readFileSync(`/proc/${p}/cgroup`, 'utf8').includes(`sysfence-${owner}`)) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}
