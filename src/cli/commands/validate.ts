import type { Command } from 'commander';
import type { Issue } from '../../profile/issues.js';
import { locate } from '../../profile/json-reader.js';
import type { Profile } from '../../profile/model.js';
import { parseDockerProfile } from '../../profile/parse-docker.js';
import { DEFAULT_KERNEL, resolve, ruleOrigins } from '../../profile/resolve.js';
import { describeTarget, RUNTIMES, type RuntimeTarget } from '../../targets/target.js';
import { runtimeFilter } from '../../targets/verdict.js';
import { EXIT_FINDINGS, EXIT_OK } from '../errors.js';
import { formatIssue, out, toJsonText } from '../output.js';
import { parseFormatOption, readProfile } from '../read-profile.js';
import { parseRuntimeTarget, runtimeOptions } from './runtime-options.js';

/** The runtime's refusal of a (valid) profile as a validation issue, at the rule it refuses. */
function runtimeRefusal(p: Profile, target: RuntimeTarget): Issue | undefined {
  if (RUNTIMES[target.runtime].engine === 'sysfence') return undefined;
  const resolved = resolve(p, { arch: target.native, kernelVersion: DEFAULT_KERNEL });
  const rf = runtimeFilter(resolved, target);
  if (rf.unmodelled)
    return {
      code: 'libseccomp-not-checked',
      severity: 'info',
      path: '$.syscalls',
      message: `whether ${describeTarget(target)} accepts this profile is not checked: ${rf.unmodelled}`,
    };
  const refused = rf.refused;
  if (!refused) return undefined;
  const origin =
    refused.rule !== undefined ? (ruleOrigins(resolved)?.[refused.rule] ?? refused.rule) : undefined;
  return {
    code: 'libseccomp-refuses',
    severity: 'error',
    path: origin !== undefined ? `$.syscalls[${origin}]` : '$',
    message: `${describeTarget(target)}: ${refused.message}`,
    hint: 'sysfence lint says what to change',
  };
}

export function registerValidate(program: Command, setExit: (code: number) => void): void {
  const cmd = program
    .command('validate')
    .description('check profiles: every issue at once, each with a code, a JSON path and line:column')
    .argument('<profile...>', 'Docker/OCI JSON or SPO SeccompProfile YAML files ("-" for stdin)')
    .option('--format <fmt>', 'input format: auto, docker or spo', 'auto')
    .option('--json', 'machine-readable result')
    .option('-q, --quiet', 'print errors and warnings only, not notes');
  runtimeOptions(cmd, 'docker')
    .addHelpText(
      'after',
      `
Exit status: 0 no errors or warnings, 1 findings, 2 usage or runtime error.
Notes (severity "note") point at things runtimes accept but a reviewer may want to know; they do
not change the exit status. A profile the --runtime's libseccomp refuses (the container would not
start) is an error: libseccomp-refuses, with the rule it refuses.

Examples:
  sysfence validate profile.json
  sysfence validate --json profiles/*.json | jq '.[].issues[] | .code'`,
    )
    .action(
      (
        files: string[],
        opts: { format: string; json?: boolean; quiet?: boolean } & Record<string, unknown>,
      ) => {
        const format = parseFormatOption(opts.format);
        const target = parseRuntimeTarget(opts);
        const results: { file: string; format: string; issues: Issue[] }[] = [];
        let problems = 0;
        for (const f of files) {
          const r = readProfile(f, format);
          if (!r.issues.some((i) => i.severity === 'error'))
            for (const lp of r.profiles) {
              const refusal = runtimeRefusal(lp.profile, target);
              if (!refusal) continue;
              const at =
                r.format === 'docker'
                  ? locate(refusal, parseDockerProfile(r.text).offsets, r.text).position
                  : undefined;
              r.issues.push(at ? { ...refusal, position: at } : refusal);
            }
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
      },
    );
}
