import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { ARCH_DEFS } from '../../arch/defs.js';
import { explainSyscall, LIBSECCOMP_VERSION } from '../../profile/explain.js';
import { ProfileError } from '../../profile/profile-error.js';
import { CliError, EXIT_OK } from '../errors.js';
import { out, style, toJsonText } from '../output.js';
import { explainProfileCmd } from './explain-profile.js';
import { resolveOptionsHelp } from './resolve-options.js';
import { runtimeOptions } from './runtime-options.js';

export function registerExplain(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('explain')
    .description('explain a syscall (name or number) or a profile (what it allows, against Docker default)')
    .argument('<target>', 'a syscall name or number, or a profile file')
    .option('--json', 'machine-readable result')
    .option(
      '--recording <file>',
      'for a profile: recordings of the runs it came from (repeat); names the calls only some runs made',
      (v: string, all: string[] = []) => [...all, v],
    )
    .option(
      '--all-arches',
      'for a profile: every architecture it names (default: the first host architecture)',
    );
  resolveOptionsHelp(cmd);
  runtimeOptions(cmd, 'docker');
  cmd.addHelpText(
    'after',
    `
Examples:
  sysfence explain clone3
  sysfence explain 59 --arch x86_64
  sysfence explain profile.json --all-arches
  sysfence explain app.json --recording app.rec.json   (a merged recording of several runs)`,
  );
  cmd.action((target: string, opts: Record<string, string | boolean | undefined>) => {
    const json = opts.json === true;
    try {
      if (existsSync(target) || /\.(json|ya?ml)$/.test(target)) explainProfileCmd(target, opts, json);
      else explainSyscallCmd(target, (opts.arch as string | undefined) ?? 'x86_64', json);
    } catch (e) {
      if (e instanceof ProfileError) throw new CliError(e.code, e.message);
      throw e;
    }
    setExit(EXIT_OK);
  });
}

function explainSyscallCmd(query: string, arch: string, json: boolean): void {
  const x = explainSyscall(query, arch);
  if (json) {
    out(toJsonText(x));
    return;
  }
  out(`${style.bold(x.name)}: ${x.summary ?? '(no one-line summary known)'}`);
  if (x.legacy) out('  removed from Linux; runtimes still resolve the name (see data/legacy-syscalls.tsv)');
  if (x.unknownToLibseccomp)
    out(
      `  libseccomp ${LIBSECCOMP_VERSION} does not know this name: runc/crun built on it drop rules for it silently`,
    );
  const nums = ARCH_DEFS.map((a) => `${a.id}=${x.numbers[a.id] === null ? '-' : x.numbers[a.id]}`);
  out(`  numbers: ${nums.join(' ')}`);
  out(`  capability: ${x.capability ?? 'none needed'}`);
  out(`  Docker default (${x.docker.arch}, default capabilities): ${x.docker.verdict} - ${x.docker.detail}`);
  if (x.risk) out(`  risk: ${x.risk}`);
}
