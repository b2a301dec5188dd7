// diff and merge: semantics through the verdict tables, never the text.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import type { Profile, SyscallRule } from '../../src/profile/model.js';
import { parseDockerProfile } from '../../src/profile/parse-docker.js';
import { diffProfiles, formatDiffMarkdown, formatDiffText } from '../../src/review/diff.js';
import { mergeProfiles } from '../../src/review/merge.js';
import { verdictTable } from '../../src/review/verdicts.js';
import { golden } from '../helpers/golden.js';

const shared = join(import.meta.dirname, '..', '..', 'data', 'profiles');
const load = (name: string) => parseDockerProfile(readFileSync(join(shared, name), 'utf8')).profile!;
const docker = load('docker-default.json');
const podman = load('podman-default.json');

/** The same profile written differently: one rule per name, rules sorted by name, names reversed. */
function regrouped(p: Profile): Profile {
  const single: SyscallRule[] = (p.syscalls ?? []).flatMap((r) =>
    [...(r.names ?? []), ...(r.name ? [r.name] : [])].map((n) => {
      const { name: _n, names: _ns, ...rest } = r;
      return { ...rest, names: [n] };
    }),
  );
  // a stable sort: the rules of one name keep their order (first match wins among them)
  const sorted = single
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (a.r.names![0]! < b.r.names![0]! ? -1 : a.r.names![0]! > b.r.names![0]! ? 1 : a.i - b.i));
  return { ...p, syscalls: sorted.map((x) => x.r) };
}

const small: Profile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: 38,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [
    { names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
    { names: ['personality'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 8n, op: 'SCMP_CMP_EQ' }] },
    { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
  ],
};
const edit = (f: (p: Profile) => void): Profile => {
  const p = structuredClone(small);
  f(p);
  return p;
};
const brief = (p: Profile) =>
  diffProfiles(small, p).changes.map((c) => [c.arch, c.name, c.old, c.new, c.allowsMore, c.allowsLess]);

describe('diff', () => {
  it('no change between a profile and its regrouped, reordered twin (Docker and Podman defaults)', () => {
    for (const p of [docker, podman]) {
      const d = diffProfiles(p, regrouped(p));
      expect(d.changes).toEqual([]);
      expect(d.allowsMore).toBe(false);
    }
  });

  it('exactly the expected changes on a corpus of edits', () => {
    expect(brief(edit((p) => p.syscalls![0]!.names!.push('ptrace')))).toEqual([
      ['x86_64', 'ptrace', 'ERRNO(38)', 'ALLOW', true, false],
    ]);
    expect(brief(edit((p) => p.syscalls![0]!.names!.splice(0, 1)))).toEqual([
      ['x86_64', 'read', 'ALLOW', 'ERRNO(38)', false, true],
    ]);
    expect(brief(edit((p) => (p.syscalls![2]!.errnoRet = 13)))).toEqual([
      ['x86_64', 'mount', 'ERRNO(1)', 'ERRNO(13)', false, false],
    ]);
    // a rule equal to the default is no rule: removing it changes nothing
    expect(
      brief(edit((p) => p.syscalls!.push({ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }))),
    ).toEqual([]);
    const arg = diffProfiles(
      small,
      edit((p) => (p.syscalls![1]!.args![0]!.value = 0x20008n)),
    ).changes;
    expect(arg.map((c) => [c.name, c.allowsMore, c.allowsLess, c.witnesses])).toEqual([
      [
        'personality',
        true,
        true,
        [
          { args: ['0x8', '0x0', '0x0', '0x0', '0x0', '0x0'], old: 'ALLOW', new: 'ERRNO(38)' },
          { args: ['0x20008', '0x0', '0x0', '0x0', '0x0', '0x0'], old: 'ERRNO(38)', new: 'ALLOW' },
        ],
      ],
    ]);
    // the default's errno moves every call without a rule: one group in the text
    const d = diffProfiles(
      small,
      edit((p) => (p.defaultErrnoRet = 1)),
    );
    expect(d.allowsMore).toBe(false);
    // every name of the table but the three allowed ones and mount (its own rule)
    const names = verdictTable(small, findArch('x86_64')!).calls.length;
    expect(d.changes.length).toBe(names - 4);
    expect(formatDiffText(d).split('\n').slice(0, 4)).toEqual([
      `x86_64: 3 -> 3 allowed unconditionally; ${names - 4} syscalls changed`,
      expect.stringMatching(/^ {2}~ ERRNO\(38\) -> ERRNO\(1\): open, close, stat, .*, rseq_slice_yield$/),
      '  ~ personality: arg0 == 0x8 -> ALLOW; else ERRNO(38)',
      '      now: arg0 == 0x8 -> ALLOW; else ERRNO(1)',
    ]);
  });

  it('golden: Docker default -> Podman default (text and markdown)', () => {
    const d = diffProfiles(docker, podman);
    expect(d.allowsMore).toBe(true);
    golden('diff-docker-podman.txt', formatDiffText(d));
    golden('diff-docker-podman.md', formatDiffMarkdown(d));
  });
});

describe('merge', () => {
  it('allows exactly the union, argument rules ORed, denials resolved to the least strict', () => {
    const b: Profile = {
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['read', 'openat', 'exit_group'], action: 'SCMP_ACT_ALLOW' },
        {
          names: ['personality'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 0n, op: 'SCMP_CMP_EQ' }],
        },
        { names: ['mount'], action: 'SCMP_ACT_KILL_PROCESS' },
      ],
    };
    const m = mergeProfiles([
      { name: 'a', profile: small },
      { name: 'b', profile: b },
    ]);
    expect(m.profile).toEqual({
      defaultAction: 'SCMP_ACT_ERRNO',
      defaultErrnoRet: 38,
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { names: ['exit_group', 'openat', 'read', 'write'], action: 'SCMP_ACT_ALLOW' },
        { names: ['mount'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
        {
          names: ['personality'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 8n, op: 'SCMP_CMP_EQ' }],
        },
        {
          names: ['personality'],
          action: 'SCMP_ACT_ALLOW',
          args: [{ index: 0, value: 0n, op: 'SCMP_CMP_EQ' }],
        },
      ],
    });
    expect(m.conflicts).toEqual([
      'default actions differ (a: ERRNO(38), b: ERRNO(1)): took ERRNO(38), the least strict',
      'mount (x86_64): a: ERRNO(1), b: KILL_PROCESS: took ERRNO(1), the least strict',
    ]);
    for (const p of [small, b])
      expect(diffProfiles(p, m.profile).changes.filter((c) => c.allowsLess)).toEqual([]);
  });

  it('Docker and Podman defaults: the merge allows all either allows, and nothing neither does', () => {
    const m = mergeProfiles([
      { name: 'docker', profile: docker },
      { name: 'podman', profile: podman },
    ]);
    for (const p of [docker, podman])
      expect(diffProfiles(p, m.profile).changes.filter((c) => c.allowsLess)).toEqual([]);
    // every call the merge allows on x86_64, one of the two allows
    const more = diffProfiles(docker, m.profile).changes.filter((c) => c.allowsMore && c.arch === 'x86_64');
    const podmanMore = new Set(
      diffProfiles(docker, podman)
        .changes.filter((c) => c.allowsMore && c.arch === 'x86_64')
        .map((c) => c.name),
    );
    expect(more.map((c) => c.name).filter((n) => !podmanMore.has(n))).toEqual([]);
  });
});
