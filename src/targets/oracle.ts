/**
 * The real libseccomp as an oracle (Debian's python3-seccomp through
 * scripts/oracle/libseccomp_export.py): build the filter runc would build for a resolved profile,
 * each profile in a forked child with a time limit (some rule sets make libseccomp loop forever).
 * Only `verify --against-libseccomp`, tests and benchmarks use it; sysfence's answers come from
 * its own model of libseccomp (filter.ts, codegen.ts), which this checks.
 */
import { join } from 'node:path';
import { findArch } from '../arch/tables.js';
import { emulate } from '../bpf/emulate.js';
import { decode } from '../bpf/encode.js';
import type { Instruction } from '../bpf/instruction.js';
import { type Case, verificationCases } from '../compiler/cases.js';
import { actionOfRet } from '../compiler/ret.js';
import { type RunResult, runTool, runToolAsync, ToolError } from '../exec/run.js';
import { packageRoot } from '../knowledge/data-files.js';
import { runModel } from '../libseccomp/run.js';
import type { Action, ActionKind } from '../profile/actions.js';
import type { Profile } from '../profile/model.js';
import type { RuntimeTarget } from './target.js';
import { type DivergenceLabel, runtimeEvaluate, runtimeFilter } from './verdict.js';

const SCRIPT = join(packageRoot(), 'scripts', 'oracle', 'libseccomp_export.py');
const PYTHON = '/usr/bin/python3';

export interface LibseccompBuild {
  program: Instruction[] | undefined;
  skipped: string[];
  error: string | null;
  /** libseccomp did not finish within the time limit (some rule sets make it loop forever). */
  timeout: boolean;
  seconds: number;
}

export interface LibseccompRequest {
  profile: Profile;
  badArch?: ActionKind;
  optimize?: 1 | 2;
  repeat?: number;
}

export interface LibseccompBuilds {
  version: string;
  results: LibseccompBuild[];
}

function oracleInput(reqs: LibseccompRequest[], timeoutSeconds: number): string {
  const profiles = reqs.map((r) => ({
    ...JSON.parse(JSON.stringify(r.profile, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))),
    badArch: r.badArch ?? 'KILL_PROCESS',
    optimize: r.optimize ?? 1,
    repeat: r.repeat ?? 1,
  }));
  return JSON.stringify({ profiles, timeout: timeoutSeconds });
}

function oracleOutput(out: RunResult): LibseccompBuilds {
  if (out.status !== 0) {
    const missing = /No module named 'seccomp'/.test(out.stderr);
    throw new ToolError(
      missing ? 'tool-missing' : 'tool-failed',
      'python3-seccomp',
      missing
        ? "libseccomp's Python binding is not installed (apt-get install python3-seccomp)"
        : `the libseccomp oracle failed: ${out.stderr.trim()}`,
    );
  }
  const parsed = JSON.parse(out.stdout) as {
    version: string;
    results: {
      bpf: string | null;
      skipped: string[];
      error: string | null;
      timeout: boolean;
      seconds: number;
    }[];
  };
  return {
    version: parsed.version,
    results: parsed.results.map((r) => ({
      program: r.bpf === null ? undefined : decode(new Uint8Array(Buffer.from(r.bpf, 'base64'))),
      skipped: r.skipped,
      error: r.error,
      timeout: r.timeout,
      seconds: r.seconds,
    })),
  };
}

const HINT = 'apt-get install python3-seccomp';

/** Builds filters with libseccomp; one python process, a forked child per profile. */
export function buildWithLibseccomp(reqs: LibseccompRequest[], timeoutSeconds = 1.5): LibseccompBuilds {
  return oracleOutput(runTool(PYTHON, [SCRIPT], { input: oracleInput(reqs, timeoutSeconds), hint: HINT }));
}

/** buildWithLibseccomp without blocking the event loop while libseccomp works. */
export async function buildWithLibseccompAsync(
  reqs: LibseccompRequest[],
  timeoutSeconds = 1.5,
): Promise<LibseccompBuilds> {
  return oracleOutput(
    await runToolAsync(PYTHON, [SCRIPT], { input: oracleInput(reqs, timeoutSeconds), hint: HINT }),
  );
}

export interface OracleDifference {
  case: Case;
  /** The profile's intent. */
  intent: Action;
  libseccomp: Action;
  label: DivergenceLabel;
  reason: string;
}

export interface OracleComparison {
  cases: number;
  /** libseccomp refused (or never finished); the model says so too when `modelAgrees`. */
  refused?: string;
  /** Every case where libseccomp's filter differs from the intent, labelled. */
  differences: OracleDifference[];
  /** Cases where the model's answer is not libseccomp's (a model bug: must be empty). */
  unexplained: { case: Case; libseccomp: Action; model: Action }[];
}

/**
 * Compares the real libseccomp filter with the profile's intent on the verification cases, and
 * with sysfence's model of it: every difference from the intent gets the model's label; a case
 * where the model and libseccomp disagree is unexplained. `target` must be the `libseccomp` one.
 */
export function compareWithOracle(
  profile: Profile,
  build: LibseccompBuild,
  target: RuntimeTarget,
): OracleComparison {
  const rf = runtimeFilter(profile, target);
  const result: OracleComparison = { cases: 0, differences: [], unexplained: [] };
  if (!build.program) {
    result.refused = build.error ?? 'refused';
    const agrees = rf.refused !== undefined && build.timeout === (rf.refused.reason === 'hang');
    if (!agrees)
      result.unexplained.push({
        case: { arch: 0, nr: 0, args: [] },
        libseccomp: { kind: 'KILL_PROCESS', data: 0 },
        model: { kind: 'ALLOW', data: 0 },
      });
    return result;
  }
  if (rf.refused) {
    result.unexplained.push({
      case: { arch: 0, nr: 0, args: [] },
      libseccomp: { kind: 'ALLOW', data: 0 },
      model: { kind: 'KILL_PROCESS', data: 0 },
    });
    return result;
  }
  const endian = findArch(target.native)?.endian ?? 'little';
  for (const c of verificationCases(rf.policy)) {
    result.cases++;
    const got = emulate(build.program, c, endian).ret >>> 0;
    const model = runModel(rf.filter!, c).ret >>> 0;
    if (got !== model)
      result.unexplained.push({ case: c, libseccomp: actionOfRet(got), model: actionOfRet(model) });
    const v = runtimeEvaluate(rf, c);
    if (v.divergence && got === model)
      result.differences.push({
        case: c,
        intent: { kind: v.intent.kind, data: v.intent.data },
        libseccomp: v.action,
        label: v.divergence.label,
        reason: v.divergence.reason,
      });
  }
  return result;
}
