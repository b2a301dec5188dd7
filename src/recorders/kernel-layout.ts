/**
 * What sysfence's eBPF recorder must know of the running kernel to read its raw tracepoints: a few
 * structure offsets from its BTF, and whether sched_process_exit says `group_dead`.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseBtf } from '../ebpf/btf.js';
import { ToolError } from '../exec/run.js';
import type { KernelLayout } from './ebpf-layout.js';
import { tracepointFormat } from './tracefs.js';

/** Where the layout read from this boot's kernel is kept (tmpfs: gone at the next boot). */
const LAYOUT_CACHE = '/run/sysfence/kernel-layout.json';

/**
 * What the raw tracepoints need to know of this kernel: two structure offsets from its BTF, and
 * whether sched_process_exit says `group_dead` (its tracefs format). Reading 5 MB of BTF costs
 * ~70 ms, so the answer is kept for the running kernel (keyed by its boot id and release) in
 * /run/sysfence. Throws with what is missing.
 */
export function kernelLayout(btfFile = '/sys/kernel/btf/vmlinux'): KernelLayout {
  let key = '';
  try {
    key = `v2 ${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()} ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()} ${btfFile}`;
    const cached = JSON.parse(readFileSync(LAYOUT_CACHE, 'utf8')) as { key?: string; layout?: KernelLayout };
    const l = cached.layout;
    if (
      cached.key === key &&
      l &&
      Number.isInteger(l.taskPid) &&
      Number.isInteger(l.binprmFilename) &&
      typeof l.exitGroupDead === 'boolean' &&
      (l.seccompFilterCount === undefined || Number.isInteger(l.seccompFilterCount))
    )
      return l;
  } catch {
    // no cache yet (or unreadable): read the BTF
  }
  let btf: ReturnType<typeof parseBtf>;
  try {
    btf = parseBtf(readFileSync(btfFile));
  } catch (e) {
    throw new ToolError(
      'ebpf-unavailable',
      'sysfence',
      `cannot read the kernel's BTF (${btfFile}): ${(e as Error).message}`,
      'use --backend bpftrace or --backend strace',
    );
  }
  const offset = (struct: string, member: string): number => {
    const o = btf.memberOffset(struct, member);
    if (o === undefined)
      throw new ToolError('ebpf-unavailable', 'sysfence', `this kernel's BTF has no ${struct}.${member}`);
    return o;
  };
  const seccomp = btf.memberOffset('task_struct', 'seccomp');
  const filterCount = btf.memberOffset('seccomp', 'filter_count');
  const layout: KernelLayout = {
    taskPid: offset('task_struct', 'pid'),
    binprmFilename: offset('linux_binprm', 'filename'),
    exitGroupDead: /\bgroup_dead;/.test(tracepointFormat('sched/sched_process_exit') ?? ''),
    ...(seccomp !== undefined && filterCount !== undefined
      ? { seccompFilterCount: seccomp + filterCount }
      : {}),
  };
  if (key)
    try {
      mkdirSync(dirname(LAYOUT_CACHE), { recursive: true, mode: 0o755 });
      writeFileSync(LAYOUT_CACHE, `${JSON.stringify({ key, layout })}\n`);
    } catch {
      // not root, or no /run: read again next time
    }
  return layout;
}
