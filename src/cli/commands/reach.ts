import type { Command } from 'commander';
import { imageCommand, imageFiles } from '../../exec/image-files.js';
import { allPrograms, listFiles, programOf } from '../../reach/find-programs.js';
import { type ProgramReach, reachProgram } from '../../reach/program.js';
import { DOCKER, engineById, RUNNING_ENGINES } from '../../recorders/container-engines.js';
import { driftOf } from '../../review/drift.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { out, toJsonText } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { hostFiles, reachCache } from '../static-reach.js';
import { printDrift, printReach } from './reach-print.js';

export function registerReach(program: Command, setExit: (code: number) => void): void {
  program
    .command('reach')
    .description(
      "what a program can call: every system call its code and its libraries' code can make, with the import chain to each (an ldd for syscalls)",
    )
    .argument(
      '[program...]',
      'programs (paths on this machine, under --root, or in --image; a name is looked up in the usual bin directories)',
    )
    .option(
      '--image <ref>',
      "read the programs from a container image (never run); with no program, the image's entrypoint and command",
    )
    .option(
      '--engine <id>',
      `the engine holding the image: ${RUNNING_ENGINES.map((e) => e.id).join(' or ')}`,
      DOCKER.id,
    )
    .option('--root <dir>', 'read the programs from this directory (an unpacked image)')
    .option('--all', 'every program of the image or root directory')
    .option(
      '--loaded <objects>',
      'shared objects loaded at run time (dlopen), comma-separated, analysed as reachable',
    )
    .option('--why <call>', 'only this call, with its whole chain')
    .option(
      '--profile <file>',
      'drift: the calls the programs can make that this profile does not allow, each with why (exit 1 when there are any)',
    )
    .option('--json', 'the result as JSON')
    .addHelpText(
      'after',
      `
Reach is computed from the code, not from a run: the program, its DT_NEEDED libraries as the
loader finds them (RUNPATH, ld.so.conf, musl's path file) and the loader itself are decoded
(x86-64 with iced-x86, aarch64 with sysfence's decoder), system call numbers are followed through
registers and through wrappers (libc's syscall(), Go's syscall.Syscall), and a function counts as
reachable when reached code calls it or takes its address, or reached data points to it. Each
library's table is cached by build-id ($SYSFENCE_CACHE_DIR, else ~/.cache/sysfence). What cannot be
settled is said: sites whose number is unknown, modules loaded at run time (dlopen, NSS).
Exit 0; 1 when a library a program needs is missing; 2 on an error.

Examples:
  sysfence reach /usr/bin/tar
  sysfence reach /usr/bin/tar --why ftruncate
  sysfence reach --image nginx:1.25                 # the image's entrypoint
  sysfence reach --image debian:bookworm --all --json
  sysfence reach --image app:2.0 --profile app-1.0.json   # drift: what the new image can call that the profile denies`,
    )
    .action(async (programs: string[], opts: Record<string, string | boolean | undefined>) =>
      reachAction(programs, opts, setExit),
    );
}

/** The `reach` command's action. */
async function reachAction(
  programs: string[],
  opts: Record<string, string | boolean | undefined>,
  setExit: (code: number) => void,
): Promise<void> {
  if (opts.image && opts.root) throw new CliError('bad-option', 'give --image or --root, not both');
  const engine = engineById(String(opts.engine));
  if (!engine?.runs)
    throw new CliError(
      'bad-option',
      `--engine must be ${RUNNING_ENGINES.map((e) => e.id).join(' or ')}, not ${String(opts.engine)}`,
    );
  const fs = opts.image
    ? await imageFiles(engine.cli, String(opts.image))
    : hostFiles(opts.root as string | undefined);
  let targets = programs;
  if (opts.all) {
    if (!opts.image && !opts.root)
      throw new CliError(
        'bad-option',
        '--all reads every program of an image or root directory: give --image or --root',
      );
    targets = allPrograms(
      fs,
      opts.image && 'entries' in fs
        ? [...(fs as unknown as { entries: Map<string, unknown> }).entries.keys()]
        : listFiles(fs, '/'),
    );
  } else if (targets.length === 0) {
    if (!opts.image) throw new CliError('bad-option', 'give a program (or --image IMAGE for its entrypoint)');
    const cmd = imageCommand(engine.cli, String(opts.image));
    if (cmd.length === 0)
      throw new CliError(
        'bad-option',
        `image ${String(opts.image)} has no entrypoint or command: name the program`,
      );
    targets = [cmd[0] as string];
  }
  const resolved = targets.map((t) => {
    const p = programOf(fs, t);
    if (!p) throw new CliError('reach-no-program', `${t} is not a program in ${fs.label}`, t);
    return p;
  });
  const loaded = typeof opts.loaded === 'string' ? opts.loaded.split(',').filter(Boolean) : [];
  const results: ProgramReach[] = [];
  for (const p of resolved) results.push(reachProgram(p, { fs, cache: reachCache(), loaded }));
  const drift = opts.profile
    ? driftOf(requireOneProfile(readProfile(String(opts.profile))).profile, results)
    : [];
  if (opts.json)
    out(
      toJsonText(opts.profile ? { programs: results, drift } : results.length === 1 ? results[0] : results),
    );
  else
    for (const r of results) {
      printReach(r, opts.why as string | undefined);
      if (results.length > 1) out('');
    }
  if (results.length > 1 && !opts.json) {
    const union = new Set(results.flatMap((r) => r.calls.map((c) => c.name)));
    out(`${results.length} programs: ${union.size} system calls reachable in all`);
  }
  if (opts.profile && !opts.json) printDrift(String(opts.profile), drift);
  setExit(results.some((r) => r.missing.length > 0) || drift.length > 0 ? EXIT_FINDINGS : EXIT_OK);
}
