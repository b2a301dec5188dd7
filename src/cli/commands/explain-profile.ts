import { explainProfile } from '../../profile/explain.js';
import { runCoverage } from '../../profile/generate.js';
import { type Provenance, profileProvenance } from '../../profile/provenance.js';
import { formatRuntimeNotes, runtimeNotes } from '../../targets/notes.js';
import { out, style, toJsonText } from '../output.js';
import { readProfile, requireOneProfile } from '../read-profile.js';
import { readRecording } from '../recordings.js';
import { parseResolveOptions } from './resolve-options.js';
import { parseRuntimeTarget } from './runtime-options.js';

export function explainProfileCmd(
  file: string,
  opts: Record<string, string | boolean | undefined>,
  json: boolean,
): void {
  const { profile } = requireOneProfile(readProfile(file));
  const ro = parseResolveOptions(opts as Record<string, string | undefined>);
  const caps = ro.capabilities;
  const kernel = ro.kernelVersion;
  const first = profile.archMap?.[0]?.architecture ?? profile.architectures?.[0];
  const arches = opts.arch
    ? [opts.arch as string]
    : opts.allArches
      ? undefined
      : first
        ? [first]
        : ['x86_64'];
  const recFiles = (opts.recording as unknown as string[] | undefined) ?? [];
  const coverage = recFiles.length > 0 ? runCoverage(recFiles.map(readRecording)) : undefined;
  const provenance = profileProvenance(profile);
  const rows = explainProfile(profile, {
    ...(arches ? { arches } : {}),
    ...(caps ? { capabilities: caps } : {}),
    ...(kernel ? { kernelVersion: kernel } : {}),
  });
  if (json) {
    const notes = runtimeNotes(
      profile,
      parseRuntimeTarget(opts, typeof ro.arch === 'object' ? ro.arch.id : undefined),
      {
        ...(caps ? { capabilities: caps } : {}),
        ...(kernel ? { kernelVersion: kernel } : {}),
      },
    );
    out(
      toJsonText({
        file,
        architectures: rows,
        ...(notes ? { runtime: notes } : {}),
        ...(coverage ? { coverage } : {}),
        ...(provenance.size > 0 ? { provenance: Object.fromEntries(provenance) } : {}),
      }),
    );
    return;
  }
  out(`${style.bold(file)}: default action ${rows[0]?.defaultAction ?? '-'}`);
  const notes = runtimeNotes(
    profile,
    parseRuntimeTarget(opts, typeof ro.arch === 'object' ? ro.arch.id : undefined),
    {
      ...(caps ? { capabilities: caps } : {}),
      ...(kernel ? { kernelVersion: kernel } : {}),
    },
  );
  for (const r of rows) {
    const diff = r.allowed - r.docker.allowed;
    out(
      `  ${r.arch.padEnd(12)} allows ${String(r.allowed).padStart(3)} unconditionally, ${r.conditional} by argument; ` +
        `Docker default allows ${r.docker.allowed} (+${r.docker.conditional} by argument): ${diff === 0 ? 'same count' : diff < 0 ? `${-diff} fewer` : `${diff} more`}`,
    );
    if (r.onlyHere.length > 0) out(`    allowed here, not by Docker: ${r.onlyHere.join(' ')}`);
    out('    by category (allowed unconditionally / by argument / in the table):');
    for (const c of r.categories)
      out(
        `      ${c.category.padEnd(11)} ${String(c.allowed).padStart(3)}${c.conditional ? ` +${c.conditional}` : ''} of ${String(c.total).padStart(3)}${c.category === 'privileged' && c.allowed > 0 ? `: ${c.allowedNames.join(' ')}` : ''}`,
      );
  }
  for (const line of formatRuntimeNotes(notes)) out(line);
  for (const line of provenanceLines(provenance)) out(line);
  for (const line of coverageLines(coverage)) out(line);
}

/** Why the profile allows what it allows, from the rule comments sysfence wrote (none: nothing). */
function provenanceLines(prov: ReadonlyMap<string, Provenance>): string[] {
  if (prov.size === 0) return [];
  const by = new Map<string, [string, Provenance][]>();
  for (const [n, p] of [...prov].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    by.set(p.kind, [...(by.get(p.kind) ?? []), [n, p]]);
  const order = ['recorded', 'implied', 'family', 'runtime', 'predicted'];
  const lines = [
    `  why each call is there (the rule comments): ${order
      .filter((k) => by.has(k))
      .map((k) => `${by.get(k)?.length} ${k}`)
      .join(', ')}`,
  ];
  for (const k of order.slice(1))
    for (const [n, p] of by.get(k) ?? [])
      lines.push(`    ${k.padEnd(9)} ${n.padEnd(20)} ${p.why ?? ''}`.trimEnd());
  return lines;
}

/** The recordings' coverage: one run, every call in all, or the calls only some runs made. */
function coverageLines(coverage: ReturnType<typeof runCoverage> | undefined): string[] {
  const lines: string[] = [];
  const out = (l: string) => lines.push(l);
  if (coverage) {
    if (coverage.runs < 2)
      out(
        '  coverage: the recordings hold one run: every call rests on one input (merge recordings of several runs to see which calls are fragile)',
      );
    else if (coverage.partial.length === 0)
      out(`  coverage: every recorded call was made in all ${coverage.runs} runs`);
    else {
      out(
        `  fragile: ${coverage.partial.length} call${coverage.partial.length === 1 ? '' : 's'} made in only some of the ${coverage.runs} runs (another input may need a call no run made):`,
      );
      for (const p of coverage.partial)
        out(
          `    ${p.name.padEnd(20)} ${p.runs} of ${coverage.runs}${p.first ? `, first at ${p.first}` : ''}${p.executables.length ? ` (${p.executables.slice(0, 3).join(', ')})` : ''}${p.stack?.[0] ? `, from ${p.stack[0]}` : ''}`,
        );
    }
  }
  return lines;
}
