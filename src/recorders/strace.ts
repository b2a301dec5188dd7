/**
 * strace output -> calls, line by line (a stream: no file is held in memory). Handles `-f` pid
 * prefixes ("123 " and "[pid 123] "), `-ff` files (the pid from the file name), `-t/-tt/-ttt/-r`
 * timestamps, `-T` durations, `-y/-yy` annotations, `-X raw|verbose`, `-e` filtered logs,
 * `<unfinished ...>` / `<... resumed>` (counted once), signals, exits, personality switches
 * ("[ Process PID=N runs in 32 bit mode. ]"), `-k` stack lines, and `-c`/`-C` summary tables.
 * Every line it cannot read is reported with file:line and a code, never dropped silently.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { archById, syscallTable } from '../arch/tables.js';
import type { ArchDef, ArchId } from '../arch/types.js';
import { argIndexes } from '../knowledge/syscall-args.js';
import { callName, callNumber } from '../recording/numbers.js';
import type { CallSite, RecordingBuilder, SyscallStats } from '../recording/recording.js';
import { callCount, pidNumber, syscallName } from './log-values.js';

/** qemu-user -strace: a guest call it cannot format, by its (decimal) number. */
const QEMU_UNKNOWN = /^Unknown syscall (\d{1,5})\s*$/;
/** qemu-user -strace: a call's result on a line of its own, the call printed before. */
/** A result cut open by another process's whole call: "= 19079 wait4(19082,...)0". */
const QEMU_CUT = /^=\s*(\d+ [a-z_][a-z0-9_]*\(.*)$/;
const QEMU_RESULT = /^= (?:-?\d+|0x[0-9a-f]+)(?: errno=\d+ \([^)]*\))?$/;
/** qemu-user -strace: a call with no result yet, then the next "PID name(" on the same line. */
const QEMU_GLUED = /\)(?=\d{1,10} [a-z_][a-z0-9_]*\()/;
const PREFIX = /^(?:\[pid\s+(\d+)\]\s+|(\d+)\s+)/;
const TIME = /^(?:(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?|(\d+\.\d+))\s+/;
const CALL = /^([a-z_][a-z0-9_]*)\(/;
const RESUMED = /^<\.\.\. ([a-z_][a-z0-9_]*) resumed>/;
const PERSONALITY = /^\[ Process PID=(\d+) runs in (64 bit|32 bit|x32) mode\. \]$/;
const SUMMARY_HEADER = /^% time\s+seconds\s+usecs\/call\s+calls\s+errors\s+syscall/;
const SUMMARY_ROW = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\S+)\s*$/;
/** ELF class and e_machine -> ABI (EM_386 3, EM_X86_64 62, EM_ARM 40, EM_AARCH64 183, EM_RISCV 243). */
const ELF_ABIS: { cls: 32 | 64; machine: number; abi: ArchId }[] = [
  { cls: 32, machine: 3, abi: 'x86' },
  { cls: 64, machine: 62, abi: 'x86_64' },
  { cls: 32, machine: 62, abi: 'x32' },
  { cls: 32, machine: 40, abi: 'arm' },
  { cls: 64, machine: 183, abi: 'aarch64' },
  { cls: 64, machine: 243, abi: 'riscv64' },
];
const FOLLOWED = new Set(['execve', 'execveat', 'clone', 'clone3', 'fork', 'vfork']);
/** A successful open of a shared object: what a process loads (DT_NEEDED, dlopen). */
const SHARED_OBJECT = /^open(?:at)?\((?:[^,"]+,\s*)?"((?:[^"\\]|\\.)*\.so(?:\.[0-9]+)*)",[^)]*\)\s+=\s+[0-9]/;
const SUMMARY_MODE = /^System call usage summary for (32 bit|x32|64 bit) mode:$/;

export interface StraceOptions {
  /** The ABI of the traced processes until a personality line says otherwise. */
  arch: ArchDef;
  /** The pid of lines without a pid prefix (from an `-ff` file name), if known. */
  filePid?: number;
  /** Record the values of checkable arguments (ARG_SPECS); symbolic values are kept as "?". */
  args?: boolean;
  /**
   * qemu-user -strace (`qemu-aarch64 -strace -D FILE`): a guest's calls, one line each as strace
   * writes them, but blocking calls printed without a result and the next call glued to them:
   * every line goes through line(), which splits those.
   */
  qemu?: boolean;
}

/**
 * The top-level arguments of a call line ("name(a, {b, c}, [d]) = 0"), as text. Stops at the
 * closing parenthesis or the end of an unfinished line.
 */
export function splitArgs(rest: string): string[] {
  const open = rest.indexOf('(');
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let start = open + 1;
  for (let i = open + 1; i < rest.length; i++) {
    const c = rest[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === '"') quote = false;
      continue;
    }
    if (c === '"') quote = true;
    else if (c === '{' || c === '[' || c === '(') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === ')') {
      if (depth === 0) {
        out.push(rest.slice(start, i).trim());
        return out;
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      out.push(rest.slice(start, i).trim());
      start = i + 1;
    } else if (c === '<' && depth === 0 && rest.startsWith('<unfinished ...>', i)) {
      const last = rest.slice(start, i).trim();
      if (last !== '') out.push(last);
      return out;
    }
  }
  return out;
}

/** A numeric argument as an unsigned decimal string; "?" for symbolic or negative values. */
export function argValue(text: string | undefined): string {
  if (text === undefined) return '?';
  if (/^0x[0-9a-f]+$/i.test(text) || /^[0-9]+$/.test(text)) return BigInt(text).toString();
  return '?';
}

/** A syscall name met by the byte path: its bytes (to check a hash hit) and its stats per ABI. */
interface NameEntry {
  bytes: Uint8Array;
  name: string;
  /** Lines with this name take the full path (syscall_0x.., argument capture). */
  slow: boolean;
  /** execve/clone/fork...: its result changes what follows (a process's program, a child). */
  follow: boolean;
  /** open/openat: a shared object opened is what the process loads. */
  opens: boolean;
  stats: Map<ArchId, SyscallStats>;
  /** The last ABI this name was counted on, and its stats (most logs have one ABI). */
  lastAbi: ArchId | undefined;
  lastStats: SyscallStats | undefined;
  /** The last (pid, executable) added to lastStats: repeats skip the list checks. */
  lastPid: number;
  lastExe: string | undefined;
}

/** Parser state for one input; feed it lines (or byte chunks of whole lines) in order. */
export class StraceReader {
  private readonly names = new Map<number, NameEntry[]>();
  private cachePid = -1;
  private cacheAbi: ArchId;
  private cacheExe: string | undefined;
  private readonly abiOf = new Map<number, ArchId>();
  private readonly elfCache = new Map<string, ArchId | null>();
  private readonly exeOf = new Map<number, string>();
  private readonly pending = new Map<number, string>();
  /** The start of an unfinished execve/clone/... whose result decides what follows. */
  private readonly pendingText = new Map<number, string>();
  private lastStats: { stack?: string[]; count: number } | undefined;
  private collectingStack = false;
  private summary = false;
  private summaryAbi: ArchId;
  private sawCalls = false;
  private relative = 0;

  constructor(
    private readonly rec: RecordingBuilder,
    private readonly file: string,
    private readonly opts: StraceOptions,
  ) {
    this.summaryAbi = opts.arch.id;
    this.cacheAbi = opts.arch.id;
  }

  /**
   * Whole lines in `buf[start, end)` (each ending in a newline, the last one may not), numbered
   * from `lineNo` + 1; returns the number of the last line. The bulk of a `strace -f` log is
   * "PID name(...": those lines are read from the bytes, with no string made; every other line
   * is decoded and read by line().
   */
  bytes(buf: Buffer, start: number, end: number, lineNo: number): number {
    let n = lineNo;
    let s = start;
    while (s < end) {
      let e = buf.indexOf(10, s);
      if (e < 0 || e > end) e = end;
      n++;
      if (this.summary || this.opts.qemu || !this.fastBytes(buf, s, e, n))
        this.line(buf.toString('utf8', s, e), n);
      s = e + 1;
    }
    return n;
  }

  private fastBytes(b: Buffer, s: number, e: number, lineNo: number): boolean {
    let i = s;
    let pid = 0;
    let c = 0;
    while (i < e) {
      c = b[i]!;
      if (c < 48 || c > 57) break;
      pid = pid * 10 + (c - 48);
      i++;
    }
    // a pid of more than 7 digits is past PID_MAX: the slow path reports it
    if (i === s || i >= e || c !== 32 || i - s > 7) return false;
    while (i < e && b[i] === 32) i++;
    c = b[i] ?? 0;
    if (c === 60 /* < */) return this.fastResumed(b, i, e, pid);
    // "+++ exited with 0 +++", "--- SIGCHLD {...} ---": nothing to count
    if ((c === 43 || c === 45) && b[i + 1] === c && b[i + 2] === c && b[i + 3] === 32) {
      this.collectingStack = false;
      if (c === 43) this.ended(pid); // "+++ exited ..." / "+++ killed by ..."
      return true;
    }
    const ns = i;
    if (!((c >= 97 && c <= 122) || c === 95)) return false;
    let h = 0;
    while (i < e) {
      c = b[i]!;
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95) {
        h = (Math.imul(h, 31) + c) | 0;
        i++;
      } else break;
    }
    if (c !== 40 /* ( */) return false;
    const entry = this.entry(b, ns, i, h);
    if (entry.slow) return false;
    if (pid !== this.cachePid) {
      this.cachePid = pid;
      this.cacheAbi = this.abiOf.get(pid) ?? this.opts.arch.id;
      this.cacheExe = this.exeOf.get(pid);
    }
    let abi = this.cacheAbi;
    let st = abi === entry.lastAbi ? entry.lastStats : entry.stats.get(abi);
    if (st === undefined) {
      // the first call of this name on this ABI (in this input) goes through the builder, which
      // may find the name belongs to another ABI (a 32-bit program in an -o log)
      const used = this.record(abi, entry.name, pid, this.cacheExe, lineNo, undefined, undefined);
      st = this.lastStats as SyscallStats;
      entry.stats.set(used, st);
      abi = used;
      entry.lastPid = pid;
      entry.lastExe = this.cacheExe;
    } else {
      this.sawCalls = true;
      st.count++;
      this.collectingStack = false;
      const exe = this.cacheExe;
      if (st !== entry.lastStats || pid !== entry.lastPid || exe !== entry.lastExe) {
        const pids = st.pids;
        if (pids.length < 64 && !pids.includes(pid)) pids.push(pid);
        if (exe !== undefined && !st.executables.includes(exe)) st.executables.push(exe);
        entry.lastPid = pid;
        entry.lastExe = exe;
      }
    }
    entry.lastAbi = abi;
    entry.lastStats = st;
    // "<unfinished ...>" at the end: the call resumes on a later line of the same pid
    let last = e - 1;
    if (b[last] === 13) last--;
    const unfinished = b[last] === 62 /* > */ && b[last - 1] === 46 && b[last - 15] === 60; /* < */
    if (unfinished) this.pending.set(pid, entry.name);
    if (entry.follow) {
      if (unfinished) this.pendingText.set(pid, b.toString('utf8', ns, last - 15));
      else this.followResult(entry.name, b, ns, e, pid);
    }
    // an open of a shared object (".so" on the line: a native search before any text is made)
    if (entry.opens && !unfinished) {
      const so = b.indexOf('.so', ns);
      if (so >= 0 && so < e) this.opened(b.toString('utf8', ns, e), pid);
    }
    return true;
  }

  /** A successful open of a shared object by `pid`: what its program loaded (the recording's programs). */
  private opened(text: string, pid: number): void {
    const so = SHARED_OBJECT.exec(text);
    const exe = this.exeOf.get(pid);
    if (so && exe !== undefined && so[1]!.startsWith('/')) this.rec.loaded(exe, so[1]!);
  }

  /**
   * What an execve or clone/fork line's result means, read from the bytes: `start` is where the
   * call's text starts ("execve(" or the start kept from its unfinished line), the result is the
   * number after the last " = ".
   */
  private followResult(
    name: string,
    b: Buffer,
    start: number,
    e: number,
    pid: number,
    startText?: string,
  ): void {
    const eq = b.lastIndexOf(' = ', e);
    if (eq < start) return;
    let i = eq + 3;
    let value = 0;
    let digits = 0;
    if (b[i] === 48 && b[i + 1] === 120 /* 0x */) {
      i += 2;
      for (; i < e; i++, digits++) {
        const c = b[i]!;
        const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
        if (d < 0) break;
        value = value * 16 + d;
      }
    } else
      for (; i < e; i++, digits++) {
        const c = b[i]!;
        if (c < 48 || c > 57) break;
        value = value * 10 + (c - 48);
      }
    if (digits === 0) return; // -1 (failed), ? (no return)
    this.cachePid = -1;
    if (name === 'execve' || name === 'execveat') {
      if (value !== 0) return;
      const text = startText ?? b.toString('utf8', start, eq);
      const path = /^execve(?:at)?\((?:[^,"]+,\s*)?"((?:[^"\\]|\\.)*)"/.exec(text);
      if (path) {
        this.exeOf.set(pid, path[1]!);
        this.execed(pid, path[1]!);
      }
    } else if (value > 0) this.inherit(pid, value);
  }

  /** "PID <... name resumed>...": ends a pending call of that pid (counted at its start). */
  private fastResumed(b: Buffer, i: number, e: number, pid: number): boolean {
    // "<... " then the name then " resumed>"
    if (b[i + 1] !== 46 || b[i + 2] !== 46 || b[i + 3] !== 46 || b[i + 4] !== 32) return false;
    const pending = this.pending.get(pid);
    if (pending === undefined) return false;
    const ns = i + 5;
    const len = pending.length;
    if (ns + len + 9 > e) return false;
    for (let k = 0; k < len; k++) if (b[ns + k] !== pending.charCodeAt(k)) return false;
    if (b[ns + len] !== 32 || b[ns + len + 1] !== 114 /* r */) return false;
    this.pending.delete(pid);
    this.collectingStack = false;
    if (FOLLOWED.has(pending)) {
      const startText = this.pendingText.get(pid);
      this.pendingText.delete(pid);
      this.followResult(pending, b, ns, e, pid, startText ?? '');
    }
    return true;
  }

  /**
   * A new child runs its parent's program on its parent's ABI, unless its own lines (an execve, a
   * personality switch) came first: with -f the child often runs before the parent's clone returns.
   */
  private inherit(parent: number, child: number): void {
    const exe = this.exeOf.get(parent);
    if (exe !== undefined && !this.exeOf.has(child)) this.exeOf.set(child, exe);
    const abi = this.abiOf.get(parent);
    if (abi !== undefined && !this.abiOf.has(child)) this.abiOf.set(child, abi);
    this.cachePid = -1;
  }

  /** The process (or thread) ended: its pid may be reused by an unrelated one. */
  private ended(pid: number): void {
    this.exeOf.delete(pid);
    this.abiOf.delete(pid);
    this.pending.delete(pid);
    this.pendingText.delete(pid);
    this.cachePid = -1;
  }

  private entry(b: Buffer, start: number, end: number, h: number): NameEntry {
    const list = this.names.get(h);
    const len = end - start;
    if (list)
      for (const x of list) {
        if (x.bytes.length !== len) continue;
        let k = 0;
        while (k < len && x.bytes[k] === b[start + k]) k++;
        if (k === len) return x;
      }
    const name = b.toString('latin1', start, end);
    const x: NameEntry = {
      bytes: Uint8Array.from(b.subarray(start, end)),
      name,
      follow: FOLLOWED.has(name),
      opens: name === 'openat' || name === 'open',
      slow:
        name.startsWith('syscall_') ||
        (this.opts.args === true && argIndexes(this.opts.arch, name).length > 0),
      stats: new Map(),
      lastAbi: undefined,
      lastStats: undefined,
      lastPid: -1,
      lastExe: undefined,
    };
    if (list) list.push(x);
    else this.names.set(h, [x]);
    return x;
  }

  /**
   * The ABI an executed program runs as, from its ELF header (strace -o files lack the "runs in 32
   * bit mode" line): only an ABI the host can run, else undefined.
   */
  private abiFromElf(path: string): ArchId | undefined {
    if (!path.startsWith('/')) return undefined;
    const cached = this.elfCache.get(path);
    if (cached !== undefined) return cached ?? undefined;
    let abi: ArchId | undefined;
    try {
      const fd = openSync(path, 'r');
      try {
        const h = Buffer.alloc(20);
        if (readSync(fd, h, 0, 20, 0) === 20 && h.readUInt32BE(0) === 0x7f454c46) {
          const cls = h[4] === 1 ? 32 : 64;
          const machine = h[5] === 2 ? h.readUInt16BE(18) : h.readUInt16LE(18);
          const found = ELF_ABIS.find((x) => x.cls === cls && x.machine === machine)?.abi;
          const host = this.opts.arch;
          if (found && (found === host.id || host.companions.includes(found))) abi = found;
        }
      } finally {
        closeSync(fd);
      }
    } catch {
      abi = undefined;
    }
    this.elfCache.set(path, abi ?? null);
    return abi;
  }

  /** After a successful execve: the program's ABI, when its ELF header says (and nothing else did). */
  private execed(pid: number, path: string): void {
    const abi = this.abiFromElf(path);
    const now = this.abiOf.get(pid) ?? this.opts.arch.id;
    if (abi === undefined || abi === now) return;
    this.abiOf.set(pid, abi);
    this.cachePid = -1;
    this.rec.note(
      `pid ${pid} runs ${path} as ${abi}: inferred from its ELF header (the log has no mode line)`,
    );
  }

  /**
   * A call the pid's ABI has no name for, but one of the host's other ABIs has: the pid runs that
   * ABI (a 32-bit program whose mode line the log lacks). Later calls of the pid go there too.
   */
  private switchByName(abi: ArchId, name: string, pid: number | undefined): ArchId {
    if (name.startsWith('syscall_') || syscallTable(abi).number(name) !== undefined) return abi;
    const host = this.opts.arch;
    const others = [host.id, ...host.companions].filter((a) => a !== abi);
    const fits = others.filter((a) => syscallTable(a).number(name) !== undefined);
    if (fits.length !== 1) return abi;
    const to = fits[0]!;
    if (pid !== undefined) {
      this.abiOf.set(pid, to);
      this.cachePid = -1;
    }
    this.rec.note(
      `${pid !== undefined ? `pid ${pid}` : 'a process'} runs ${to}: ${name} exists only there (the log has no mode line; calls before it may be counted as ${abi})`,
    );
    return to;
  }

  private abiName(mode: string): ArchId {
    // personality lines come from an x86_64 strace: 32 bit is i386, x32 is x32
    if (this.opts.arch.id === 'x86_64') return mode === '32 bit' ? 'x86' : mode === 'x32' ? 'x32' : 'x86_64';
    return this.opts.arch.id;
  }

  line(raw: string, lineNo: number): void {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim() === '') return;
    if (text.startsWith(' > ')) {
      // -k: a stack frame of the previous call
      if (this.collectingStack && this.lastStats) {
        this.lastStats.stack ??= [];
        this.lastStats.stack.push(text.slice(3).trim());
      }
      return;
    }
    this.collectingStack = false;
    const trimmed = text.trimStart();
    const c0 = trimmed.charCodeAt(0);
    if (c0 === 37 /* % */ && SUMMARY_HEADER.test(trimmed)) {
      this.summary = true;
      return;
    }
    const mode = c0 === 83 /* S */ ? SUMMARY_MODE.exec(trimmed) : null;
    if (mode) {
      this.summaryAbi = this.abiName(mode[1]!);
      return;
    }
    if (this.summary) {
      if (/^-+\s/.test(trimmed) || /^-+$/.test(trimmed)) return;
      const row = SUMMARY_ROW.exec(trimmed);
      if (row) {
        if (row[3] === 'total') {
          this.summary = false;
          return;
        }
        // with -C the calls were already counted line by line; the table would count them twice
        if (!this.sawCalls) {
          const count = callCount(row[1]);
          const name = syscallName(row[3]!);
          if (count === undefined || name === undefined)
            this.rec.malformed(
              `${this.file}:${lineNo}`,
              'strace-bad-number',
              `${trimmed} (${count === undefined ? `${row[1]} calls is not a count` : `${row[3]} is not a syscall name`})`,
            );
          else this.rec.call(this.summaryAbi, name, { where: `${this.file}:${lineNo}` }, count);
        }
        return;
      }
      this.summary = false;
    }
    if (trimmed.startsWith('strace: ')) return; // strace's own messages (attach/detach, ...)
    const pers = c0 === 91 /* [ */ ? PERSONALITY.exec(trimmed) : null;
    if (pers) {
      this.abiOf.set(Number(pers[1]), this.abiName(pers[2]!));
      this.cachePid = -1;
      return;
    }
    let rest = trimmed;
    let pid = this.opts.filePid;
    if (this.opts.qemu && !PREFIX.test(rest)) {
      // qemu-user: two processes' output interleaved mid-call; the text up to ")PID name(" ends a
      // call already counted on an earlier line
      const glued = QEMU_GLUED.exec(rest);
      if (glued && !CALL.test(rest)) {
        this.line(rest.slice(glued.index + 1), lineNo);
        return;
      }
    }
    const p = PREFIX.exec(rest);
    if (p) {
      pid = pidNumber(p[1] ?? p[2] ?? '');
      if (pid === undefined) {
        this.rec.malformed(
          `${this.file}:${lineNo}`,
          'strace-bad-number',
          `${trimmed} (${p[1] ?? p[2]} is not a pid)`,
        );
        return;
      }
      rest = rest.slice(p[0].length);
    }
    let time: number | undefined;
    const t = TIME.exec(rest);
    if (t) {
      if (t[5] !== undefined) {
        const v = Number(t[5]);
        // -r prints the time since the previous line; -ttt an absolute epoch time
        if (v < 1e6) {
          this.relative += v;
          time = this.relative;
        } else time = v;
      } else time = Number(t[1]) * 3600 + Number(t[2]) * 60 + Number(t[3]) + (t[4] ? Number(`0.${t[4]}`) : 0);
      rest = rest.slice(t[0].length);
    }
    if (rest.startsWith('+++ ')) {
      if (pid !== undefined) this.ended(pid); // exits
      return;
    }
    if (rest.startsWith('--- ')) return; // signals
    const persAfterPid = rest.charCodeAt(0) === 91 /* [ */ ? PERSONALITY.exec(rest) : null;
    if (persAfterPid) {
      this.abiOf.set(Number(persAfterPid[1]), this.abiName(persAfterPid[2]!));
      this.cachePid = -1;
      return;
    }
    const abi = (pid !== undefined ? this.abiOf.get(pid) : undefined) ?? this.opts.arch.id;
    const exe = pid !== undefined ? this.exeOf.get(pid) : undefined;
    const resumed = RESUMED.exec(rest);
    if (resumed) {
      const name = resumed[1]!;
      if (pid !== undefined && this.pending.get(pid) === name) {
        this.pending.delete(pid);
        const start = this.pendingText.get(pid);
        this.pendingText.delete(pid);
        // "execve("/bin/x", ... <unfinished ...>" + "<... execve resumed>) = 0"
        this.afterCall(name, start !== undefined ? `${start}${rest.slice(resumed[0].length)}` : rest, pid);
      } else {
        // the start of the call is not in this log: count it here
        this.record(abi, name, pid, exe, lineNo, time, undefined);
        this.afterCall(name, rest, pid);
      }
      return;
    }
    const call = CALL.exec(rest);
    if (call) {
      // qemu-user -strace prints a blocking call without its result, and the next call (another
      // thread's, or the same one's after it returned) glued to it: "futex(...)4122 write(...) = 1"
      const glued = this.opts.qemu ? QEMU_GLUED.exec(rest) : null;
      if (glued && !rest.slice(0, glued.index).includes(') = ')) {
        this.line(`${pid ?? ''} ${rest.slice(0, glued.index + 1)}`, lineNo);
        this.line(rest.slice(glued.index + 1), lineNo);
        return;
      }
      const name = call[1]!;
      this.record(abi, name, pid, exe, lineNo, time, rest);
      if (rest.trimEnd().endsWith('<unfinished ...>')) {
        if (pid !== undefined) {
          this.pending.set(pid, name);
          if (FOLLOWED.has(name))
            this.pendingText.set(pid, rest.trimEnd().slice(0, -'<unfinished ...>'.length));
        }
      } else this.afterCall(name, rest, pid);
      return;
    }
    // qemu-user -strace: the result of a call printed earlier without one (" = 0"): counted then
    if (this.opts.qemu && QEMU_RESULT.test(rest)) return;
    // qemu-user's -strace prints calls it has no formatter for by number ("Unknown syscall 293")
    const unknown = this.opts.qemu ? QEMU_UNKNOWN.exec(rest) : null;
    if (unknown) {
      const nr = Number(unknown[1]);
      const named = callName(abi, nr);
      if (named === undefined) {
        this.rec.malformed(
          `${this.file}:${lineNo}`,
          'strace-bad-number',
          `${text} (${nr} is not a syscall number: 0 to 2^31-1)`,
        );
        return;
      }
      this.record(abi, named, pid, exe, lineNo, time, undefined);
      return;
    }
    // qemu-user writes each process's calls in pieces: one's " = " and result around another's
    // whole call (" = 19079 wait4(19082,...)0"): the call is read; the result was counted with its call
    const cut = this.opts.qemu ? QEMU_CUT.exec(rest) : null;
    if (cut) {
      this.line(cut[1] ?? '', lineNo);
      return;
    }
    // anything else cut by two processes at once is said
    this.rec.malformed(
      `${this.file}:${lineNo}`,
      this.opts.qemu ? 'qemu-interleaved-line' : 'strace-unrecognized-line',
      text,
    );
  }

  /** Counts one call; returns the ABI it was counted under (the pid's may change, see switchByName). */
  private record(
    given: ArchId,
    name: string,
    pid: number | undefined,
    exe: string | undefined,
    lineNo: number,
    time: number | undefined,
    /** The call's text from its name on, when arguments are to be recorded. */
    text: string | undefined,
  ): ArchId {
    this.sawCalls = true;
    const abi = this.switchByName(given, name, pid);
    let n = name;
    // strace prints syscall_0x1b9 for numbers it has no name for
    if (name.startsWith('syscall_0x')) {
      const nr = callNumber(abi, name);
      n = (nr !== undefined ? syscallTable(abi).name(nr) : undefined) ?? name;
    }
    // the location string is only built for the first call of a syscall (the only one kept)
    const site: CallSite = { where: () => `${this.file}:${lineNo}` };
    if (this.opts.args) {
      const indexes = argIndexes(abi === this.opts.arch.id ? this.opts.arch : archById(abi), n);
      if (indexes.length > 0) {
        // a call resumed from a line not in this log has no arguments to show
        const args = text === undefined ? [] : splitArgs(text);
        site.args = indexes.map((i) => [i, argValue(args[i])]);
      }
    }
    if (pid !== undefined) site.pid = pid;
    if (exe !== undefined) site.executable = exe;
    if (time !== undefined) site.time = time;
    this.lastStats = this.rec.call(abi, n, site);
    this.collectingStack = this.lastStats.stack === undefined && this.lastStats.count === 1;
    return abi;
  }

  /** Follows execve (the process's executable) and fork/clone (the child inherits it). */
  private afterCall(name: string, rest: string, pid: number | undefined): void {
    if (pid !== undefined && (name === 'openat' || name === 'open')) this.opened(rest, pid);
    if (pid === undefined || !FOLLOWED.has(name)) return;
    this.cachePid = -1; // the process's executable or a child's ABI may change here
    // results are decimal, or hex under -e raw=...
    const ret = /\)\s+=\s+(-?\d+|0x[0-9a-f]+)/.exec(rest);
    if (!ret) return;
    const value = Number(ret[1]);
    if ((name === 'execve' || name === 'execveat') && value === 0) {
      const path = /^execve(?:at)?\((?:[^,]+,\s*)?"((?:[^"\\]|\\.)*)"/.exec(rest);
      if (path) {
        this.exeOf.set(pid, path[1]!);
        this.execed(pid, path[1]!);
      }
    } else if ((name === 'clone' || name === 'clone3' || name === 'fork' || name === 'vfork') && value > 0)
      this.inherit(pid, value);
  }
}
