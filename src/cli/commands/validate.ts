import type { Command } from 'commander';
import type { Issue } from '../../profile/issues.js';
import { EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { formatIssue, out, toJsonText } from '../output.js';
import { parseFormatOption, readProfile } from '../read-profile.js';

export function registerValidate(program: Command, setExit: (code: number) => void): void {
  program
    .command('validate')
    .description('check profiles: every issue at once, each with a code, a JSON path and line:column')
    .argument('<profile...>', 'Docker/OCI JSON or SPO SeccompProfile YAML files ("-" for stdin)')
    .option('--format <fmt>', 'input format: auto, docker or spo', 'auto')
    .option('--json', 'machine-readable result')
    .option('-q, --quiet', 'print errors and warnings only, not notes')
    .addHelpText(
      'after',
      `
Exit status: 0 no errors or warnings, 1 findings, 2 usage or runtime error.
Notes (severity "note") point at things runtimes accept but a reviewer may want to know; they do
not change the exit status.

Examples:
  sysfence validate profile.json
  sysfence validate --json profiles/*.json | jq '.[].issues[] | .code'`,
    )
    .action((files: string[], opts: { format: string; json?: boolean; quiet?: boolean }) => {
      const format = parseFormatOption(opts.format);
      const results: { file: string; format: string; issues: Issue[] }[] = [];
      let problems = 0;
      for (const f of files) {
        const r = readProfile(f, format);
        results.push({ file: r.file, format: r.format, issues: r.issues });
        problems += r.issues.filter((i) => i.severity !== 'info').length;
        if (opts.json) continue;
        const shown = opts.quiet ? r.issues.filter((i) => i.severity !== 'info') : r.issues;
        for (const i of shown) out(formatIssue(r.file, i));
        const count = (s: string) => r.issues.filter((i) => i.severity === s).length;
        const e = count('error');
        const w = count('warning');
        const n = count('info');
        out(
          `${r.file}: ${e === 0 && w === 0 ? 'valid' : 'invalid'} (${e} error${e === 1 ? '' : 's'}, ${w} warning${w === 1 ? '' : 's'}, ${n} note${n === 1 ? '' : 's'})`,
        );
      }
      if (opts.json) out(toJsonText(results));
      setExit(problems > 0 ? EXIT_FINDINGS : EXIT_OK);
    });
}
