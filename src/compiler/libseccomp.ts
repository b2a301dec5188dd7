/**
 * libseccomp as an oracle (Debian's python3-seccomp through scripts/oracle/libseccomp_export.py):
 * build the filter runc would build for a resolved profile, and compare it, case by case, with
 * sysfence's reference semantics. Only `verify --against-libseccomp`, tests and benchmarks use it.
 */
import { fileURLToPath } from 'node:url';
import { LIBSECCOMP_ARCH_GAPS, LIBSECCOMP_UNKNOWN_NAMES } from '../arch/tables/libseccomp.gen.js';
import { syscallTable } from '../arch/tables.js';
import { emulate } from '../bpf/emulate.js';
import { decode } from '../bpf/encode.js';
import type { Instruction } from '../bpf/instruction.js';
import { runTool, ToolError } from '../exec/run.js';
import type { Action, ActionKind } from '../profile/actions.js';
import { type EvaluateOptions, evaluateData } from '../profile/evaluate.js';
import type { Profile } from '../profile/model.js';
import { abiDomains, auditGroups, buildPolicy } from '../profile/policy.js';
import { type Case, verificationCases } from './cases.js';
import { actionOfRet } from './ret.js';

const SCRIPT = fileURLToPath(new URL('../../scripts/oracle/libseccomp_export.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface LibseccompBuild {
  program: Instruction[] | undefined;
  skipped: string[];
  error: string | null;
  seconds: number;
}

export interface LibseccompRequest {
  profile: Profile;
  badArch?: ActionKind;
  optimize?: 1 | 2;
  repeat?: number;
}

/** Builds filters with libseccomp; one python process for the whole batch. */
export function buildWithLibseccomp(reqs: LibseccompRequest[]): {
  version: string;
  results: LibseccompBuild[];
} {
  const profiles = reqs.map((r) => ({
    ...JSON.parse(JSON.stringify(r.profile, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))),
    badArch: r.badArch ?? 'KILL_PROCESS',
    optimize: r.optimize ?? 1,
    repeat: r.repeat ?? 1,
  }));
  const out = runTool(PYTHON, [SCRIPT], {
    input: JSON.stringify({ profiles }),
    hint: 'apt-get install python3-seccomp',
  });
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
    results: { bpf: string | null; skipped: string[]; error: string | null; seconds: number }[];
  };
  return {
    version: parsed.version,
    results: parsed.results.map((r) => ({
      program: r.bpf === null ? undefined : decode(new Uint8Array(Buffer.from(r.bpf, 'base64'))),
      skipped: r.skipped,
      error: r.error,
      seconds: r.seconds,
    })),
  };
}

export interface Disagreement {
  case: Case;
  /** sysfence's reference semantics (what runc + libseccomp should give). */
  expected: Action;
  libseccomp: Action;
  /** Why they differ, when it is a known and explained difference; undefined when unexplained. */
  explained?: string;
}

export interface DifferentialResult {
  cases: number;
  disagreements: Disagreement[];
  unexplained: number;
}

/** Runs libseccomp's program through the emulator on the verification cases and compares with evaluate. */
export function compareWithLibseccomp(
  profile: Profile,
  program: Instruction[],
  skipped: string[],
  opts: EvaluateOptions = {},
): DifferentialResult {
  const policy = buildPolicy(profile, opts);
  const endianOf = new Map(policy.arches.map((a) => [a.auditArch, a.endian]));
  const groups = auditGroups(policy);
  const abiOf = (c: Case) =>
    abiDomains(groups.find((g) => g[0]!.auditArch === c.arch) ?? []).find(
      (d) => c.nr >>> 0 >= d.start && c.nr >>> 0 <= d.end,
    )?.abi;
  const skippedSet = new Set([...skipped, ...LIBSECCOMP_UNKNOWN_NAMES]);
  const disagreements: Disagreement[] = [];
  let cases = 0;
  let unexplained = 0;
  for (const c of verificationCases(policy)) {
    cases++;
    const expected = evaluateData(profile, c, opts);
    const got = actionOfRet(emulate(program, c, endianOf.get(c.arch) ?? 'little').ret);
    if (got.kind === expected.kind && got.data === expected.data) continue;
    const abi = groups.some((g) => g[0]!.auditArch === c.arch) ? abiOf(c) : undefined;
    const name = abi ? syscallTable(abi).name(c.nr >>> 0) : undefined;
    let explained: string | undefined;
    if (name && skippedSet.has(name)) explained = `libseccomp does not know "${name}"; runc drops the rule`;
    else if (name && KNOWN_ARCH_GAPS.has(`${abi!.id}:${name}`))
      explained = `libseccomp has no number for ${name} on ${abi!.id}`;
    if (!explained) unexplained++;
    const d: Disagreement = {
      case: c,
      expected: { kind: expected.kind, data: expected.data },
      libseccomp: got,
    };
    if (explained) d.explained = explained;
    disagreements.push(d);
  }
  return { cases, disagreements, unexplained };
}

const KNOWN_ARCH_GAPS = new Set(LIBSECCOMP_ARCH_GAPS);
