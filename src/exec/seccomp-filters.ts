/**
 * The seccomp filters the kernel holds for a process, read back as it holds them: a short Perl
 * program (no compiler, no native addon; perl-base is Essential on Debian) attaches to the process
 * with PTRACE_SEIZE, stops it with PTRACE_INTERRUPT, dumps each filter with
 * PTRACE_SECCOMP_GET_FILTER (index 0 is the one installed last) and lets it go with PTRACE_DETACH:
 * the process goes on as before. It needs CAP_SYS_ADMIN and the right to trace the process (root),
 * and a kernel built with CONFIG_CHECKPOINT_RESTORE (Debian's is).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { runTool, ToolError } from './run.js';

const READER_PERL = String.raw`
use strict; use warnings;
my ($SYS_PTRACE, $pid) = @ARGV;
my ($SEIZE, $INTERRUPT, $DETACH, $GETFILTER) = (0x4206, 0x4207, 17, 0x420c);
sub pt { my ($req, $addr, $data) = @_; $! = 0; my $r = syscall(0 + $SYS_PTRACE, $req, 0 + $pid, $addr, $data); return ($r, 0 + $!); }
my ($r, $e) = pt($SEIZE, 0, 0);
if ($r < 0) { print "error seize $e\n"; exit 1 }
pt($INTERRUPT, 0, 0);
my $status = 0;
# the process stops (a group-stop from the interrupt): wait for it, threads included (__WALL)
my $w = waitpid($pid, 0x40000000);
if ($w != $pid) { print "error wait $!\n"; pt($DETACH, 0, 0); exit 1 }
for (my $i = 0; $i < 64; $i++) {
  my ($n, $err) = pt($GETFILTER, $i, 0);
  if ($n < 0) { if ($err == 2) { last } print "error getfilter $err\n"; pt($DETACH, 0, 0); exit 1 }
  my $buf = "\0" x (8 * $n);
  my ($m, $err2) = pt($GETFILTER, $i, unpack('J', pack('p', $buf)));
  if ($m < 0) { print "error getfilter $err2\n"; pt($DETACH, 0, 0); exit 1 }
  print "filter $i ", unpack('H*', $buf), "\n";
}
pt($DETACH, 0, 0);
print "done\n";
`;

export interface ProcessSeccomp {
  pid: number;
  /** /proc/PID/status Seccomp: 0 disabled, 1 strict, 2 filter. */
  mode: number;
  /** The filters, the one installed last first (as the kernel runs them), as raw sock_filter bytes. */
  filters: Uint8Array[];
}

/** The process's seccomp state from /proc (no privilege needed). */
export function seccompStatus(pid: number): { mode: number; filters: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const mode = /^Seccomp:\s+(\d+)/m.exec(status)?.[1];
    const count = /^Seccomp_filters:\s+(\d+)/m.exec(status)?.[1];
    return { mode: Number(mode ?? 0), filters: Number(count ?? 0) };
  } catch {
    return undefined;
  }
}

const ERRNO_WORDS: Record<number, string> = {
  1: 'not permitted (root with CAP_SYS_ADMIN and the right to trace it is needed)',
  3: 'no such process',
  22: 'this kernel cannot dump filters (CONFIG_CHECKPOINT_RESTORE)',
  13: 'permission denied (Yama ptrace_scope, or a process of another user)',
  16: 'the process is being traced by another tracer',
};

/** The threads of a process and the syscall each is blocked in (/proc/PID/task/TID/syscall), if any. */
export function threadsOf(pid: number): { tid: number; syscall: number | undefined }[] {
  try {
    return readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .sort((a, b) => (a === pid ? -1 : b === pid ? 1 : a - b))
      .map((tid) => {
        let syscall: number | undefined;
        try {
          const first = readFileSync(`/proc/${pid}/task/${tid}/syscall`, 'utf8').split(' ')[0];
          if (first !== undefined && /^\d+$/.test(first)) syscall = Number(first);
        } catch {
          // gone, or not ours to read
        }
        return { tid, syscall };
      });
  } catch {
    return [];
  }
}

/**
 * Reads every filter of thread `tid` (`ptraceNr`: the host's ptrace number). The thread is stopped
 * for the moment the filters are read (as a debugger does) and goes on afterwards.
 */
export function readSeccompFilters(tid: number, ptraceNr: number): ProcessSeccomp {
  const pid = tid;
  const st = seccompStatus(pid);
  if (!st) throw new ToolError('no-such-process', 'sysfence', `no process ${pid}`);
  if (st.mode !== 2) return { pid, mode: st.mode, filters: [] };
  const r = runTool('perl', ['-e', READER_PERL, String(ptraceNr), String(pid)], { timeoutMs: 30_000 });
  const filters: Uint8Array[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^filter (\d+) ([0-9a-f]*)$/.exec(line);
    if (m) filters.push(new Uint8Array(Buffer.from(m[2]!, 'hex')));
    const e = /^error (\w+) (\d+)$/.exec(line);
    if (e) {
      const errno = Number(e[2]);
      throw new ToolError(
        'filters-unreadable',
        'sysfence',
        `cannot read the seccomp filters of process ${pid} (${e[1]}: ${ERRNO_WORDS[errno] ?? `errno ${errno}`})`,
        undefined,
      );
    }
  }
  if (!r.stdout.includes('done'))
    throw new ToolError(
      'filters-unreadable',
      'sysfence',
      `cannot read the seccomp filters of process ${pid}: ${r.stderr.trim()}`,
    );
  if (filters.length !== st.filters && st.filters > 0)
    throw new ToolError(
      'filters-unreadable',
      'sysfence',
      `process ${pid} has ${st.filters} filters (/proc), ${filters.length} were read: refused rather than compared in part`,
    );
  return { pid, mode: st.mode, filters };
}
