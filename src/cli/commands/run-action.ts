import { workloadUser } from '../../exec/as-user.js';
import { writeOutput } from '../../exec/files.js';
import { holdStopSignals, stopSignalReceived } from '../../exec/signals.js';
import type { Profile } from '../../profile/model.js';
import { resolve } from '../../profile/resolve.js';
import { exitStatus } from '../../recorders/workload.js';
import { formatPids, type Recording } from '../../recording/recording.js';
import { explainDenials, wouldDeny } from '../../runners/denials.js';
import { type RunResult, runContainerUnderProfile, runUnderProfile } from '../../runners/run-profile.js';
import { runtimeTarget } from '../../targets/target.js';
import { err } from '../output.js';
import { beyondDefaultOption } from '../profile-options.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { checkRun, defaultActionOption } from './run-checks.js';
import { learnFromRun } from './run-learn.js';

/** run and learn: the workload under the profile, its denials said as they come, the report. */
export async function runAction(
  command: string[],
  opts: Record<string, string | boolean | undefined>,
  setExit: (code: number) => void,
): Promise<void> {
  // SIGINT/SIGTERM/SIGHUP stop the workload; the report and --learn are still written
  holdStopSignals();
  const { ce, arch, file } = checkRun(opts);
  const setDefault = defaultActionOption(opts.defaultAction as string | undefined);
  const beyond = beyondDefaultOption(opts.allowBeyondDefault);
  // the profile as written (what --learn changes) and as run (--default-action applied)
  const written = requireOneProfile(readProfile(file)).profile;
  const original = setDefault(written);
  const profile = resolve(original, { arch, kernelVersion: String(opts.kernel) });
  if (opts.oneRound)
    err(
      `sysfence: learn: the profile's default (${written.defaultAction}) is LOG for this run: nothing it would deny is blocked, so the workload follows its real path; the profile's own rules still apply`,
    );
  else if (original.defaultAction === 'SCMP_ACT_ALLOW' || original.defaultAction === 'SCMP_ACT_LOG')
    err(
      `sysfence: WARNING: nothing is enforced by default: the default action is ${original.defaultAction}${opts.defaultAction ? ` (--default-action ${String(opts.defaultAction)})` : ''}, so calls the profile does not list ${original.defaultAction === 'SCMP_ACT_LOG' ? 'run and are logged' : 'run'}, not denied`,
    );
  const note = (m: string) => err(`sysfence: ${m}`);
  const user = ce ? undefined : workloadUser(opts.asRoot === true, note);
  const target = ce ? runtimeTarget(ce.runtime, { native: arch.id }) : undefined;
  // denials are said as they appear, not only at the end (a server may spin on a denied call)
  const started = Date.now();
  const said = new Set<string>();
  const progress = (denied: Recording) => {
    for (const d of explainDenials(profile, denied, target)) {
      const key = `${d.abi} ${d.name}`;
      if (said.has(key)) continue;
      said.add(key);
      err(
        `sysfence: [${((Date.now() - started) / 1000).toFixed(0)} s] ${d.expected ? 'expected' : 'DENIED'} ${key} (${d.verdict}), ${formatPids(d.pids)}`,
      );
    }
  };
  const r = ce
    ? await runContainerUnderProfile({
        profile: original,
        resolved: profile,
        arch,
        runArgs: command,
        containerEngine: ce,
        note,
        target: target!,
        progress,
      })
    : await runUnderProfile({
        profile,
        arch,
        command,
        note,
        progress,
        ...(user ? { user } : {}),
      });
  const stoppedBy = stopSignalReceived();
  if (stoppedBy) err(`sysfence: stopped by ${stoppedBy}: the report covers the run until then`);
  // under --default-action log nothing the default covers is denied: what it would have denied
  // comes from the recording of the whole run (the kernel drops SECCOMP log records under load)
  if (opts.defaultAction === 'log') {
    const resolvedWritten = resolve(written, { arch, kernelVersion: String(opts.kernel) });
    r.denials = [
      ...r.denials.filter((d) => !d.verdict.startsWith('LOG')),
      ...wouldDeny(resolvedWritten, r.recording),
    ];
  }
  const findings = sayDenials(r, { file, original, stoppedBy, report: opts.report as string | undefined });
  if (opts.learn) learnFromRun({ opts, written, run: r, arch, beyond, ...(ce ? { ce } : {}) });
  else if (findings.length > 0)
    err(
      `sysfence: ${findings.length} finding${findings.length === 1 ? '' : 's'}; --learn proposes the profile that allows them`,
    );
  setExit(exitStatus(r.exit));
}

/** The denials of a run, said on stderr, and the report file (--report); returns the findings. */
function sayDenials(
  r: RunResult,
  o: { file: string; original: Profile; stoppedBy: string | undefined; report: string | undefined },
): RunResult['denials'] {
  const { file, original, stoppedBy } = o;
  const opts = { report: o.report };
  const findings = r.denials.filter((d) => !d.expected);
  if (r.denials.length === 0) err('sysfence: no call was denied');
  for (const d of r.denials) {
    err(
      `sysfence: ${d.expected ? 'expected' : d.verdict.startsWith('ran under LOG') ? 'LOGGED' : 'DENIED'} ${d.abi} ${d.name}: ${d.count} call${d.count === 1 ? '' : 's'}, ${d.verdict}; ${formatPids(d.pids)}${d.executables.length ? ` (${d.executables.join(', ')})` : ''}`,
    );
    if (d.runtime)
      err(
        `sysfence:     [${d.runtime.label}] ${d.runtime.reason} (--learn cannot fix this: see sysfence lint)`,
      );
  }
  // bubblewrap passes its child's signal death on as 128+n
  if (exitStatus(r.exit) === 128 + 31) err('sysfence: the workload was killed by its filter (SIGSYS)');
  if (r.killLogProblem) err(`sysfence: warning: ${r.killLogProblem}`);
  if (opts.report)
    writeOutput(
      String(opts.report),
      `${JSON.stringify(
        {
          sysfenceRun: 1,
          profile: file,
          defaultAction: original.defaultAction,
          exit: { code: r.exit.code, signal: r.exit.signal, status: exitStatus(r.exit) },
          stoppedBy: stoppedBy ?? null,
          denials: r.denials,
          findings: findings.length,
          killLogProblem: r.killLogProblem ?? null,
          calls: Object.fromEntries(
            Object.entries(r.recording.syscalls).map(([abi, calls]) => [
              abi,
              Object.keys(calls ?? {}).length,
            ]),
          ),
        },
        null,
        2,
      )}\n`,
    );
  return findings;
}
