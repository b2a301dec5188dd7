import { type Command, Option } from 'commander';
import { findArch, nativeArch } from '../../arch/tables.js';
import { refuseOverwrite, writeOutput } from '../../exec/files.js';
import { IMPORT_FORMATS, type ImportFormat, importLogs } from '../../recorders/import.js';
import { serializeRecording } from '../../recording/recording.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { err, progress } from '../output.js';

export function registerImport(program: Command, setExit: (code: number) => void): void {
  program
    .command('import')
    .description(
      'read existing traces (strace, sysdig, falco, kernel audit SECCOMP/SYSCALL records, bpftrace map dumps) into a recording',
    )
    .argument('<file...>', 'log files (streamed, any size)')
    .addOption(
      new Option('--format <fmt>', 'the log format: auto (per file, from its first lines) or one of them')
        .choices(['auto', ...IMPORT_FORMATS])
        .default('auto'),
    )
    .option('--args', 'strace logs: record checkable argument values (for generate --args)')
    .option(
      '--arch <arch>',
      'ABI of the traced processes (default: this machine; qemu-user -strace logs need it said)',
    )
    .option('--strict', 'any line that cannot be read is an error (exit 1)')
    .option('-o, --output <file>', 'write the recording here instead of stdout')
    .addHelpText(
      'after',
      `
Lines that cannot be read are reported on stderr with file:line and a code, and counted in the
recording; --strict makes them fatal. Every syscall is kept, also unknown numbers
(as syscall_0x1b9).

Formats: strace (-f, -ff, -t/-tt/-ttt/-r, -T, -y, -k, -X raw|verbose, -e, unfinished/resumed,
personality switches, -c/-C tables); sysdig (default and -pc lines, -p"%evt.type"); falco alerts
whose output has evt.type (text or JSON); kernel audit SECCOMP/SYSCALL records (audit.log, dmesg,
journalctl -k, ausearch -i); bpftrace map dumps (@[args->id], @[probe], @[comm, args->id], text or
-f json).

Examples:
  strace -f -o app.log -- ./app && sysfence import app.log -o app.rec.json
  dmesg | grep type=1326 > denied.txt && sysfence import denied.txt
  sysfence import --arch x86_64 trace.*`,
    )
    .action(async (files: string[], opts: Record<string, string | boolean | undefined>) => {
      const format = String(opts.format);
      const arch = opts.arch ? findArch(String(opts.arch)) : nativeArch();
      if (!arch)
        throw new CliError('unknown-arch', `unknown architecture "${String(opts.arch ?? process.arch)}"`);
      progress(`importing ${files.length} file${files.length === 1 ? '' : 's'}...`);
      const rec = await importLogs(files, {
        arch,
        archGiven: opts.arch !== undefined,
        format: format as ImportFormat | 'auto',
        args: opts.args === true,
      });
      for (const m of rec.malformed.samples)
        err(`${m.where}: ${opts.strict ? 'error' : 'warning'}[${m.code}] ${JSON.stringify(m.text)}`);
      if (rec.malformed.count > rec.malformed.samples.length)
        err(`... and ${rec.malformed.count - rec.malformed.samples.length} more`);
      for (const s of rec.sources)
        err(
          `${s.file}: read as ${s.format}${s.skipped ? ` (${s.skipped} lines were not syscall events: skipped)` : ''}`,
        );
      for (const n of rec.notes ?? []) err(`sysfence: inferred: ${n}`);
      refuseOverwrite(opts.output as string | undefined, files);
      const text = serializeRecording(rec);
      if (opts.output) writeOutput(String(opts.output), text);
      else process.stdout.write(text);
      const summary = Object.entries(rec.syscalls)
        .map(
          ([abi, m]) =>
            `${abi}: ${Object.keys(m ?? {}).length} syscalls, ${Object.values(m ?? {}).reduce((n, s) => n + s.count, 0)} calls`,
        )
        .join('; ');
      err(
        `imported ${summary || 'no syscalls'}; ${rec.malformed.count} unreadable line${rec.malformed.count === 1 ? '' : 's'}`,
      );
      setExit(opts.strict && rec.malformed.count > 0 ? EXIT_FINDINGS : EXIT_OK);
    });
}
