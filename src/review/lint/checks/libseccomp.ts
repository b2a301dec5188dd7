/**
 * What the runtime's libseccomp does with the profile (src/libseccomp/ models it exactly): refuses
 * it, compiles some rules into code that answers otherwise than the profile says, or drops names it
 * does not know. Each finding names the syscall and a call that shows it (the witness).
 */
import { findArch } from '../../../arch/tables.js';
import { LIBSECCOMP_RELEASE, nameTable } from '../../../libseccomp/names.js';
import { formatAction } from '../../../profile/actions.js';
import { ruleNames } from '../../../profile/model.js';
import { resolve, ruleOrigins } from '../../../profile/resolve.js';
import {
  type DivergenceReport,
  divergences,
  formatCall,
  type SyscallDivergence,
} from '../../../targets/divergences.js';
import { proposeRewrite } from '../../../targets/rewrite.js';
import { describeTarget, RUNTIMES } from '../../../targets/target.js';
import { allows } from '../../verdicts.js';
import type { Finding, LintCheck, LintContext } from '../types.js';

const MISCOMPILED = new Set(['libseccomp-bug', 'precedence', 'no-number-load']);

/** The runtime's analysis of the profile, resolved as the runtime receives it (cached per context). */
const reports = new WeakMap<LintContext, { report: DivergenceReport; origin: (i: number) => number }>();

export function runtimeReport(ctx: LintContext): { report: DivergenceReport; origin: (i: number) => number } {
  const hit = reports.get(ctx);
  if (hit) return hit;
  const resolved = resolve(ctx.profile, {
    arch: ctx.target.native,
    capabilities: ctx.capabilities,
    kernelVersion: ctx.kernelVersion,
  });
  const from = ruleOrigins(resolved) ?? [];
  const out = { report: divergences(resolved, ctx.target), origin: (i: number) => from[i] ?? i };
  reports.set(ctx, out);
  return out;
}

const rulesPath = (rules: number[]) =>
  rules.length > 0 ? `$.syscalls[${Math.min(...rules)}]` : '$.syscalls';

export const libseccomp: LintCheck = {
  codes: [
    {
      code: 'libseccomp-refuses',
      summary: "the runtime's libseccomp refuses the profile: the container does not start",
    },
    {
      code: 'libseccomp-miscompiles',
      summary:
        "the runtime's libseccomp compiles rules into a filter that answers otherwise (with a witness call and a rewrite)",
    },
    {
      code: 'dropped-by-libseccomp',
      summary: "a name the runtime's libseccomp does not know: its rule is dropped",
    },
    {
      code: 'default-errno-dropped',
      summary: 'Docker 20.10 drops defaultErrnoRet: unlisted calls get EPERM',
    },
  ],
  run(ctx) {
    if (RUNTIMES[ctx.target.runtime].engine === 'sysfence') return [];
    const out: Finding[] = [];
    const who = describeTarget(ctx.target);
    const { report, origin } = runtimeReport(ctx);
    if (report.unmodelled) {
      out.push({
        code: 'libseccomp-not-checked',
        severity: 'warning',
        path: '$.syscalls',
        message: `what ${who} makes of this profile is not checked: ${report.unmodelled}`,
        fix: 'split the rules over fewer values (a MASKED_EQ can test many values at once), or enforce with sysfence run',
      });
      return out;
    }
    if (report.refused) {
      const r = report.refused;
      const rewrite =
        ctx.rewrites && (r.reason === 'rule-conflict' || r.reason === 'hang') && r.name
          ? proposeRewrite(ctx, r.name)
          : undefined;
      out.push({
        code: 'libseccomp-refuses',
        severity: 'error',
        path: r.rule !== undefined ? `$.syscalls[${origin(r.rule)}]` : r.arch ? '$.architectures' : '$',
        message: `${who}: ${r.message}`,
        ...(rewrite ? { rewrite: rewrite.rules } : {}),
        fix: rewrite
          ? `replace the rules for ${r.name} with (the same meaning; libseccomp accepts and compiles it right on ${rewrite.abis.join(', ')}): ${rewrite.text}`
          : r.reason === 'rule-conflict'
            ? 'libseccomp cannot hold two rules that test the same thing with different actions: merge them into one action, or make their conditions differ'
            : r.reason === 'hang'
              ? 'reorder or merge the argument rules of this syscall (sysfence lint checks each variant)'
              : r.reason === 'byte-order' || r.reason === 'unknown-arch'
                ? 'remove the architectures the runtime cannot add'
                : 'change the action as the message says',
      });
      return out;
    }
    // what the exact decision could not settle is said, never passed as compiled right
    for (const u of report.unproven)
      out.push({
        code: 'libseccomp-not-checked',
        severity: 'warning',
        path: '$.syscalls',
        message: `whether ${who} enforces the argument rules of ${u.name} on ${u.abi.id} as written is not proven: ${u.why}`,
        fix: 'simplify the argument rules of this syscall, or enforce with sysfence run',
      });
    // miscompiled syscalls: one finding per (syscall, cause), every ABI it happens on
    const groups = new Map<string, SyscallDivergence[]>();
    for (const d of report.syscalls) {
      if (!MISCOMPILED.has(d.label)) continue;
      const key = `${d.name}\u0000${d.label}`;
      groups.set(key, [...(groups.get(key) ?? []), d]);
    }
    for (const list of groups.values()) {
      const d = list[0]!;
      const abis = [...new Set(list.map((x) => x.abi.id))];
      const rules = [...new Set(list.flatMap((x) => x.rules))].map(origin).sort((a, b) => a - b);
      const call = `${formatCall(d.name, d.witness.args)} on ${d.abi.id}`;
      const rewrite = d.label === 'no-number-load' || !ctx.rewrites ? undefined : proposeRewrite(ctx, d.name);
      out.push({
        code: 'libseccomp-miscompiles',
        severity: 'error',
        path: rulesPath(rules),
        message: `under ${who}, ${call} gets ${formatAction(d.runtime)} where the profile intends ${formatAction(d.intent)}${abis.length > 1 ? ` (also on ${abis.slice(1).join(', ')})` : ''}: ${d.reason.replace(/^intends [^;]*; [^:]*: /, '')}`,
        witness: call,
        fix: rewrite
          ? `replace the rules for ${d.name} with (checked against libseccomp's behaviour on ${rewrite.abis.join(', ')}): ${rewrite.text}`
          : d.label === 'no-number-load'
            ? `give an unconditional rule to any syscall ${d.abi.id} has (exit_group, say: libseccomp then puts it first), or leave the names ${d.abi.id} lacks out of the profile`
            : `no equivalent rewrite was found that libseccomp compiles right: split the conditions differently, or enforce with sysfence's own filter (sysfence run)`,
        ...(rewrite ? { rewrite: rewrite.rules } : {}),
      });
    }
    // names libseccomp does not know (on the host: runc skips the rule; on one ABI: it misses that ABI)
    (ctx.profile.syscalls ?? []).forEach((r, i) => {
      ruleNames(r).forEach((name, j) => {
        const path = r.names ? `$.syscalls[${i}].names[${j}]` : `$.syscalls[${i}].name`;
        const release = LIBSECCOMP_RELEASE[ctx.target.libseccomp];
        if (runtimeKnows(ctx, name)) {
          const gaps = report.syscalls.filter((x) => x.name === name && x.label === 'unknown-name');
          if (gaps.length === 0 || gaps[0]!.rules.map(origin)[0] !== i) return;
          const d = gaps[0]!;
          out.push({
            code: 'dropped-by-libseccomp',
            severity: allows(d.intent) ? 'warning' : 'info',
            path,
            message: `libseccomp ${release} (${who}) has no number for ${name} on ${[...new Set(gaps.map((g) => g.abi.id))].join(', ')}: there ${name} gets ${formatAction(d.runtime)}, not ${formatAction(d.intent)}`,
            fix: `expect ${formatAction(d.runtime)} for ${name} on ${d.abi.id} under this runtime, or use a runtime built on a newer libseccomp`,
          });
          return;
        }
        const d = report.syscalls.find(
          (x) => x.name === name && (x.label === 'unknown-name' || x.label === 'stub'),
        );
        const head = `libseccomp ${release} (${who}) does not know ${name}: the runtime drops this entry`;
        out.push(
          d
            ? {
                code: 'dropped-by-libseccomp',
                severity: allows(d.intent) ? 'warning' : 'info',
                path,
                message: `${head}, so ${name} gets ${formatAction(d.runtime)}${d.label === 'stub' ? " (runc's ENOSYS stub: the number is above the highest one libseccomp knows in the profile)" : ' (the default action)'}, not ${formatAction(d.intent)}`,
                fix: `expect ${formatAction(d.runtime)} for ${name} under this runtime, or use a runtime built on a newer libseccomp`,
              }
            : {
                code: 'dropped-by-libseccomp',
                severity: 'info',
                path,
                message: `${head}; on the ABIs of this filter that changes nothing (${name} gets the same either way)`,
                fix: 'none needed; a runtime built on a newer libseccomp keeps the entry',
              },
        );
      });
    });
    if (RUNTIMES[ctx.target.runtime].dropsDefaultErrnoRet && ctx.profile.defaultErrnoRet !== undefined)
      out.push({
        code: 'default-errno-dropped',
        severity: 'info',
        path: '$.defaultErrnoRet',
        message: `${who} does not pass defaultErrnoRet (${ctx.profile.defaultErrnoRet}) on to the runtime: calls the profile does not list get EPERM, except numbers above the highest one it names, which runc's stub answers with ENOSYS`,
        fix: 'give calls that libraries probe (clone3, faccessat2, ...) an explicit ERRNO(38) rule (sysfence generate does)',
      });
    return out;
  },
};

/** Whether the runtime's libseccomp resolves the name on the host ABI (runc and crun skip it else). */
function runtimeKnows(ctx: LintContext, name: string): boolean {
  const table = nameTable(ctx.target.libseccomp, findArch(ctx.target.native)!);
  return table !== undefined && table.resolve(name).kind !== 'unknown';
}

export const overlapping: LintCheck = {
  codes: [
    {
      code: 'overlapping-actions',
      summary: 'rules with different actions match the same call: which one the kernel runs',
    },
  ],
  run(ctx) {
    if (RUNTIMES[ctx.target.runtime].engine === 'sysfence') return [];
    const { report, origin } = runtimeReport(ctx);
    if (report.refused) return [];
    const seen = new Set<string>();
    const out: Finding[] = [];
    for (const o of report.overlaps) {
      const key = `${o.name}:${o.rules.map((r) => r.rule).join(',')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const rules = o.rules.map((r) => origin(r.rule));
      const first = o.rules[0]!;
      const intended = formatAction(first.action) === formatAction(o.runtime);
      out.push({
        code: 'overlapping-actions',
        severity: 'warning',
        path: `$.syscalls[${rules[0]}]`,
        message: `rules ${rules.join(' and ')} both match ${formatCall(o.name, o.witness.args)} on ${o.abi.id} with different actions (${o.rules.map((r) => formatAction(r.action)).join(', ')}): the profile's order gives rule ${rules[0]}'s ${formatAction(first.action)}; ${describeTarget(ctx.target)} gives ${formatAction(o.runtime)}${intended ? ' (the same)' : ' (another rule wins)'}`,
        witness: `${formatCall(o.name, o.witness.args)} on ${o.abi.id}`,
        fix: 'make the rules disjoint (add the negated condition of the earlier rule to the later one), so that order does not matter',
      });
    }
    return out;
  },
};
