import { type Command, Option } from 'commander';
import type { Issue } from '../../profile/issues.js';
import { locate } from '../../profile/json-reader.js';
import { parseDockerProfile } from '../../profile/parse-docker.js';
import {
  type Finding,
  LINT_CODES,
  type LintSeverity,
  lintProfile,
  SEVERITY_RANK,
} from '../../review/lint/index.js';
import type { ReviewOptions } from '../../review/verdicts.js';
import { EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { out, toJsonText } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { parseReviewOptions, reviewOptionsHelp } from './resolve-options.js';
import { parseRuntimeTarget, runtimeOptions } from './runtime-options.js';

export interface LocatedFinding extends Finding {
  line?: number;
  column?: number;
}

/** validate's issues and lint's findings, located in the file when it is Docker JSON. */
export function lintFile(file: string, o: ReviewOptions = {}): LocatedFinding[] {
  const r = readProfile(file);
  const p = requireOneProfile(r).profile;
  const fromValidate: LocatedFinding[] = r.issues.map((i) => ({
    code: i.code,
    severity: i.severity === 'error' ? 'error' : i.severity === 'warning' ? 'warning' : 'info',
    path: i.path,
    message: i.message,
    fix: i.hint ?? '',
    ...(i.position ? { line: i.position.line, column: i.position.column } : {}),
  }));
  const parsed = r.format === 'docker' ? parseDockerProfile(r.text) : undefined;
  const fromLint = lintProfile(p, o).map((f): LocatedFinding => {
    if (!parsed) return f;
    const issue: Issue = { code: f.code, severity: 'warning', message: f.message, path: f.path };
    const at = locate(issue, parsed.offsets, r.text).position;
    return at ? { ...f, line: at.line, column: at.column } : f;
  });
  return [...fromValidate, ...fromLint].sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}

export function formatLintText(file: string, findings: readonly LocatedFinding[]): string {
  const lines = findings.map(
    (f) =>
      `${file}${f.line !== undefined ? `:${f.line}:${f.column}` : ''}: ${f.severity}[${f.code}] ${f.message} (${f.path})${f.fix ? `\n    fix: ${f.fix}` : ''}`,
  );
  const n = (s: LintSeverity) => findings.filter((f) => f.severity === s).length;
  lines.push(
    `${file}: ${n('error')} error${n('error') === 1 ? '' : 's'}, ${n('warning')} warning${n('warning') === 1 ? '' : 's'}, ${n('info')} note${n('info') === 1 ? '' : 's'}`,
  );
  return `${lines.join('\n')}\n`;
}

export function registerLint(program: Command, setExit: (code: number) => void): void {
  runtimeOptions(reviewOptionsHelp(program.command('lint')), 'docker')
    .description(
      'findings a reviewer should see: dangerous calls, deny-lists, EPERM probes, rules that do nothing, ...',
    )
    .argument('<profile>', 'the profile (Docker/OCI JSON or SPO YAML)')
    .addOption(new Option('--format <fmt>', 'the output format').choices(['text', 'json']).default('text'))
    .addOption(
      new Option('--fail-on <severity>', 'exit 1 when a finding is at least this severe')
        .choices(['error', 'warning', 'info'])
        .default('error'),
    )
    .addHelpText(
      'after',
      `
Each finding has a stable code, a severity, the JSON path (and line) it is about, and a fix.
What the runtime's libseccomp makes of the profile is judged for --runtime (Docker by default):
findings about it name the syscall and a call that shows the difference.
Codes:
${LINT_CODES.map((c) => `  ${c.code.padEnd(24)} ${c.summary}`).join('\n')}
and every code of \`sysfence validate\`.

Example:
  sysfence lint web.json --fail-on warning`,
    )
    .action((file: string, opts: Record<string, string | undefined>) => {
      const format = opts.format ?? 'text';
      const failOn = (opts.failOn ?? 'error') as LintSeverity;
      const findings = lintFile(file, { ...parseReviewOptions(opts), target: parseRuntimeTarget(opts) });
      if (format === 'json') out(toJsonText({ file, findings }).trimEnd());
      else out(formatLintText(file, findings).trimEnd());
      setExit(
        findings.some((f) => SEVERITY_RANK[f.severity] <= SEVERITY_RANK[failOn]) ? EXIT_FINDINGS : EXIT_OK,
      );
    });
}
