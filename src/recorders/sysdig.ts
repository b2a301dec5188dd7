import type { ArchDef } from '../arch/types.js';
import { callName } from '../recording/numbers.js';
import type { RecordingBuilder } from '../recording/recording.js';
import { pidNumber, syscallNumber } from './log-values.js';

const DEFAULT =
  /^\d+ (\S+) \d+ (?:(?:\S+) \([0-9a-f]+\) )?(.+?) \((\d+)(?::\d+)?\) ([<>]) ([a-z_0-9]+)(?: (.*))?$/;
const TYPE_ONLY = /^[a-z_][a-z_0-9]*$/;
const FALCO_FIELD =
  /(?:^|[\s(,{"])(?:evt\.type|evt_type|syscall\.type|syscall)["]?[=:]\s*"?([a-z_][a-z_0-9]*)/;
const NOT_SYSCALLS = new Set([
  'switch',
  'procexit',
  'signaldeliver',
  'page_fault',
  'notification',
  'container',
  'cpu_hotplug',
  'infra',
  'meta',
  'pluginevent',
  'sysdigevent',
  'procinfo',
  'k8s',
  'mesos',
  'tracer',
  'asyncevent',
]);

export class SysdigReader {
  skipped = 0;
  private readonly pending = new Map<number, string>();

  constructor(
    private readonly rec: RecordingBuilder,
    private readonly file: string,
    private readonly arch: ArchDef,
  ) {}

  line(raw: string, lineNo: number): void {
    const text = raw.trim();
    if (text === '') return;
    const where = `${this.file}:${lineNo}`;
    const m = DEFAULT.exec(text);
    if (m) {
      const [, , proc, tidText, dir, type, info] = m;
      const tid = pidNumber(tidText!);
      if (tid === undefined) {
        this.rec.malformed(where, 'sysdig-bad-number', `${text} (thread id ${tidText} is not a pid)`);
        return;
      }
      this.event(type!, info ?? '', tid, proc!, dir === '>', where, text);
      return;
    }
    if (TYPE_ONLY.test(text)) {
      if (NOT_SYSCALLS.has(text)) this.skipped++;
      else this.rec.call(this.arch.id, text, { where });
      return;
    }
    const f = FALCO_FIELD.exec(text);
    if (f) {
      this.rec.call(this.arch.id, f[1]!, { where });
      return;
    }
    // falco's own start-up and rule-loading lines
    if (/^(?:\d{2}:\d{2}:\d{2}|\w{3} \w{3} +\d+ )/.test(text) || text.startsWith('Falco ')) {
      this.skipped++;
      return;
    }
    this.rec.malformed(where, 'sysdig-unrecognized-line', text);
  }

  private event(
    type: string,
    info: string,
    tid: number,
    proc: string,
    enter: boolean,
    where: string,
    text: string,
  ): void {
    if (type === 'drop') {
      this.rec.malformed(
        where,
        'sysdig-dropped-events',
        `${text} (sysdig lost events here: the trace has a hole)`,
      );
      return;
    }
    if (NOT_SYSCALLS.has(type)) {
      this.skipped++;
      return;
    }
    let name = type;
    if (type === 'syscall') {
      const native = /nativeID=(-?\d+)/.exec(info);
      if (!native) {
        this.rec.malformed(
          where,
          'sysdig-bad-number',
          `${text} (a generic syscall event without nativeID=N)`,
        );
        return;
      }
      const n = syscallNumber(native[1]!);
      if (n === undefined) {
        this.rec.malformed(
          where,
          'sysdig-bad-number',
          `${text} (nativeID=${native[1]} is not a syscall number)`,
        );
        return;
      }
      name = callName(this.arch, n) ?? `syscall_0x${n.toString(16)}`;
    }
    if (enter) this.pending.set(tid, name);
    else if (this.pending.get(tid) === name) {
      this.pending.delete(tid);
      return;
    }
    this.rec.call(this.arch.id, name, { where, pid: tid, executable: proc });
  }
}
