/** How `inspect` prints what it read and the comparison (text, or --json). */
import { createHash } from 'node:crypto';
import { disassemble } from '../../bpf/disasm.js';
import type { readSeccompFilters } from '../../exec/seccomp-filters.js';
import { formatAction } from '../../profile/actions.js';
import { formatCall } from '../../targets/divergences.js';
import type { compareLoaded } from '../../targets/loaded.js';
import { out, toJsonText } from '../output.js';

export function printInspection(o: {
  pid: number;
  tid: number;
  who: string | undefined;
  read: ReturnType<typeof readSeccompFilters>;
  programs: Parameters<typeof compareLoaded>[0];
  c: ReturnType<typeof compareLoaded>;
  json: boolean;
  disasm: boolean;
}): void {
  const { pid, tid, who, read, programs, c } = o;
  const digest = (b: Uint8Array) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  if (o.json) {
    out(
      toJsonText({
        pid,
        tid,
        ...(who ? { container: who } : {}),
        mode: read.mode,
        filters: read.filters.map((f, i) => ({ index: i, instructions: f.length / 8, digest: digest(f) })),
        against: c.against,
        ...('unsupported' in c
          ? { unsupported: c.unsupported }
          : {
              equal: c.equal,
              calls: c.calls,
              differences: c.differences.map((d) => ({
                abi: d.abi,
                name: d.name,
                nr: d.nr,
                args: d.args.map((a) => `0x${a.toString(16)}`),
                loaded: formatAction(d.loaded),
                expected: formatAction(d.expected),
              })),
            }),
      }),
    );
  } else {
    out(
      `process ${pid}${tid !== pid ? ` (thread ${tid})` : ''}${who ? ` (container ${who})` : ''}: ${read.mode === 2 ? `${programs.length} seccomp filter${programs.length === 1 ? '' : 's'}` : read.mode === 1 ? 'seccomp strict mode' : 'no seccomp filter: every call is allowed'}`,
    );
    read.filters.forEach((f, i) => {
      out(
        `  filter ${i}${i === 0 && programs.length > 1 ? ' (installed last, runs first)' : ''}: ${f.length / 8} instructions, ${digest(f)}`,
      );
      if (o.disasm) out(disassemble(programs[i]!).trimEnd().replace(/^/gm, '    '));
    });
    if ('unsupported' in c) out(`against ${c.against}: NOT COMPARED: ${c.unsupported}`);
    else if (c.equal)
      out(`against ${c.against}: equal (${c.calls} syscall numbers and architectures, every argument value)`);
    else {
      out(
        `against ${c.against}: ${c.differences.length} call${c.differences.length === 1 ? '' : 's'} differ:`,
      );
      for (const d of c.differences.slice(0, 40))
        out(
          `  ${d.abi} ${formatCall(d.name, d.args)}: loaded ${formatAction(d.loaded)}, expected ${formatAction(d.expected)}`,
        );
      if (c.differences.length > 40) out(`  ... and ${c.differences.length - 40} more (--json lists all)`);
    }
  }
}
