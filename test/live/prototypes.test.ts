// The pinned prototypes (data/syscall-prototypes) against the running kernel: every
// sys_enter_NAME tracepoint's fields (the same SYSCALL_DEFINE the header declares) must put
// pointers where the file does.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syscallArgs } from '../../src/knowledge/syscall-args.js';
import { requirement } from '../helpers/tools.js';

const EVENTS = '/sys/kernel/tracing/events/syscalls';
const skip =
  process.arch !== 'x64'
    ? 'the tracepoints are compared on x86_64 hosts'
    : requirement(existsSync(EVENTS), `tracefs at ${EVENTS} (mount -t tracefs tracefs /sys/kernel/tracing)`);

/** Where the ioctl/ptrace/arch_prctl numbers are addresses: the file says so, the kernel types say long. */
const ADDRESS_VALUES = new Set(['ioctl 2', 'ptrace 2', 'ptrace 3', 'arch_prctl 1']);

describe.skipIf(skip)('prototypes vs the running kernel', () => {
  it('pointer positions agree for every syscall both know', () => {
    const differ: string[] = [];
    let compared = 0;
    for (const d of readdirSync(EVENTS)
      .filter((e) => e.startsWith('sys_enter_'))
      .sort()) {
      const name = d.slice('sys_enter_'.length);
      const mine = syscallArgs(name);
      if (!mine) continue;
      const fields = readFileSync(join(EVENTS, d, 'format'), 'utf8')
        .split('\n')
        .filter((l) => l.includes('field:') && !l.includes('common_') && !l.includes('__syscall_nr'))
        .map((l) => /field:([^;]*);/.exec(l)?.[1] ?? '');
      compared++;
      const kernel = fields.map((f, i) => (f.includes('*') || ADDRESS_VALUES.has(`${name} ${i}`) ? i : -1));
      const ours = mine.map((a) => (a.pointer ? a.index : -1));
      if (kernel.join() !== ours.join()) differ.push(`${name}: kernel ${fields.join(', ')}`);
    }
    expect(differ).toEqual([]);
    expect(compared).toBeGreaterThan(300);
  });
});
