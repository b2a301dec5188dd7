import type { ProgramReach } from '../../reach/program.js';
import type { Drift } from '../../review/drift.js';
import { out } from '../output.js';
import { chainWhy } from '../static-reach.js';

export function printReach(r: ProgramReach, why: string | undefined): void {
  const libs = r.modules.slice(1).map((m) => m.soname ?? m.path);
  out(
    `${r.program}: ${r.machine}, ${r.calls.length} system calls reachable${libs.length ? ` (${libs.length} module${libs.length === 1 ? '' : 's'}: ${libs.join(', ')})` : ''}`,
  );
  const shown = why ? r.calls.filter((c) => c.name === why) : r.calls;
  const width = Math.max(0, ...shown.map((c) => c.name.length));
  for (const c of shown) out(`  ${c.name.padEnd(width)}  ${why ? c.chain.join(' -> ') : chainWhy(c.chain)}`);
  if (why && shown.length === 0) out(`  ${why}: not reachable`);
  for (const m of r.missing)
    out(`  missing: ${m.library} (needed by ${m.neededBy}): the loader would not start the program as found`);
  for (const u of r.unresolved)
    out(
      `  unresolved: ${u.kind === 'number' ? 'a system call whose number is unknown' : u.kind === 'foreign-abi' ? 'a system call of another ABI (int 0x80)' : 'a wrapper called with an unknown number'} at ${u.module}+0x${u.at.toString(16)}${u.function ? ` (${u.function})` : ''}`,
    );
  for (const l of r.runtimeLoading) out(`  note: ${l}`);
}

export function printDrift(file: string, drift: readonly Drift[]): void {
  if (drift.length === 0) {
    out(`drift: none: ${file} allows every call the programs can make`);
    return;
  }
  out(
    `drift: ${drift.length} call${drift.length === 1 ? '' : 's'} the programs can make that ${file} does not allow (an input that makes ${drift.length === 1 ? 'it' : 'one'} fails under the profile):`,
  );
  const width = Math.max(...drift.map((d) => d.name.length));
  for (const d of drift) out(`  ${d.name.padEnd(width)}  ${d.verdict}: ${d.chain.join(' -> ')}`);
}
