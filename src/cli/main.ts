#!/usr/bin/env node
/** sysfence command line: the only code that prints or exits. */
import { Command, CommanderError } from 'commander';
import { BpfError } from '../bpf/errors.js';
import { FileError } from '../exec/files.js';
import { ToolError } from '../exec/run.js';
import { ProfileError } from '../profile/profile-error.js';
import { VERSION } from '../version.js';
import { registerCompile } from './commands/compile.js';
import { registerConvert } from './commands/convert.js';
import { registerDemo } from './commands/demo.js';
import { registerDisasm } from './commands/disasm.js';
import { registerEmu } from './commands/emu.js';
import { registerExplain } from './commands/explain.js';
import { registerGenerate } from './commands/generate.js';
import { registerImport } from './commands/import.js';
import { registerRecord } from './commands/record.js';
import { registerValidate } from './commands/validate.js';
import { registerVerify } from './commands/verify.js';
import { CliError, EXIT_ERROR } from './errors.js';
import { err, style } from './output.js';

// A closed pipe (`sysfence ... | head`) ends output quietly, not with a stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });

let exitCode = 0;
const setExit = (code: number) => {
  exitCode = code;
};

const program = new Command();
program
  .name('sysfence')
  .description(
    'least-privilege seccomp profiles from what programs actually do, compiled to BPF and proven right',
  )
  .version(VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerValidate(program, setExit);
registerConvert(program, setExit);
registerExplain(program, setExit);
registerCompile(program, setExit);
registerDisasm(program, setExit);
registerEmu(program, setExit);
registerVerify(program, setExit);
registerImport(program, setExit);
registerGenerate(program, setExit);
registerRecord(program, setExit);
registerDemo(program, setExit);
for (const c of program.commands) c.exitOverride();

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return 0;
    return EXIT_ERROR; // commander already printed the usage error
  }
  if (e instanceof CliError) {
    err(`${style.red('error')}[${e.code}]: ${e.message}${e.location ? ` (${e.location})` : ''}`);
    if (e.hint) err(`    hint: ${e.hint}`);
    return EXIT_ERROR;
  }
  if (e instanceof BpfError) {
    err(`${style.red('error')}[${e.code}]: ${e.message}`);
    return EXIT_ERROR;
  }
  if (e instanceof ToolError) {
    err(`${style.red('error')}[${e.code}]: ${e.message}`);
    return EXIT_ERROR;
  }
  if (e instanceof FileError || e instanceof ProfileError) {
    err(`${style.red('error')}[${e.code}]: ${e.message} (${e.path})`);
    return EXIT_ERROR;
  }
  const m = e instanceof Error ? e.message : String(e);
  err(`${style.red('error')}[internal]: ${m}`);
  err('    this is a bug in sysfence; set SYSFENCE_DEBUG=1 for a stack trace and report it');
  if (process.env.SYSFENCE_DEBUG && e instanceof Error) err(e.stack ?? '');
  return EXIT_ERROR;
}

try {
  await program.parseAsync(process.argv);
  process.exitCode = exitCode;
} catch (e) {
  process.exitCode = report(e);
}
