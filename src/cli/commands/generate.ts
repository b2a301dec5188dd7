import type { Command } from 'commander';
import { checkWritable } from '../../exec/files.js';
import { generate } from '../../profile/generate.js';
import type { SpoVersion } from '../../profile/spo.js';
import { CliError, EXIT_OK } from '../errors.js';
import { reportGenerated, writeGenerated } from '../generated.js';
import { err } from '../output.js';
import { archListOption, generateOptionsOf, profileOptions } from '../profile-options.js';
import { readRecording } from '../recordings.js';
import { predictionFor } from '../static-reach.js';

export function registerGenerate(program: Command, setExit: (code: number) => void): void {
  profileOptions(program.command('generate'))
    .description('turn recordings into an allow-list profile (ENOSYS for everything not seen)')
    .argument('<recording...>', 'recordings from `sysfence import` (or `record`)')
    .option(
      '--args',
      'argument rules from recorded values (record --args), where they make a tight, safe rule',
    )
    .option(
      '--arch <abis>',
      'the ABIs the profile is for (comma-separated: aarch64, arm, riscv64, x86_64, ...), when not the recorded ones: calls are mapped (open -> openat, poll -> ppoll, ...)',
    )
    .option('-o, --output <file>', 'write here instead of stdout')
    .addHelpText(
      'after',
      `
ENOSYS, not EPERM, is the default denial: glibc and libuv fall back from clone3, faccessat2,
openat2, io_uring ... only on ENOSYS. exit, exit_group, rt_sigreturn (sigreturn on 32-bit ABIs)
and restart_syscall are added when they follow from what was recorded; stderr says which and why.
Call families (poll/ppoll/select, accept/accept4, dup/dup2/dup3, the stat family, ...: calls a
program picks among by input, not by code) bring the siblings of a recorded call; stderr says which
and why, --exact turns it off. Several recordings (one per input) give one profile, and stderr names
the calls only some runs made.

--arch maps a recording to other ABIs: what the same program calls there (aarch64 has no open,
stat, poll, dup2, pipe, fork, ...: glibc calls openat, newfstatat, ppoll, dup3, pipe2, clone);
stderr says each mapping and why, and warns of any call with no known counterpart.

Examples:
  sysfence import app.log -o app.rec.json && sysfence generate app.rec.json -o app.json
  sysfence generate app.rec.json --arch x86_64,aarch64 -o app.multi.json
  sysfence generate --companions --deny eperm a.rec.json b.rec.json`,
    )
    .action(async (files: string[], opts: Record<string, string | boolean | undefined>) => {
      checkWritable(opts.output as string | undefined, files);
      const recordings = files.map(readRecording);
      // calls on lines the importer could not read are not in the profile: said, with where
      recordings.forEach((r, i) => {
        if (r.malformed.count > 0)
          err(
            `sysfence: warning: ${files[i]} holds ${r.malformed.count} log line${r.malformed.count === 1 ? '' : 's'} that could not be read (first: ${r.malformed.samples[0]?.where} ${r.malformed.samples[0]?.code}): calls on them are not in the profile`,
          );
      });
      // a recording of nothing would make a profile that denies everything, said as a success
      recordings.forEach((r, i) => {
        if (Object.values(r.syscalls).every((c) => Object.keys(c ?? {}).length === 0))
          throw new CliError(
            'empty-recording',
            `${files[i]} holds no call: a profile from it would deny everything the program does`,
            files[i],
            'record the workload again (sysfence record --recording FILE -- CMD), or import a log that has its calls',
          );
      });
      const predicted = await predictionFor(recordings, opts, (l) => err(`sysfence: ${l}`));
      const g = generate(recordings, {
        ...generateOptionsOf(opts),
        ...(predicted ? { predicted } : {}),
        args: opts.args === true,
        ...(opts.arch ? { arch: archListOption(String(opts.arch), opts.args === true) } : {}),
      });
      reportGenerated(g);
      writeGenerated(
        g,
        String(opts.format),
        String(opts.name),
        opts.output as string | undefined,
        opts.spoVersion as SpoVersion,
      );
      setExit(EXIT_OK);
    });
}
