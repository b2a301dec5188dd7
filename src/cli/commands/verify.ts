import type { Command } from 'commander';
import { disassemble } from '../../bpf/disasm.js';
import { compile } from '../../compiler/compile.js';
import { buildWithLibseccomp, compareWithLibseccomp } from '../../compiler/libseccomp.js';
import { verifyProgram } from '../../compiler/verify.js';
import { ToolError } from '../../exec/run.js';
import { formatAction } from '../../profile/actions.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { err, out, toJsonText } from '../output.js';
import { readProfile } from '../read-profile.js';
import { filterOptions, setupFilter } from './filter-options.js';

export function registerVerify(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('verify')
    .description(
      "prove a profile's compiled filter: emulate(compile(p)) == evaluate(p) on every syscall number and argument boundary",
    )
    .argument('<profile...>', 'Docker/OCI JSON or SPO YAML (every object of an SPO file is checked)')
    .option(
      '--against-libseccomp',
      "also build libseccomp's filter (the oracle, python3-seccomp) and compare it on the same cases",
    )
    .option('--json', 'machine-readable result');
  filterOptions(cmd).addHelpText(
    'after',
    `
Prints how many cases it checked; exits 1 with the disassembly when the filter disagrees with the
reference semantics (or, with --against-libseccomp, when libseccomp disagrees for a reason that
is not a known, listed difference).

Examples:
  sysfence verify profile.json
  sysfence verify --against-libseccomp docker-default.json --native-arch x86_64`,
  );
  cmd.action((files: string[], opts: Record<string, unknown>) => {
    let failed = false;
    const results: unknown[] = [];
    for (const file of files) {
      const r = readProfile(file);
      const errors = r.issues.filter((i) => i.severity === 'error');
      if (errors.length > 0)
        throw new CliError(
          errors[0]!.code,
          `${file} is not a valid profile: ${errors[0]!.message}`,
          file,
          `run: sysfence validate ${file}`,
        );
      for (const lp of r.profiles) {
        const label = lp.name ? `${file}#${lp.name}` : file;
        const s = setupFilter(lp.profile, opts);
        const eo = { nativeArch: s.nativeArch, badArchAction: s.badArchAction, enosysStub: s.enosysStub };
        const c = compile(s.profile, eo);
        const v = verifyProgram(s.profile, c.instructions, eo);
        const row: Record<string, unknown> = {
          profile: label,
          instructions: c.instructions.length,
          cases: v.cases,
          mismatches: v.mismatches.length,
        };
        if (v.mismatches.length > 0) {
          failed = true;
          for (const m of v.mismatches)
            err(
              `${label}: MISMATCH arch=0x${m.case.arch.toString(16)} nr=${m.case.nr} args=[${m.case.args.join(',')}]: filter ${formatAction(m.got)}, reference ${formatAction(m.expected)}`,
            );
          err(disassemble(c.instructions, { comments: c.comments }));
        }
        let line = `${label}: ${c.instructions.length} instructions, ${v.cases} cases checked, ${v.mismatches.length} mismatches`;
        if (opts.againstLibseccomp) {
          if (s.enosysStub)
            throw new CliError(
              'bad-option',
              '--against-libseccomp compares plain libseccomp filters; drop --enosys-stub',
            );
          try {
            const lib = buildWithLibseccomp([{ profile: s.profile, badArch: s.badArchAction }]);
            const res = lib.results[0]!;
            if (!res.program)
              throw new CliError('libseccomp-refused', `libseccomp refused the profile: ${res.error}`, label);
            const d = compareWithLibseccomp(s.profile, res.program, res.skipped, eo);
            row.libseccomp = {
              version: lib.version,
              instructions: res.program.length,
              cases: d.cases,
              disagreements: d.disagreements.length,
              unexplained: d.unexplained,
            };
            line += `; libseccomp ${lib.version}: ${res.program.length} instructions, ${d.cases} cases, ${d.disagreements.length} differences (${d.unexplained} unexplained)`;
            const reasons = new Map<string, number>();
            for (const x of d.disagreements)
              if (x.explained) reasons.set(x.explained, (reasons.get(x.explained) ?? 0) + 1);
            for (const [why, n] of [...reasons].sort()) line += `\n    explained (${n} cases): ${why}`;
            for (const x of d.disagreements.filter((y) => !y.explained).slice(0, 20))
              err(
                `${label}: libseccomp differs at arch=0x${x.case.arch.toString(16)} nr=${x.case.nr} args=[${x.case.args.join(',')}]: libseccomp ${formatAction(x.libseccomp)}, reference ${formatAction(x.expected)}`,
              );
            if (d.unexplained > 0) failed = true;
          } catch (e) {
            if (e instanceof ToolError)
              throw new CliError(e.code, e.message, undefined, 'apt-get install python3-seccomp');
            throw e;
          }
        }
        results.push(row);
        if (!opts.json) out(line);
      }
    }
    if (opts.json) out(toJsonText(results));
    setExit(failed ? EXIT_FINDINGS : EXIT_OK);
  });
}
