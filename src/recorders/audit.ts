/**
 * Kernel audit records -> calls: SECCOMP records (type=1326, written when a filter's action is
 * LOG, KILL, or is logged by seccomp/actions_logged) and SYSCALL records (type=1300, syscall
 * auditing), in every shape they are found: auditd's audit.log ("type=SECCOMP msg=audit(...)"),
 * kmsg as dmesg or journalctl print it ("audit: type=1326 audit(...)"), and `ausearch -i`
 * (interpreted: arch=x86_64 syscall=execve). Numbers are named with the table of the record's own
 * AUDIT_ARCH (x32 by its number bit).
 *
 * A line that is no audit record at all (the rest of a dmesg dump) or an audit record of another
 * type (PATH, CWD, PROCTITLE, ...) is skipped and counted; a SECCOMP/SYSCALL record without
 * readable arch and syscall fields is malformed (file:line, code), and so is the kernel's word
 * that it lost or rate-limited records (`audit_lost=`, `kauditd_printk_skb: N callbacks
 * suppressed`): `sysctl kernel.printk_ratelimit=0` turns the rate limit off (or run auditd); record again.
 */
import { ARCH_DEFS } from '../arch/defs.js';
import { findArch, syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { callName } from '../recording/numbers.js';
import type { RecordingBuilder } from '../recording/recording.js';
import { pidNumber, syscallName, syscallNumber } from './log-values.js';

const TYPE = /(?:^|\s)type=(\S+)/;
const FIELD = /(?:^|\s)([a-z_]+)=("[^"]*"|\S+)/g;
const STAMP = /audit\((\d+)\.(\d+):\d+\)/;
/** libaudit's names (ausearch -i) where they differ from the kernel's tables. */
const AUDIT_NAMES: Record<string, string> = { pread: 'pread64', pwrite: 'pwrite64' };
const LOST = /audit_lost=[1-9]|kauditd_printk_skb: \d+ callbacks suppressed|audit: backlog limit exceeded/;
const SYSCALL_TYPES = new Set(['1326', 'SECCOMP', '1300', 'SYSCALL']);

function archByAudit(value: string): ArchDef | undefined {
  if (/^[0-9a-f]{8}$/i.test(value)) {
    const n = Number.parseInt(value, 16);
    return ARCH_DEFS.find((a) => a.auditArch === n && !a.nrBit?.set);
  }
  // ausearch -i prints names: x86_64, i386, aarch64, armeb, ...
  return findArch(value === 'i386' ? 'x86' : value);
}

/** An audit string field: "quoted", or hex when it holds spaces or quotes (audit's encoding). */
function text(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.startsWith('"')) return v.slice(1, -1);
  if (/^(?:[0-9A-F]{2})+$/.test(v) && v.length >= 2) return Buffer.from(v, 'hex').toString('utf8');
  return v;
}

export class AuditReader {
  /** Lines that were not SECCOMP or SYSCALL records (other records, other kernel messages). */
  skipped = 0;

  constructor(
    private readonly rec: RecordingBuilder,
    private readonly file: string,
  ) {}

  line(raw: string, lineNo: number): void {
    if (LOST.test(raw)) {
      // the kernel dropped records here: the trace has a hole, which must not pass unnoticed
      this.rec.malformed(`${this.file}:${lineNo}`, 'audit-records-lost', raw.trim());
      return;
    }
    const t = TYPE.exec(raw);
    if (!t || !SYSCALL_TYPES.has(t[1]!)) {
      if (raw.trim() !== '') this.skipped++;
      return;
    }
    const f = new Map<string, string>();
    for (const m of raw.matchAll(FIELD)) if (!f.has(m[1]!)) f.set(m[1]!, m[2]!);
    const arch = archByAudit(f.get('arch') ?? '');
    const sc = f.get('syscall');
    const where = `${this.file}:${lineNo}`;
    if (!arch || sc === undefined) {
      this.rec.malformed(
        where,
        'audit-bad-record',
        `${raw.trim()} (needs arch= and syscall= fields; arch ${f.get('arch') ?? 'missing'})`,
      );
      return;
    }
    let abi = arch;
    let name: string | undefined;
    const pidText = f.get('pid');
    const pid = pidText === undefined ? undefined : pidNumber(pidText);
    if (/^-?\d/.test(sc)) {
      const nr = syscallNumber(sc);
      if (nr === undefined || (pidText !== undefined && pid === undefined)) {
        this.rec.malformed(
          where,
          'audit-bad-number',
          `${raw.trim()} (${nr === undefined ? `syscall=${sc} is not a syscall number (0 to 2^31-1)` : `pid=${pidText} is not a pid`})`,
        );
        return;
      }
      const companion = arch.companions
        .map((c) => findArch(c)!)
        .find((c) => c.nrBit?.set && (nr & c.nrBit.bit) !== 0);
      if (companion) abi = companion;
      // syscallNumber keeps to 0 .. 2^31-1: every such number has a recording name
      name = callName(abi, nr) ?? sc;
    } else {
      // ausearch -i
      const named = syscallName(sc);
      if (named === undefined || (pidText !== undefined && pid === undefined)) {
        this.rec.malformed(
          where,
          'audit-bad-number',
          `${raw.trim()} (${named === undefined ? `syscall=${sc} is not a syscall name or number` : `pid=${pidText} is not a pid`})`,
        );
        return;
      }
      name = syscallTable(abi).number(named) === undefined ? (AUDIT_NAMES[named] ?? named) : named;
    }
    const site: Parameters<RecordingBuilder['call']>[2] = { where };
    if (pid !== undefined) site.pid = pid;
    const exe = text(f.get('exe'));
    if (exe !== undefined) site.executable = exe;
    const stamp = STAMP.exec(raw);
    if (stamp) site.time = Number(`${stamp[1]}.${stamp[2]}`);
    this.rec.call(abi.id, name, site);
  }
}
