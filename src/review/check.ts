/**
 * check: would a profile deny anything a trace shows? Every recorded call is judged as the runtime
 * that enforces the profile would judge it (the target: Docker/runc, Podman/crun with libseccomp's
 * real behaviour, or sysfence's own filter): allowed, denied (with the verdict, count, processes
 * and first stack), or depends (argument rules the recording has no values for, or recorded values
 * that get different verdicts). Where the runtime's answer differs from the profile's intent, both
 * are said, with the cause. Calls without a name on their ABI are listed, not dropped. A profile the
 * runtime refuses denies everything: the workload does not start.
 */
import { syscallTable } from '../arch/tables.js';
import type { ArchId } from '../arch/types.js';
import { timingFamily } from '../knowledge/call-families.js';
import { formatAction } from '../profile/actions.js';
import type { Profile } from '../profile/model.js';
import { DEFAULT_KERNEL, resolve } from '../profile/resolve.js';
import { callNumber } from '../recording/numbers.js';
import { formatPids, type Recording } from '../recording/recording.js';
import { attribute, describeAttribution } from '../targets/attribution.js';
import { divergences } from '../targets/divergences.js';
import { describeTarget, runtimeTarget } from '../targets/target.js';
import { type DivergenceLabel, runtimeEvaluate, runtimeFilter } from '../targets/verdict.js';
import { allows, type ReviewOptions, verdictFor, verdictTable } from './verdicts.js';

export interface CheckItem {
  abi: ArchId;
  name: string;
  count: number;
  /**
   * denied: by the profile's default (or by the runtime where the profile allows): a finding;
   * expected: by an explicit rule of the profile (it means the denial: the probed calls' ENOSYS);
   * depends: on argument values the recording lacks or that get different verdicts.
   */
  status: 'allowed' | 'denied' | 'expected' | 'depends' | 'unnamed';
  /** The call's choice depends on timing (a call family): a run may or may not show it. */
  timing?: string;
  verdict: string;
  pids: number[];
  executables: string[];
  first?: string;
  stack?: string[];
  /** Set when the runtime's answer differs from the profile's intent. */
  runtime?: { intent: string; label: DivergenceLabel; reason: string };
}

export interface CheckResult {
  /** The runtime refuses the profile (the container does not start): the reason. */
  refused?: string;
  /** The runtime's verdicts could not be computed: they are the profile's, unchecked (why). */
  uncertain?: string;
  /** Who enforces the profile, in words. */
  target: string;
  items: CheckItem[];
  denied: CheckItem[];
  expected: CheckItem[];
  depends: CheckItem[];
  unnamed: CheckItem[];
}

export function checkRecording(profile: Profile, rec: Recording, o: ReviewOptions = {}): CheckResult {
  const items: CheckItem[] = [];
  const target = o.target ?? runtimeTarget('sysfence', { native: 'x86_64' });
  const resolved = resolve(profile, {
    arch: target.native,
    ...(o.capabilities ? { capabilities: o.capabilities } : {}),
    kernelVersion: o.kernelVersion ?? DEFAULT_KERNEL,
  });
  const rf = runtimeFilter(resolved, target);
  const judge = (abi: ArchId, nr: number, args: readonly bigint[]) =>
    runtimeEvaluate(rf, { arch: syscallTable(abi).arch.auditArch, nr, args });
  /** Whether the runtime's answer for this syscall may depend on arguments the intent ignores. */
  const argDependent = (abi: ArchId, nr: number) =>
    target.runtime !== 'sysfence' &&
    divergences(resolved, target).syscalls.some(
      (d) => d.abi.id === abi && d.nr === nr && (d.label === 'libseccomp-bug' || d.label === 'precedence'),
    );
  for (const [abi, calls] of Object.entries(rec.syscalls).sort(([a], [b]) => (a < b ? -1 : 1)) as [
    ArchId,
    Recording['syscalls'][ArchId],
  ][]) {
    const t = syscallTable(abi);
    const table = verdictTable(profile, t.arch, o);
    const byNr = new Map(table.calls.map((c) => [c.nr, c]));
    for (const [name, s] of Object.entries(calls ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
      const base = {
        abi,
        name,
        count: s.count,
        pids: s.pids,
        executables: s.executables,
        ...(s.first !== undefined ? { first: s.first } : {}),
        ...(s.stack !== undefined ? { stack: s.stack } : {}),
      };
      const nr = callNumber(abi, name);
      const c = nr === undefined ? undefined : byNr.get(nr);
      if (!c) {
        // a number no table names: the profile still decides it (its default, or the runtime's stub)
        if (nr === undefined || rf.refused) {
          items.push({ ...base, status: 'unnamed', verdict: `no syscall of ${abi} is called ${name}` });
          continue;
        }
        const a = attribute(rf, t.arch, nr, []);
        items.push({
          ...base,
          status: allows(a.action) ? 'unnamed' : 'denied',
          verdict: `${describeAttribution(a)} (number ${nr}${t.arch.nrBit?.set ? ` = 0x${nr.toString(16)}` : ''}, which no table names)`,
        });
        continue;
      }
      const v = c.verdict;
      if (v.kind === 'fixed') {
        const a = rf.refused ? undefined : attribute(rf, t.arch, c.nr, [], c.name);
        const action = a && !argDependent(abi, c.nr) ? a.action : v.action;
        const status = allows(action) ? 'allowed' : a?.expected ? 'expected' : 'denied';
        const diverges = a?.divergence && !argDependent(abi, c.nr);
        const timing = status === 'denied' ? timingFamily(name) : undefined;
        items.push({
          ...base,
          status,
          verdict: diverges
            ? `${formatAction(a.action)} under ${describeTarget(target)}`
            : a
              ? describeAttribution(a)
              : `${formatAction(v.action)} by ${v.by === 'rule' ? 'a rule' : v.by === 'default' ? 'default' : 'the bad-arch action (ABI not in the filter)'}`,
          ...(diverges
            ? {
                runtime: {
                  intent: formatAction(v.action),
                  label: a.divergence!.label,
                  reason: a.divergence!.reason,
                },
              }
            : {}),
          ...(timing
            ? {
                timing: `${name} depends on timing (family ${timing.id}): a run may or may not make it, so allow it with its family`,
              }
            : {}),
        });
        continue;
      }
      // argument rules: judge the recorded values (each index's values, crossed), if there are any
      const indexes = [...new Set(v.rules.flatMap((r) => r.conditions.map((k) => k.index)))].sort();
      const values = indexes.map((i) =>
        Object.keys(s.args?.[String(i)] ?? {})
          .filter((x) => x !== '?')
          .map((x) => BigInt(x)),
      );
      if (values.some((vs) => vs.length === 0)) {
        items.push({
          ...base,
          status: 'depends',
          verdict: `depends on argument${indexes.length === 1 ? '' : 's'} ${indexes.join(', ')}, which the recording does not have (record --args)`,
        });
        continue;
      }
      let combos: bigint[][] = [[0n, 0n, 0n, 0n, 0n, 0n]];
      indexes.forEach((idx, k) => {
        combos = combos.flatMap((cmb) =>
          values[k]!.map((x) => {
            const n = [...cmb];
            n[idx] = x;
            return n;
          }),
        );
      });
      const judged = combos.slice(0, 4096).map((a) => {
        const rv = rf.refused ? undefined : judge(abi, c.nr, a);
        return { intent: verdictFor(v, a, t.arch.argBits), rv };
      });
      const verdicts = judged.map((j) => j.rv?.action ?? j.intent);
      const denied = verdicts.filter((a) => !allows(a));
      const status =
        denied.length === 0 ? 'allowed' : denied.length === verdicts.length ? 'denied' : 'depends';
      const differs = judged.find((j) => j.rv?.divergence);
      items.push({
        ...base,
        status,
        verdict:
          status === 'allowed'
            ? 'ALLOW for every recorded argument value'
            : `${formatAction(denied[0]!)} for ${status === 'denied' ? 'every' : 'some'} recorded argument value`,
        ...(differs?.rv?.divergence
          ? {
              runtime: {
                intent: formatAction(differs.intent),
                label: differs.rv.divergence.label,
                reason: differs.rv.divergence.reason,
              },
            }
          : {}),
      });
    }
  }
  if (rf.refused) for (const i of items) i.status = 'denied';
  return {
    ...(rf.unmodelled
      ? { uncertain: `verdicts under ${describeTarget(target)} are not checked: ${rf.unmodelled}` }
      : {}),
    ...(rf.refused
      ? { refused: `${describeTarget(target)} refuses the profile: ${rf.refused.message}` }
      : {}),
    target: describeTarget(target),
    items,
    denied: items.filter((i) => i.status === 'denied'),
    expected: items.filter((i) => i.status === 'expected'),
    depends: items.filter((i) => i.status === 'depends'),
    unnamed: items.filter((i) => i.status === 'unnamed'),
  };
}

const xml = (s: string) =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function who(i: CheckItem): string {
  return [
    `${i.count} call${i.count === 1 ? '' : 's'}`,
    i.executables.length ? `by ${i.executables.join(', ')}` : i.pids.length ? formatPids(i.pids) : '',
    i.first ? `first at ${i.first}` : '',
  ]
    .filter((x) => x !== '')
    .join(', ');
}

export function formatCheckText(r: CheckResult, profileFile: string): string {
  const out: string[] = [];
  if (r.refused) out.push(`REFUSED ${r.refused}: the workload does not start, so every call below is denied`);
  if (r.uncertain) out.push(`WARNING ${r.uncertain}; the verdicts below are the profile's own`);
  for (const i of [...r.denied, ...r.expected, ...r.depends, ...r.unnamed]) {
    const tag = {
      denied: 'DENIED',
      expected: 'expected',
      depends: 'depends',
      unnamed: 'unnamed',
      allowed: '',
    }[i.status];
    out.push(`${tag} ${i.abi} ${i.name}: ${i.verdict}; ${who(i)}`);
    if (i.timing) out.push(`    ${i.timing}`);
    if (i.runtime)
      out.push(`    the profile intends ${i.runtime.intent} [${i.runtime.label}]: ${i.runtime.reason}`);
    if (i.stack?.length) out.push(...i.stack.slice(0, 8).map((f) => `    at ${f}`));
  }
  const differ = r.items.filter((i) => i.runtime && i.status === 'allowed');
  for (const i of differ)
    out.push(
      `note ${i.abi} ${i.name}: allowed under ${r.target}, but [${i.runtime!.label}] ${i.runtime!.reason}`,
    );
  const allowed = r.items.filter((i) => i.status === 'allowed').length;
  out.push(
    `${profileFile} (${r.target}): ${r.items.length} recorded syscall${r.items.length === 1 ? '' : 's'}: ${allowed} allowed, ${r.denied.length} denied${r.expected.length > 0 ? `, ${r.expected.length} denied by the profile's own rules (expected)` : ''}, ${r.depends.length} depend on arguments, ${r.unnamed.length} unnamed`,
  );
  return `${out.join('\n')}\n`;
}

export function formatCheckJunit(r: CheckResult, profileFile: string): string {
  const cases = r.items.map((i) => {
    const head = `    <testcase classname="${xml(`sysfence.check.${i.abi}`)}" name="${xml(i.name)}">`;
    if (i.status === 'allowed') return `${head}</testcase>`;
    const body = xml([i.verdict, who(i), ...(i.stack ?? []).map((f) => `at ${f}`)].join('\n'));
    if (i.status === 'denied')
      return `${head}\n      <failure message="${xml(`${i.name} is denied: ${i.verdict}`)}" type="syscall-denied">${body}</failure>\n    </testcase>`;
    return `${head}\n      <system-out>${xml(`${i.status}: `)}${body}</system-out>\n    </testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="sysfence check" tests="${r.items.length}" failures="${r.denied.length}">
  <testsuite name="${xml(`sysfence check ${profileFile}`)}" tests="${r.items.length}" failures="${r.denied.length}" errors="0" skipped="0">
${cases.join('\n')}
  </testsuite>
</testsuites>
`;
}

export function formatCheckSarif(r: CheckResult, profileFile: string, version: string): string {
  const level = {
    denied: 'error',
    expected: 'note',
    depends: 'warning',
    unnamed: 'warning',
    allowed: 'none',
  } as const;
  const results = [...r.denied, ...r.expected, ...r.depends, ...r.unnamed].map((i) => {
    const where = i.first ? /^(.*):(\d+)$/.exec(i.first) : null;
    return {
      ruleId: `syscall-${i.status}`,
      level: level[i.status],
      message: { text: `${i.abi} ${i.name}: ${i.verdict}; ${who(i)}` },
      locations: [
        where
          ? {
              physicalLocation: {
                artifactLocation: { uri: where[1] },
                region: { startLine: Number(where[2]) },
              },
            }
          : { physicalLocation: { artifactLocation: { uri: profileFile } } },
      ],
      properties: { abi: i.abi, syscall: i.name, count: i.count, executables: i.executables, pids: i.pids },
    };
  });
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'sysfence',
            version,
            rules: [
              {
                id: 'syscall-denied',
                shortDescription: { text: 'The profile denies a call the workload makes' },
              },
              {
                id: 'syscall-depends',
                shortDescription: {
                  text: 'The verdict depends on argument values the trace does not settle',
                },
              },
              { id: 'syscall-unnamed', shortDescription: { text: 'A recorded call has no name on its ABI' } },
            ],
          },
        },
        results,
      },
    ],
  };
  return `${JSON.stringify(sarif, null, 2)}\n`;
}
