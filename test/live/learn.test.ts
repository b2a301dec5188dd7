// One-pass learning: a profile recorded on one input, `sysfence learn` on another: one round, and
// the learned profile runs the new input with no denial. Only calls made under the filter are
// learned (never bubblewrap's own set-up), and none that only a denial would cause.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runUnderProfileSkip } from '../helpers/cli.js';
import { sysfence, tempDir } from '../helpers/proc.js';
import { haveTool, requirement } from '../helpers/tools.js';

const skip = runUnderProfileSkip() ?? requirement(haveTool('xz'), 'xz-utils');
const dir = tempDir('sysfence-learn-');
const sf = (args: string[], cwd = dir) => sysfence(args, { cwd });
const names = (file: string) =>
  new Set(
    (
      JSON.parse(readFileSync(file, 'utf8')).syscalls as {
        names: string[];
        action: string;
        args?: unknown[];
      }[]
    )
      .filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args?.length)
      .flatMap((r) => r.names),
  );

describe.skipIf(skip !== undefined)('sysfence learn', () => {
  it('one round: the new input runs under the learned profile with no denial, bubblewrap is not learned', async () => {
    const work = join(dir, 'w');
    mkdirSync(join(work, 'data'), { recursive: true });
    for (let i = 0; i < 20; i++)
      writeFileSync(join(work, 'data', `f${i}.txt`), 'alpha beta\n'.repeat(200 + i));
    // input A: list the files; input B: a pipeline that fills pipes, compresses, copies to a file
    const a = ['sh', '-c', 'ls data > list.txt'];
    const b = [
      'sh',
      '-c',
      'cat data/*.txt | sort | xz -T1 > all.xz && cat data/f1.txt > copy.txt && xz -t all.xz',
    ];
    const exact = join(dir, 'a.json');
    expect((await sf(['record', '--exact', '-o', exact, '--', ...a], work)).status).toBe(0);
    // before: input B under A's exact profile is denied something
    const before = join(dir, 'before.json');
    await sf(['run', '--profile', exact, '--report', before, '--', ...b], work);
    expect(JSON.parse(readFileSync(before, 'utf8')).findings).toBeGreaterThan(0);
    // one pass
    const learned = join(dir, 'b.json');
    const l = await sf(['learn', exact, '-o', learned, '--', ...b], work);
    expect(l.status, l.stderr).toBe(0);
    expect(l.stderr).toMatch(/learn: the profile's default \(SCMP_ACT_ERRNO\) is LOG for this run/);
    expect(l.stderr).toMatch(/sysfence: diff: NEW allows calls that OLD denied/);
    // the learned profile keeps its own default; bubblewrap's namespace set-up is not in it
    const p = JSON.parse(readFileSync(learned, 'utf8'));
    expect([p.defaultAction, p.defaultErrnoRet]).toEqual(['SCMP_ACT_ERRNO', 38]);
    const added = [...names(learned)].filter((n) => !names(exact).has(n));
    for (const n of ['mount', 'pivot_root', 'umount2', 'capset', 'unshare']) expect(added).not.toContain(n);
    // what the pipeline needs on B that `ls` never did; clone only as Docker's default allows it
    for (const n of ['pipe2', 'copy_file_range']) expect(added).toContain(n);
    expect(added).not.toContain('clone');
    expect(p.syscalls.filter((r: { names: string[] }) => r.names.includes('clone'))).toEqual([
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }],
        comment: expect.stringMatching(
          /^family wait: clone only without these flags|^Docker's default allows clone/,
        ),
      },
    ]);
    // after: B runs with no denial, exit 0
    const after = join(dir, 'after.json');
    const r = await sf(['run', '--profile', learned, '--report', after, '--', ...b], work);
    const j = JSON.parse(readFileSync(after, 'utf8'));
    expect([r.status, j.exit.status, j.denials.filter((d: { expected: boolean }) => !d.expected)]).toEqual([
      0,
      0,
      [],
    ]);
  });
});
