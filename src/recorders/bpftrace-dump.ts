/**
 * bpftrace map dumps -> calls: what the usual one-liners print at exit, as text or `-f json`.
 *   tracepoint:raw_syscalls:sys_enter { @[args->id] = count(); }          @[257]: 30
 *   tracepoint:syscalls:sys_enter_* { @[probe] = count(); }               @[tracepoint:syscalls:sys_enter_openat]: 30
 *   kprobe:__x64_sys_* { @[func] = count(); }                             @[__x64_sys_openat]: 30
 *   ... { @[comm, args->id] = count(); }                                  @[ls, 257]: 30
 * In a key of several fields the syscall is the field that names one (sys_enter_x, __x64_sys_x,
 * ...), else the last number. Numbers are named with the table of the ABI given (--arch);
 * __ia32_sys_x and __ia32_compat_sys_x are calls of the i386 ABI.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { callName } from '../recording/numbers.js';
import type { RecordingBuilder } from '../recording/recording.js';
import { callCount, syscallNumber } from './log-values.js';

const ENTRY = /^@([A-Za-z_0-9]*)\[(.*)\]:\s*(-?[\d.eE+]+)\s*$/;
const NAMED =
  /(?:^|:)(?:sys_enter_|__x64_sys_|__arm64_sys_|__s390x_sys_|__riscv_sys_|__se_sys_|__do_sys_|sys_)([a-z0-9_]+)$/;
const IA32 = /^__ia32_(?:compat_)?sys_([a-z0-9_]+)$/;

/**
 * Kernel function names (tracepoints sys_enter_X, kprobes __x64_sys_X) that are not the syscall's
 * table name: SYSCALL_DEFINE(newfstat) implements fstat, and so on.
 */
const KERNEL_NAMES: Record<string, string> = {
  newfstat: 'fstat',
  newstat: 'stat',
  newlstat: 'lstat',
  newuname: 'uname',
  sendfile64: 'sendfile',
  umount: 'umount2',
};

export class BpftraceDumpReader {
  skipped = 0;

  constructor(
    private readonly rec: RecordingBuilder,
    private readonly file: string,
    private readonly arch: ArchDef,
  ) {}

  line(raw: string, lineNo: number): void {
    const text = raw.trim();
    if (text === '' || text.startsWith('Attaching ') || /^@[A-Za-z_0-9]*:\s*$/.test(text)) return;
    const where = `${this.file}:${lineNo}`;
    if (text.startsWith('{')) {
      let o: { type?: string; data?: Record<string, Record<string, number> | number> };
      try {
        o = JSON.parse(text) as typeof o;
      } catch {
        this.rec.malformed(where, 'bpftrace-bad-json', text);
        return;
      }
      if (o.type !== 'map') {
        this.skipped++;
        return;
      }
      for (const entries of Object.values(o.data ?? {})) {
        if (typeof entries !== 'object') continue;
        for (const [key, count] of Object.entries(entries))
          this.entry(key.split(','), count, where, `${key}: ${String(count)}`);
      }
      return;
    }
    const m = ENTRY.exec(text);
    if (!m) {
      this.rec.malformed(where, 'bpftrace-unrecognized-line', text);
      return;
    }
    this.entry(
      m[2]!.split(',').map((k) => k.trim()),
      m[3]!,
      where,
      text,
    );
  }

  private entry(keys: string[], rawCount: unknown, where: string, text: string): void {
    const count = callCount(rawCount);
    if (count === undefined) {
      this.rec.malformed(where, 'bpftrace-bad-count', `${text} (the count is not a whole number of calls)`);
      return;
    }
    let abi: ArchId = this.arch.id;
    let name: string | undefined;
    for (const k of keys) {
      const ia32 = IA32.exec(k);
      if (ia32 && this.arch.id === 'x86_64') {
        abi = 'x86';
        name = ia32[1];
        break;
      }
      const named = NAMED.exec(k);
      if (named) {
        const n = named[1]!;
        name = syscallTable(abi).number(n) === undefined ? (KERNEL_NAMES[n] ?? n) : n;
        break;
      }
    }
    if (name === undefined) {
      const nr = [...keys].reverse().find((k) => /^-?\d+$/.test(k));
      if (nr !== undefined) {
        const n = syscallNumber(nr);
        if (n === undefined) {
          this.rec.malformed(
            where,
            'bpftrace-bad-number',
            `${text} (${nr} is not a syscall number: 0 to 2^31-1)`,
          );
          return;
        }
        const x32 = this.arch.companions.includes('x32') && (n & 0x40000000) !== 0;
        if (x32) abi = 'x32';
        name = callName(abi, n);
      }
    }
    if (name === undefined) {
      this.rec.malformed(where, 'bpftrace-no-syscall-key', `${text} (no key names a syscall)`);
      return;
    }
    this.rec.call(abi, name, { where }, count);
  }
}
