import type { Command } from 'commander';
import { disassemble } from '../../bpf/disasm.js';
import { decode } from '../../bpf/encode.js';
import { BpfError } from '../../bpf/errors.js';
import { validateProgram } from '../../bpf/validate.js';
import { readBytes } from '../../exec/files.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { err, out } from '../output.js';

export function loadProgramFile(file: string) {
  try {
    return decode(new Uint8Array(readBytes(file)));
  } catch (e) {
    if (e instanceof BpfError) throw new CliError(e.code, e.message, file);
    throw e;
  }
}

export function registerDisasm(program: Command, setExit: (code: number) => void): void {
  program
    .command('disasm')
    .description('disassemble a raw BPF filter (struct sock_filter array) and check it as the kernel would')
    .argument(
      '<file>',
      'raw filter bytes, e.g. from `sysfence compile --format raw` or libseccomp export_bpf',
    )
    .addHelpText(
      'after',
      '\nExit status 1 when the kernel would refuse the program (each problem is named with its instruction).\n\nExample:\n  sysfence disasm filter.bpf',
    )
    .action((file: string) => {
      const p = loadProgramFile(file);
      out(disassemble(p).trimEnd());
      const problems = validateProgram(p);
      for (const e of problems) err(`${file}: error[${e.code}] ${e.message}`);
      setExit(problems.length > 0 ? EXIT_FINDINGS : EXIT_OK);
    });
}
