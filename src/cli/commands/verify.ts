import type { Command } from 'commander';
import { disassemble } from '../../bpf/disasm.js';
import { compile } from '../../compiler/compile.js';
import { verifyProgram } from '../../compiler/verify.js';
import { ToolError } from '../../exec/run.js';
import { formatAction } from '../../profile/actions.js';
import { buildWithLibseccomp, compareWithOracle } from '../../targets/oracle.js';
import { runtimeTarget } from '../../targets/target.js';
import { CliError, EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { err, out, toJsonText } from '../output.js';
import { readProfile } from '../read-profile.js';
import { filterOptions, setupFilter } from './filter-options.js';
import { parseLibseccompVersion } from './runtime-options.js';

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
    .option('--libseccomp <version>', 'the libseccomp series whose model is checked: 2.5 | 2.6', '2.5')
    .option('--json', 'machine-readable result');
  filterOptions(cmd).addHelpText(
    'after',
    `
Prints how many cases it checked; exits 1 with the disassembly when the filter disagrees with the
reference semantics. With --against-libseccomp it also builds the filter runc would load with the
installed libseccomp and labels every case where it differs from the profile (precedence,
libseccomp-bug, no-number-load, unknown-name, refused); a case sysfence's model of libseccomp does
not predict is unexplained and exits 1.

Examples:
  sysfence verify profile.json
  sysfence verify --against-libseccomp docker-default.json --native-arch x86_64`,
  );
  cmd.action((files: string[], opts: Record<string, unknown>) => verifyAction(files, opts, setExit));
}

/** The `verify` command's action. */
function verifyAction(files: string[], opts: Record<string, unknown>, setExit: (code: number) => void): void {
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
        const lib = againstLibseccomp(s, label, opts, row);
        line += lib.line;
        if (lib.failed) failed = true;
      }
      results.push(row);
      if (!opts.json) out(line);
    }
  }
  if (opts.json) out(toJsonText(results));
  setExit(failed ? EXIT_FINDINGS : EXIT_OK);
}

/** `--against-libseccomp`: the same profile built by the real libseccomp, its answers against the profile's. */
function againstLibseccomp(
  s: ReturnType<typeof setupFilter>,
  label: string,
  opts: Record<string, unknown>,
  row: Record<string, unknown>,
): { line: string; failed: boolean } {
  let extra = '';
  if (s.enosysStub)
    throw new CliError(
      'bad-option',
      '--against-libseccomp compares plain libseccomp filters; drop --enosys-stub',
    );
  const target = runtimeTarget('libseccomp', {
    native: s.nativeArch,
    libseccomp: parseLibseccompVersion(opts.libseccomp),
  });
  let lib: ReturnType<typeof buildWithLibseccomp>;
  try {
    lib = buildWithLibseccomp([{ profile: s.profile, badArch: 'KILL_THREAD' }]);
  } catch (e) {
    if (e instanceof ToolError)
      throw new CliError(e.code, e.message, undefined, 'apt-get install python3-seccomp');
    throw e;
  }
  const res = lib.results[0]!;
  const cmp = compareWithOracle(s.profile, res, target);
  const byLabel = new Map<string, number>();
  for (const d of cmp.differences) byLabel.set(d.label, (byLabel.get(d.label) ?? 0) + 1);
  row.libseccomp = {
    version: lib.version,
    instructions: res.program?.length ?? null,
    refused: cmp.refused ?? null,
    cases: cmp.cases,
    differences: Object.fromEntries([...byLabel].sort()),
    unexplained: cmp.unexplained.length,
  };
  if (cmp.refused)
    extra += `; libseccomp ${lib.version} refuses it (${cmp.refused}), as sysfence's model of it says${cmp.unexplained.length > 0 ? ' NOT' : ''}`;
  else
    extra += `; libseccomp ${lib.version}: ${res.program!.length} instructions, ${cmp.cases} cases, ${cmp.differences.length} ${cmp.differences.length === 1 ? 'differs' : 'differ'} from the profile (${cmp.unexplained.length} unexplained)`;
  for (const [label, n] of [...byLabel].sort()) {
    const first = cmp.differences.find((d) => d.label === label)!;
    extra += `\n    ${label} (${n} cases): e.g. arch=0x${first.case.arch.toString(16)} nr=${first.case.nr} args=[${first.case.args.map((a) => `0x${a.toString(16)}`).join(',')}]: ${first.reason}`;
  }
  for (const x of cmp.unexplained.slice(0, 20))
    err(
      `${label}: UNEXPLAINED arch=0x${x.case.arch.toString(16)} nr=${x.case.nr} args=[${x.case.args.join(',')}]: libseccomp ${formatAction(x.libseccomp)}, sysfence's model of it ${formatAction(x.model)}`,
    );
  return { line: extra, failed: cmp.unexplained.length > 0 };
}
