/**
 * Semantic validation of a Profile: names, architectures, errnos, flags and rule conflicts.
 * Structural problems (types, unknown fields, JSON syntax) come from the parser.
 */

import { ARCH_DEFS } from '../arch/defs.js';
import { isKnownSyscallName, KNOWN_SYSCALL_NAMES, syscallTable } from '../arch/tables.js';
import type { ArchDef } from '../arch/types.js';
import { archFromScmp, filterArchMatches, SCMP_ARCH_NAMES } from './arch-names.js';
import { CAPABILITIES } from './capabilities.js';
import { ERRNO_NAMES, errnoNumber } from './errno.js';
import { conditionHolds } from './evaluate.js';
import { type Issue, IssueList, sortIssues } from './issues.js';
import type { OffsetLookup } from './json-reader.js';
import { locate } from './json-reader.js';
import { FILTER_FLAGS, type Profile, type RuleFilter, ruleNames, type SyscallRule } from './model.js';
import { checkConflicts, checkMultiplexed } from './rule-conflicts.js';
import { closest } from './suggest.js';

export interface ValidateOptions {
  /** JSON path prefix of the profile in its document. */
  root?: string;
  /** Offsets of paths in the source text, from the parser, to give issues line:column. */
  offsets?: OffsetLookup;
  text?: string;
}

/** The ABIs a profile targets: architectures, or every ABI archMap mentions, or none (native only). */
export function targetArches(p: Profile): ArchDef[] {
  const names = new Set<string>();
  for (const a of p.architectures ?? []) names.add(a);
  for (const m of p.archMap ?? []) {
    names.add(m.architecture);
    for (const s of m.subArchitectures ?? []) names.add(s);
  }
  return ARCH_DEFS.filter((a) => names.has(a.scmp));
}

function checkErrno(
  list: IssueList,
  path: string,
  name: string | undefined,
  ret: number | undefined,
  field: string,
): void {
  if (name === undefined) return;
  const n = errnoNumber(name);
  if (n === undefined) {
    const guess = closest(name, ERRNO_NAMES);
    list.error(
      'unknown-errno',
      `${path}.${field}`,
      `unknown errno name "${name}"`,
      guess ? `did you mean "${guess}"?` : undefined,
    );
  } else if (ret !== undefined && ret !== n) {
    list.error(
      'errno-mismatch',
      `${path}.${field}`,
      `"${field}": "${name}" is ${n} but the numeric errno says ${ret}; runtimes use the number`,
      'make them agree or drop the symbolic one',
    );
  }
}

const ERRNO_ACTIONS = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

/** libseccomp (2.5.4, and so runc and crun) refuses ERRNO/TRACE data of MAX_ERRNO (4095) and above. */
export const LIBSECCOMP_MAX_ERRNO = 4094;

function checkRuntimeErrno(list: IssueList, path: string, action: string, errno: number | undefined): void {
  if (errno === undefined || !ERRNO_ACTIONS.has(action) || errno <= LIBSECCOMP_MAX_ERRNO) return;
  list.warn(
    'errno-refused-by-libseccomp',
    path,
    `errno ${errno} is above ${LIBSECCOMP_MAX_ERRNO}: libseccomp refuses it (EINVAL), so runc and crun fail to start the container`,
    'use an errno below 4095 (the kernel caps larger values at 4095 anyway)',
  );
}

function checkFilter(list: IssueList, path: string, f: RuleFilter): void {
  f.caps?.forEach((c, i) => {
    if (!CAPABILITIES.includes(c)) {
      const guess = closest(c, CAPABILITIES);
      list.error(
        'unknown-capability',
        `${path}.caps[${i}]`,
        `unknown capability "${c}"; dockerd compares names literally, so this condition can never match`,
        guess ? `did you mean "${guess}"?` : undefined,
      );
    }
  });
  f.arches?.forEach((a, i) => {
    if (!filterArchMatches(a))
      list.error(
        'unknown-arch',
        `${path}.arches[${i}]`,
        `unknown architecture "${a}"`,
        'use Go names such as amd64, arm64, s390x',
      );
  });
  if (f.minKernel !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(f.minKernel))
    list.error(
      'bad-kernel-version',
      `${path}.minKernel`,
      `minKernel "${f.minKernel}" is not a version like "5.8"`,
    );
}

function checkArchName(list: IssueList, path: string, name: string): void {
  if (archFromScmp(name)) return;
  const guess = closest(name, SCMP_ARCH_NAMES);
  list.error(
    'unknown-arch',
    path,
    `unknown architecture "${name}"`,
    guess ? `did you mean "${guess}"?` : undefined,
  );
}

/** Runs every semantic check; returns all issues, located and sorted. */
export function validateProfile(p: Profile, opts: ValidateOptions = {}): Issue[] {
  const root = opts.root ?? '$';
  const list = new IssueList();
  if (p.defaultAction === 'SCMP_ACT_NOTIFY')
    list.error(
      'notify-default',
      `${root}.defaultAction`,
      'SCMP_ACT_NOTIFY cannot be the default action (libseccomp refuses it)',
    );
  checkErrno(list, root, p.defaultErrno, p.defaultErrnoRet, 'defaultErrno');
  checkRuntimeErrno(list, `${root}.defaultErrnoRet`, p.defaultAction, p.defaultErrnoRet);
  if (p.defaultErrnoRet !== undefined && !ERRNO_ACTIONS.has(p.defaultAction))
    list.warn(
      'errno-ignored',
      `${root}.defaultErrnoRet`,
      `defaultErrnoRet is ignored with ${p.defaultAction}`,
    );
  if (p.architectures && p.archMap)
    list.error(
      'archmap-and-architectures',
      `${root}.archMap`,
      'both "architectures" and "archMap" are set; Docker refuses such a profile',
      'keep one of them',
    );
  const seenArch = new Set<string>();
  p.architectures?.forEach((a, i) => {
    checkArchName(list, `${root}.architectures[${i}]`, a);
    if (seenArch.has(a))
      list.warn('duplicate-arch', `${root}.architectures[${i}]`, `architecture "${a}" is listed twice`);
    seenArch.add(a);
  });
  p.archMap?.forEach((m, i) => {
    checkArchName(list, `${root}.archMap[${i}].architecture`, m.architecture);
    m.subArchitectures?.forEach((s, j) => {
      checkArchName(list, `${root}.archMap[${i}].subArchitectures[${j}]`, s);
    });
  });
  p.flags?.forEach((f, i) => {
    if (!(FILTER_FLAGS as readonly string[]).includes(f)) {
      const guess = closest(f, FILTER_FLAGS);
      list.error(
        'unknown-flag',
        `${root}.flags[${i}]`,
        `unknown seccomp flag "${f}"`,
        guess ? `did you mean "${guess}"?` : undefined,
      );
    }
  });
  if (p.listenerMetadata !== undefined && p.listenerPath === undefined)
    list.error(
      'listener-metadata-without-path',
      `${root}.listenerMetadata`,
      'listenerMetadata is set but listenerPath is not; the metadata is only sent to a listener',
    );
  const usesNotify = (p.syscalls ?? []).some((r) => r.action === 'SCMP_ACT_NOTIFY');
  if (usesNotify && p.listenerPath === undefined)
    list.error(
      'notify-without-listener',
      `${root}.syscalls`,
      'SCMP_ACT_NOTIFY is used but listenerPath is not set; runc refuses to start',
    );

  const listed = (p.architectures ?? []).map((a) => archFromScmp(a)).filter((a) => a !== undefined);
  if (new Set(listed.map((a) => a.endian)).size > 1)
    list.warn(
      'mixed-endianness',
      `${root}.architectures`,
      `the list mixes little- and big-endian ABIs (${listed.map((a) => `${a.id}: ${a.endian}`).join(', ')}); libseccomp refuses such a filter (EDOM), so runc and crun fail to start`,
      'list only ABIs with the host byte order, or use archMap',
    );
  const targets = targetArches(p);
  const tables = (targets.length > 0 ? targets : ARCH_DEFS).map((a) => syscallTable(a));
  (p.syscalls ?? []).forEach((rule, i) => {
    // A rule limited to some architectures is checked against those.
    const only = (rule.includes?.arches ?? [])
      .map((a) => filterArchMatches(a))
      .filter((a) => a !== undefined);
    checkRule(
      list,
      `${root}.syscalls[${i}]`,
      rule,
      only.length > 0 ? only.map((a) => syscallTable(a)) : tables,
    );
  });
  checkConflicts(list, root, p);
  checkMultiplexed(list, root, p, targets);

  const issues = list.items.map((i) => locate(i, opts.offsets ?? new Map(), opts.text));
  return sortIssues(issues);
}

function checkRule(
  list: IssueList,
  path: string,
  rule: SyscallRule,
  tables: ReturnType<typeof syscallTable>[],
): void {
  const field = rule.names !== undefined && rule.names !== null ? 'names' : 'name';
  const seen = new Set<string>();
  const names = ruleNames(rule);
  names.forEach((n, j) => {
    const p = field === 'names' ? `${path}.names[${j}]` : `${path}.name`;
    if (seen.has(n)) list.warn('duplicate-name', p, `"${n}" is listed twice in this rule`);
    seen.add(n);
    if (!isKnownSyscallName(n)) {
      const guess = closest(n, KNOWN_SYSCALL_NAMES);
      list.error(
        'unknown-syscall',
        p,
        `unknown syscall "${n}": no architecture has it, and runc/crun drop names they cannot resolve without a word`,
        guess ? `did you mean "${guess}"?` : 'check the spelling against `sysfence explain`',
      );
    } else if (
      !tables.some(
        (t) => t.number(n) !== undefined || t.arch.multiplexers.some((m) => m.calls[n] !== undefined),
      )
    ) {
      list.warn(
        'syscall-not-on-arch',
        p,
        `"${n}" does not exist on ${tables.map((t) => t.arch.id).join(', ')}; runtimes ignore it there`,
      );
    }
  });
  checkErrno(list, path, rule.errno, rule.errnoRet, 'errno');
  checkRuntimeErrno(list, `${path}.errnoRet`, rule.action, rule.errnoRet);
  if ((rule.errnoRet !== undefined || rule.errno !== undefined) && !ERRNO_ACTIONS.has(rule.action))
    list.warn(
      'errno-ignored',
      `${path}.${rule.errnoRet !== undefined ? 'errnoRet' : 'errno'}`,
      `an errno is ignored with ${rule.action}`,
    );
  rule.args?.forEach((a, k) => {
    if (a.op === 'SCMP_CMP_MASKED_EQ' && ((a.valueTwo ?? 0n) & ~a.value) !== 0n)
      list.warn(
        'masked-eq-outside-mask',
        `${path}.args[${k}].valueTwo`,
        `valueTwo 0x${(a.valueTwo ?? 0n).toString(16)} has bits outside the mask 0x${a.value.toString(16)}: libseccomp compares (arg & mask) == (valueTwo & mask), so those bits are ignored and the rule matches more than it says`,
        'clear the bits of valueTwo that are not in the mask',
      );
    if (a.op !== 'SCMP_CMP_MASKED_EQ' && a.valueTwo !== undefined && a.valueTwo !== 0n)
      list.warn(
        'valuetwo-ignored',
        `${path}.args[${k}].valueTwo`,
        `valueTwo is only used by SCMP_CMP_MASKED_EQ; ${a.op} ignores it`,
      );
  });
  checkRepeatedIndexes(list, path, rule);
  if (rule.includes) checkFilter(list, `${path}.includes`, rule.includes);
  if (rule.excludes) checkFilter(list, `${path}.excludes`, rule.excludes);
}

const U64 = (1n << 64n) - 1n;

/**
 * runc and crun split a rule whose conditions repeat an argument index into one rule per
 * condition, and those rules are ORed: `NE 1` and `NE 2` on one argument allow every value. Said
 * always; an error when the ORed conditions match every value of an allowing rule (it fails open).
 */
function checkRepeatedIndexes(list: IssueList, path: string, rule: SyscallRule): void {
  const byIndex = new Map<number, number[]>();
  for (const [k, a] of (rule.args ?? []).entries())
    byIndex.set(a.index, [...(byIndex.get(a.index) ?? []), k]);
  for (const [index, ks] of byIndex) {
    if (ks.length < 2) continue;
    const conds = ks.map((k) => rule.args![k]!);
    const probes = new Set<bigint>([0n, 1n, U64, 0xffffffffn]);
    for (const c of conds)
      for (const x of [c.value, c.valueTwo ?? 0n, c.value & (c.valueTwo ?? 0n)])
        for (const d of [-1n, 0n, 1n]) probes.add(BigInt.asUintN(64, x + d));
    const holds = (c: (typeof conds)[number], v: bigint) =>
      conditionHolds({ ...c, valueTwo: c.valueTwo ?? 0n }, v, 64);
    const everything = [...probes].every((v) => conds.some((c) => holds(c, v)));
    const where = `${path}.args[${ks[1]}]`;
    if (everything && (rule.action === 'SCMP_ACT_ALLOW' || rule.action === 'SCMP_ACT_LOG'))
      list.error(
        'matches-every-value',
        where,
        `${ks.length} conditions on argument ${index} in one rule: runc and crun split them into rules that are ORed, and together they match every value, so the rule allows the call whatever its argument`,
        'conditions on one argument cannot be ANDed in a profile: use one condition (a range, MASKED_EQ), or one rule per allowed value',
      );
    else
      list.warn(
        'repeated-index',
        where,
        `${ks.length} conditions on argument ${index} in one rule: runc and crun split them into rules that are ORed, not ANDed`,
      );
  }
}
