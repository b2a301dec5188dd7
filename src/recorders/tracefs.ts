/** Where the kernel's tracepoints are described (tracefs), and reading one's format file. */
import { readFileSync } from 'node:fs';

/** tracefs's mount points, the usual one first. */
export const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

/** The `format` file of a tracepoint (`sched/sched_process_exit`), or undefined when none has it. */
export function tracepointFormat(event: string): string | undefined {
  for (const root of TRACEFS) {
    try {
      return readFileSync(`${root}/events/${event}/format`, 'utf8');
    } catch {
      // not under this root
    }
  }
  return undefined;
}
