import type { ArchDef } from '../../arch/types.js';
import { writeOutput } from '../../exec/files.js';
import { runtimeSet } from '../../knowledge/runtime-sets.js';
import type { Profile } from '../../profile/model.js';
import { resolve } from '../../profile/resolve.js';
import { serializeDocker } from '../../profile/serialize-docker.js';
import { type ContainerEngine, DOCKER } from '../../recorders/container-engines.js';
import { beyondDefault } from '../../review/baseline-proof.js';
import { diffProfiles, formatDiffText } from '../../review/diff.js';
import { learn } from '../../runners/denials.js';
import type { RunResult as ProfileRun } from '../../runners/run-profile.js';
import { auditProfile } from '../audit-log.js';
import { exactForRuntimes } from '../exact.js';
import { err } from '../output.js';
import { requireWithinDefault } from '../within-default.js';

/**
 * run --learn and learn: the profile as written, extended by what the run needed (its denials),
 * with family siblings, Docker's argument rules and the runtime's set; the semantic diff said on
 * stderr; written where -o says, never weaker than Docker's default unless asked by name.
 */
export function learnFromRun(c: {
  opts: Record<string, string | boolean | undefined>;
  written: Profile;
  run: ProfileRun;
  arch: ArchDef;
  beyond: string[];
  ce?: ContainerEngine;
}): void {
  const { opts, written, arch, beyond, ce } = c;
  const r = c.run;
  // learning changes the profile as written: --default-action was for this run only
  const l = learn(written, r.denials, {
    exact: opts.exact === true,
    resolved: resolve(written, { arch, kernelVersion: String(opts.kernel) }),
    ran: r.recording,
    // the runtime's own calls after it installs the filter are not in a container's recording
    ...(ce ? { runtime: { set: runtimeSet(ce.runtime), abi: arch.id } } : {}),
    allowBeyondDefault: beyond,
  });
  if (l.runtime.length > 0)
    err(
      `sysfence: the profile lacked what ${(ce ?? DOCKER).runtimeName} calls after installing the filter: ${l.runtime.join(', ')}; added (generate --for ${ce?.id ?? 'docker'} adds them)`,
    );
  const sibling = new Map(l.families.map((f) => [f.name, f]));
  for (const f of l.families.filter((x) => x.unless))
    err(`+ allow ${f.name} only without CLONE_NEW* flags (family ${f.family}, with ${f.trigger})`);
  for (const name of l.added) {
    const f = sibling.get(name);
    err(`+ allow ${name}${f ? ` (family ${f.family}, with ${f.trigger})` : ''}`);
  }
  const familyRestricted = new Set(l.families.filter((x) => x.unless).map((x) => x.name));
  for (const c of l.baseline.changes) {
    if (c.kind === 'narrowed' && !familyRestricted.has(c.name))
      err(
        `+ allow ${c.name} only as Docker's default allows it: ${c.why.replace(/^Docker's default allows it only for /, '')}`,
      );
    if (c.kind === 'denied')
      err(`sysfence: not learned: ${c.name}: ${c.why}; --allow-beyond-default ${c.name} learns it anyway`);
  }
  if (l.baseline.beyond.length > 0)
    err(
      `sysfence: WARNING: learned beyond Docker's default because --allow-beyond-default named them: ${l.baseline.beyond.join(', ')}`,
    );
  if (l.families.length > 0) {
    err(
      `sysfence: ${l.families.length} of them are call-family siblings of what ran (--exact: only what ran):`,
    );
    for (const [family, why] of new Map(l.families.map((f) => [f.family, f.why])))
      err(`sysfence:   family ${family}: ${why}`);
  }
  // what a reviewer approves: the semantic diff of the change, on this machine's ABI
  const changed = l.profile !== written;
  if (changed)
    for (const line of formatDiffText(diffProfiles(written, l.profile, { arches: [arch] }))
      .trimEnd()
      .split('\n'))
      err(`sysfence: diff: ${line}`);
  if (changed && opts.defaultAction && !opts.oneRound)
    err(
      `sysfence: the learned profile keeps its own default action (${written.defaultAction}), not --default-action`,
    );
  if (!changed) err('sysfence: nothing to learn: the profile stays as it is');
  // what the profile already allowed past Docker's default is the user's; nothing learned is
  const own = beyondDefault(written).changes.map((c) => c.name);
  requireWithinDefault(l.profile, [...own, ...beyond], 'the learned profile');
  const text = serializeDocker(exactForRuntimes(l.profile));
  writeOutput(String(opts.output), text);
  auditProfile({
    what: 'learned',
    exempt: [...own, ...beyond],
    format: 'docker',
    text,
    output: String(opts.output),
  });
  err(`sysfence: wrote ${String(opts.output)}`);
}
