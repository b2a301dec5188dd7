/**
 * The command line as a function: `runCli(argv)` parses, runs one command and returns its exit
 * status; it never exits the process. main.ts is the process around it (streams, exit status); the
 * robustness tests run thousands of invocations through it in one process.
 */
import { Command, CommanderError } from 'commander';
import { printable, SysfenceError } from '../errors.js';
import { setStopNote, stopExitStatus } from '../exec/signals.js';
import { VERSION } from '../version.js';
import { EXIT_ERROR } from './errors.js';
import { err, style } from './output.js';

type Register = (program: Command, setExit: (code: number) => void) => void;
/** Commands in help order, each loaded only when needed (start-up time matters for `import`). */
const COMMANDS: [string, () => Promise<Register>][] = [
  ['validate', async () => (await import('./commands/validate.js')).registerValidate],
  ['convert', async () => (await import('./commands/convert.js')).registerConvert],
  ['explain', async () => (await import('./commands/explain.js')).registerExplain],
  ['compile', async () => (await import('./commands/compile.js')).registerCompile],
  ['disasm', async () => (await import('./commands/disasm.js')).registerDisasm],
  ['emu', async () => (await import('./commands/emu.js')).registerEmu],
  ['verify', async () => (await import('./commands/verify.js')).registerVerify],
  ['import', async () => (await import('./commands/import.js')).registerImport],
  ['generate', async () => (await import('./commands/generate.js')).registerGenerate],
  ['record', async () => (await import('./commands/record.js')).registerRecord],
  ['run', async () => (await import('./commands/run.js')).registerRun],
  ['learn', async () => (await import('./commands/learn.js')).registerLearn],
  ['merge', async () => (await import('./commands/merge.js')).registerMerge],
  ['lint', async () => (await import('./commands/lint.js')).registerLint],
  ['diff', async () => (await import('./commands/diff.js')).registerDiff],
  ['check', async () => (await import('./commands/check.js')).registerCheck],
  ['report', async () => (await import('./commands/report.js')).registerReport],
  ['inspect', async () => (await import('./commands/inspect.js')).registerInspect],
  ['reach', async () => (await import('./commands/reach.js')).registerReach],
  ['push', async () => (await import('./commands/registry.js')).registerPush],
  ['pull', async () => (await import('./commands/registry-pull.js')).registerPull],
  ['demo', async () => (await import('./commands/demo.js')).registerDemo],
];

/** commander's error codes, as sysfence's (docs/validation.md lists them). */
const PARSER_CODES: Record<string, string> = {
  'commander.unknownOption': 'unknown-option',
  'commander.unknownCommand': 'unknown-command',
  'commander.missingArgument': 'missing-argument',
  'commander.optionMissingArgument': 'missing-option-value',
  'commander.missingMandatoryOptionValue': 'missing-option',
  'commander.excessArguments': 'excess-arguments',
  'commander.invalidArgument': 'bad-option',
  'commander.conflictingOption': 'bad-option',
};

/** Commands whose arguments are a command line to run, after `--`. */
const RUNS_A_COMMAND = new Set(['record', 'run', 'learn', 'check']);

function parserHint(e: CommanderError, cmd: string): string {
  if (e.code === 'commander.unknownOption' && RUNS_A_COMMAND.has(cmd))
    return `if the option is the program's, put -- before the program: sysfence ${cmd} [options] -- CMD ARGS...`;
  const known = COMMANDS.some(([name]) => name === cmd);
  return `sysfence ${known ? `${cmd} ` : ''}--help shows the usage`;
}

/** Says what went wrong, once, with its code; returns the exit status. */
export function report(e: unknown, command = ''): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return 0;
    // the option parser's errors in the same form as every other: error[code]: message
    const code = PARSER_CODES[e.code] ?? 'bad-usage';
    err(`${style.red('error')}[${code}]: ${e.message.replace(/^error: /, '')}`);
    err(`    hint: ${parserHint(e, command)}`);
    return EXIT_ERROR;
  }
  // every error sysfence means to report (CliError, ToolError, FileError, ProfileError,
  // RecordingError, CompileError, BpfError, ...): said once, in one form
  // messages carry names and text from the inputs: never a raw control character to the terminal
  if (e instanceof SysfenceError) {
    err(
      `${style.red('error')}[${e.code}]: ${printable(e.message)}${e.location ? ` (${printable(e.location)})` : ''}`,
    );
    if (e.hint) err(`    hint: ${printable(e.hint)}`);
    return EXIT_ERROR;
  }
  const m = printable(e instanceof Error ? e.message : String(e));
  err(`${style.red('error')}[internal]: ${m}`);
  err('    this is a bug in sysfence; set SYSFENCE_DEBUG=1 for a stack trace and report it');
  if (process.env.SYSFENCE_DEBUG && e instanceof Error) err(e.stack ?? '');
  return EXIT_ERROR;
}

/** Runs one sysfence command line (argv as process.argv: node, script, command, ...). */
export async function runCli(argv: readonly string[]): Promise<number> {
  setStopNote((line) => err(`sysfence: ${line}`));
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
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      // parser errors are said by report(), as error[code] with a hint
      outputError: () => {},
    });
  // `sysfence import ...` needs only `import`; help, unknown commands and no command need them all
  const invoked = COMMANDS.find(([name]) => name === argv[2]);
  let status: number;
  try {
    for (const [, load] of invoked ? [invoked] : COMMANDS) (await load())(program, setExit);
    for (const c of program.commands)
      c.exitOverride().configureOutput({
        writeOut: (s) => process.stdout.write(s),
        writeErr: (s) => process.stderr.write(s),
        outputError: () => {},
      });
    await program.parseAsync([...argv]);
    status = exitCode;
  } catch (e) {
    status = report(e, argv[2] ?? '');
  }
  // a command a stop signal ended (having written what it had) exits as the shell would: 128 + n
  return stopExitStatus() ?? status;
}
