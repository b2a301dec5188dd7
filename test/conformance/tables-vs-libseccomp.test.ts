// Cross-checks every architecture's syscall table against libseccomp (the test oracle).
// Every difference must be listed, with its reason, in data/libseccomp-differences.json.
// Regenerate that file after a table update with: UPDATE_KNOWN=1 npx vitest run tables-vs-libseccomp
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCH_DEFS } from '../../src/arch/defs.js';
import { KNOWN_SYSCALL_NAMES, syscallTable } from '../../src/arch/tables.js';
import { havePythonSeccomp, requirement, runPython } from '../helpers/tools.js';

const KNOWN = join(import.meta.dirname, '..', '..', 'data', 'libseccomp-differences.json');
const ORACLE = join(import.meta.dirname, '..', 'oracle', 'libseccomp_tables.py');

const REASONS: Record<string, string> = {
  'arch-unsupported': 'libseccomp 2.5.4 has no such architecture (LoongArch support arrived in 2.6.0)',
  'newer-than-libseccomp':
    'the kernel table (Linux 7.2) has this syscall but libseccomp 2.5.4 does not know the name: runc/crun linked against it drop such rules silently',
  'libseccomp-lacks-on-arch':
    'libseccomp 2.5.4 knows the name but has no number for it on this architecture, while Linux 7.2 has one',
  'removed-from-kernel':
    'libseccomp 2.5.4 knows a name that neither the Linux 7.2 table nor data/legacy-syscalls.tsv lists',
  'not-in-kernel-table':
    'libseccomp 2.5.4 has a number on this architecture for a name the Linux 7.2 table lists without a number here',
};

type Diff = { kind: string; arch: string; name: string; ours: number | null; libseccomp: number | null };

async function computeDiffs(): Promise<{ version: string; diffs: Diff[]; checked: number }> {
  const names = [...KNOWN_SYSCALL_NAMES];
  const range: Record<string, [number, number]> = {};
  for (const a of ARCH_DEFS) {
    const t = syscallTable(a);
    const lo = t.entries[0]?.[1] ?? 0;
    range[a.id] = [lo, t.maxNr + 64];
  }
  const out = (await runPython(ORACLE, { names, arches: ARCH_DEFS.map((a) => a.id), range })) as {
    version: string;
    arches: Record<string, { byName: Record<string, number>; byNr: Record<string, string> } | null>;
  };
  const diffs: Diff[] = [];
  let checked = 0;
  for (const a of ARCH_DEFS) {
    const t = syscallTable(a);
    const theirs = out.arches[a.id];
    if (!theirs) {
      diffs.push({ kind: 'arch-unsupported', arch: a.id, name: '*', ours: null, libseccomp: null });
      continue;
    }
    for (const name of names) {
      const ours = t.number(name);
      const their = theirs.byName[name] ?? -1;
      if (ours !== undefined && their >= 0) {
        checked++;
        if (ours !== their)
          diffs.push({ kind: 'number-mismatch', arch: a.id, name, ours, libseccomp: their });
      } else if (
        ours !== undefined &&
        ((their <= -100 && their >= -120) || (their <= -200 && their >= -224))
      ) {
        // A multiplexed pseudo-number (socketcall/ipc): the direct number must still agree.
        checked++;
        if (theirs.byNr[String(ours)] !== name)
          diffs.push({ kind: 'number-mismatch', arch: a.id, name, ours, libseccomp: their });
      } else if (ours !== undefined && their === -1) {
        diffs.push({ kind: 'newer-than-libseccomp', arch: a.id, name, ours, libseccomp: null });
      } else if (ours !== undefined) {
        diffs.push({ kind: 'libseccomp-lacks-on-arch', arch: a.id, name, ours, libseccomp: their });
      } else if (their >= 0) {
        diffs.push({ kind: 'not-in-kernel-table', arch: a.id, name, ours: null, libseccomp: their });
      }
    }
    const ourNames = new Set(names);
    for (const [nr, name] of Object.entries(theirs.byNr)) {
      if (!ourNames.has(name))
        diffs.push({ kind: 'removed-from-kernel', arch: a.id, name, ours: null, libseccomp: Number(nr) });
    }
  }
  diffs.sort((x, y) =>
    x.kind !== y.kind
      ? x.kind < y.kind
        ? -1
        : 1
      : x.arch !== y.arch
        ? x.arch < y.arch
          ? -1
          : 1
        : x.name < y.name
          ? -1
          : x.name > y.name
            ? 1
            : 0,
  );
  return { version: out.version, diffs, checked };
}

/** Groups differences as kind -> name -> "arch[=ours/libseccomp]" strings for a reviewable file. */
function group(diffs: Diff[]) {
  const byKind: Record<string, { reason: string; names: Record<string, string[]> }> = {};
  for (const d of diffs) {
    byKind[d.kind] ??= { reason: REASONS[d.kind] ?? 'UNEXPLAINED', names: {} };
    const k = byKind[d.kind]!;
    const cell =
      d.kind === 'number-mismatch' || d.kind === 'removed-from-kernel' || d.kind === 'not-in-kernel-table'
        ? `${d.arch}:${d.ours ?? '-'}/${d.libseccomp ?? '-'}`
        : d.arch;
    k.names[d.name] ??= [];
    k.names[d.name]!.push(cell);
  }
  return byKind;
}

const skip = requirement(havePythonSeccomp(), "Debian's python3-seccomp (libseccomp oracle)");

describe.skipIf(skip !== undefined)('syscall tables vs libseccomp', () => {
  it('agree on every number both know; every difference is listed with its reason', async () => {
    const { version, diffs, checked } = await computeDiffs();
    const grouped = { libseccomp: version, differences: group(diffs) };
    if (process.env.UPDATE_KNOWN === '1') writeFileSync(KNOWN, `${JSON.stringify(grouped, null, 2)}\n`);
    const known = JSON.parse(readFileSync(KNOWN, 'utf8'));
    expect(diffs.filter((d) => d.kind === 'number-mismatch')).toEqual([]);
    expect(grouped).toEqual(known);
    // Every name both know on every architecture libseccomp supports was compared.
    expect(checked).toBeGreaterThan(17 * 300);
    console.log(
      `tables vs libseccomp ${version}: ${checked} (arch, name) pairs agree; ${diffs.length} listed differences`,
    );
  });
});
