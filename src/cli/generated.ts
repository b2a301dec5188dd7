import type { GenerateResult } from '../profile/generate.js';
import { DEFAULT_KERNEL } from '../profile/resolve.js';
import type { SpoVersion } from '../profile/spo.js';
import { writeProfile } from './formats.js';
import { err } from './output.js';
import { requireWithinDefault } from './within-default.js';

/**
 * Writes a generated profile in the asked format (the table in formats.ts): the profile's first
 * ABI is the host an archMap is resolved for.
 */
export function writeGenerated(
  g: GenerateResult,
  format: string,
  name: string,
  output: string | undefined,
  spoVersion?: SpoVersion,
): void {
  const first = g.profile.archMap?.[0]?.architecture ?? g.profile.architectures?.[0] ?? 'x86_64';
  requireWithinDefault(g.profile, g.baseline.beyond, 'the generated profile', g.baseline.references);
  writeProfile(g.profile, format, {
    name,
    output,
    resolveOptions: { arch: first, kernelVersion: DEFAULT_KERNEL },
    ...(spoVersion ? { spoVersion } : {}),
    audit: { what: 'generated', exempt: g.baseline.beyond },
  });
}

/** One line of generate's account on stderr, said as sysfence's. */
const say = (line: string) => err(`sysfence: ${line}`);

/** Says on stderr what generate added and what it could not write. */
export function reportGenerated(g: GenerateResult, brief = false): void {
  const byReason = new Map<string, string[]>();
  for (const i of g.implied) byReason.set(i.because, [...(byReason.get(i.because) ?? []), i.name]);
  for (const [because, names] of byReason) say(`added ${names.join(', ')}: ${because}`);
  const byFamily = new Map<string, typeof g.families>();
  for (const f of g.families) byFamily.set(f.family, [...(byFamily.get(f.family) ?? []), f]);
  for (const [family, adds] of byFamily)
    say(
      `added ${adds.map((a) => a.name).join(', ')} (family ${family}, ${adds[0]!.trigger === 'always' ? 'always' : `recorded ${[...new Set(adds.map((a) => a.trigger))].join(', ')}`}): ${adds[0]!.why}`,
    );
  if (g.families.length > 0)
    say(
      `${g.families.length} call${g.families.length === 1 ? '' : 's'} added from call families (--exact: only what was recorded)`,
    );
  reportCoverage(g);
  for (const x of g.crossArch) {
    for (const m of x.mapped)
      say(`${x.target}: ${m.from} -> ${m.to.length > 0 ? m.to.join(', ') : '(nothing)'}: ${m.why}`);
    if (x.variants.length > 0)
      say(
        `${x.target}: added the 32-bit variants glibc calls first: ${x.variants.map((v) => v.to).join(', ')}`,
      );
    for (const d of x.dropped)
      say(
        d.why
          ? `${x.target}: ${d.name} left out: ${d.why}`
          : `warning[unmapped-syscall] ${x.target}: ${d.name} has no counterpart sysfence knows there: the profile does not allow it; record on ${x.target} (qemu-${x.target} -strace) if the program needs it`,
      );
  }
  reportBaseline(g.baseline, new Set(g.prediction.calls.map((c) => c.name)));
  reportPrediction(g);
  for (const a of g.argRules)
    say(
      `argument rule: ${a.name} checks argument ${a.indexes.join(' and ')} (${a.rules} allowed value${a.rules === 1 ? '' : 's'})`,
    );
  for (const s of g.argSkipped) say(`no argument rule for ${s.name} argument ${s.index}: ${s.why}`);
  if (g.enosys.length > 0)
    say(
      brief
        ? `ERRNO(ENOSYS) by an explicit rule for the ${g.enosys.length} calls libraries probe (generate names them; --no-probed to leave them to the default)`
        : `ERRNO(ENOSYS) by an explicit rule: ${g.enosys.join(', ')}: libraries fall back from these only on ENOSYS (--no-probed to leave them to the default)`,
    );
  for (const u of g.unnamed)
    say(
      `warning[unnamed-syscall] ${u.abi} ${u.name} (${u.count} calls) has no name on that ABI; a profile cannot list it`,
    );
}

/** What static reach added, what it left denied (the risk list), which siblings it left out. */
export function reportPrediction(g: GenerateResult): void {
  const p = g.prediction;
  const by = (a: string) => p.calls.filter((c) => c.action === a).map((c) => c.name);
  const logged = by('log');
  const allowed = by('allow');
  const denied = by('deny');
  if (logged.length > 0)
    say(`predicted by static reach, allowed and logged by the kernel (SCMP_ACT_LOG): ${logged.join(', ')}`);
  if (allowed.length > 0) say(`predicted by static reach, allowed: ${allowed.join(', ')}`);
  if (denied.length > 0)
    say(`predicted by static reach, left denied (--predicted deny): ${denied.join(', ')}`);
  if (p.risky.length > 0)
    say(
      `predicted but left denied (risk list: never allowed on prediction alone): ${p.risky.map((r) => r.name).join(', ')}; record the program making it, or --allow-beyond-default`,
    );
  if (p.unreachableSiblings.length > 0)
    say(
      `call-family siblings left out (no analysed program can make them): ${p.unreachableSiblings.map((f) => f.name).join(', ')}`,
    );
}

/** Where Docker's default was stricter than the recording, and what the user allowed past it. */
export function reportBaseline(
  b: GenerateResult['baseline'],
  predicted: ReadonlySet<string> = new Set(),
): void {
  const denied = b.changes.filter((c) => c.kind === 'denied' && !predicted.has(c.name));
  const predictedDenied = b.changes.filter((c) => c.kind === 'denied' && predicted.has(c.name));
  if (predictedDenied.length > 0)
    say(
      `predicted, but left denied as Docker's default denies them: ${predictedDenied.map((c) => c.name).join(', ')}`,
    );
  if (denied.length > 0)
    say(
      `left denied (recorded, but Docker's default${b.hosts.length > 0 ? ` on ${b.hosts.join(', ')}` : ''} denies them): ${denied.map((c) => c.name).join(', ')}; --allow-beyond-default ${denied[0]!.name} allows one on purpose`,
    );
  for (const c of b.changes.filter((x) => x.kind === 'narrowed'))
    say(
      `${c.name}: allowed only as Docker's default allows it: ${c.why.replace(/^Docker's default allows it only for /, '')}`,
    );
  for (const c of b.changes)
    for (const d of c.dropped ?? [])
      say(`warning[beyond-default] ${c.name}: the recorded ${d} is denied: ${c.why}`);
  if (b.beyond.length > 0)
    say(
      `WARNING: allowed beyond Docker's default because --allow-beyond-default named them: ${b.beyond.join(', ')}`,
    );
}

/** With several runs: the calls only some of them made, fewest first. */
export function reportCoverage(g: GenerateResult, shown = 12): void {
  const { runs, partial } = g.coverage;
  if (runs < 2) return;
  if (partial.length === 0) {
    say(`every recorded call was made in all ${runs} runs`);
    return;
  }
  const once = partial.filter((p) => p.runs === 1);
  say(
    `${partial.length} call${partial.length === 1 ? '' : 's'} were made in only some of the ${runs} runs${once.length ? ` (${once.length} in just one)` : ''}: the fragile ones, another input may need a call no run made`,
  );
  for (const p of partial.slice(0, shown))
    say(
      `  ${p.name}: ${p.runs} of ${runs} runs${p.first ? `, first at ${p.first}` : ''}${p.executables.length ? ` (${p.executables.slice(0, 3).join(', ')})` : ''}`,
    );
  if (partial.length > shown)
    say(`  ... and ${partial.length - shown} more (sysfence report --recording shows all)`);
}
