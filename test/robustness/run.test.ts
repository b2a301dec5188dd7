// `run` says only what happened: no denial for a forked child's first return from clone, --learn
// changes the profile as written (never --default-action's), logged calls are reported, and a
// profile that enforces nothing is said to.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runUnderProfileSkip } from '../helpers/cli.js';
import { sysfence, tempDir } from '../helpers/proc.js';

const skip = runUnderProfileSkip();
const dir = tempDir('sysfence-run-robust-');
const sf = (args: string[]) => sysfence(args);

/** A profile recorded from `command` (what it needs under bubblewrap), minus `drop`. */
async function profileOf(name: string, command: string[], drop: string[] = []): Promise<string> {
  const f = join(dir, `${name}.json`);
  // run records under bubblewrap: record the command the same way so bwrap's calls are in it
  const r = await sf(['record', '-o', f, '--', 'bwrap', '--dev-bind', '/', '/', '--', ...command]);
  expect(r.status).toBe(0);
  const p = JSON.parse(readFileSync(f, 'utf8'));
  for (const rule of p.syscalls) rule.names = rule.names.filter((n: string) => !drop.includes(n));
  writeFileSync(f, JSON.stringify(p));
  return f;
}

describe.skipIf(skip !== undefined)('run reports what happened, nothing else', () => {
  it('forked children: no clone denial that never happened', async () => {
    const cmd = ['sh', '-c', '/bin/true & /bin/true & wait; /bin/true'];
    const p = await profileOf('fork', cmd);
    const r = await sf(['run', '--profile', p, '--', ...cmd]);
    expect([r.status, r.stderr.split('\n').filter((l) => /DENIED|expected|no call/.test(l))]).toEqual([
      0,
      ['sysfence: no call was denied'],
    ]);
    // under KILL_PROCESS the same: the report lists no denial and the command succeeds
    const report = join(dir, 'fork-kill.json');
    const k = await sf(['run', '--profile', p, '--default-action', 'kill', '--report', report, '--', ...cmd]);
    expect([k.status, JSON.parse(readFileSync(report, 'utf8')).denials]).toEqual([0, []]);
  });

  it('--default-action log: the logged calls are reported, and --learn keeps the written default', async () => {
    const cmd = ['sh', '-c', 'uname -r > /dev/null'];
    const p = await profileOf('log', cmd, ['uname']);
    const learned = join(dir, 'log-learned.json');
    const r = await sf([
      'run',
      '--profile',
      p,
      '--default-action',
      'log',
      '--learn',
      '-o',
      learned,
      '--',
      ...cmd,
    ]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(
      /sysfence: LOGGED x86_64 uname: 1 call, ran under LOG; the profile's default would give ERRNO\(38\)/,
    );
    expect(r.stderr.split('\n').filter((l) => l.startsWith('+ '))).toEqual(['+ allow uname']);
    const l = JSON.parse(readFileSync(learned, 'utf8'));
    expect([l.defaultAction, l.defaultErrnoRet, l.syscalls.at(-1)]).toEqual([
      'SCMP_ACT_ERRNO',
      38,
      { names: ['uname'], action: 'SCMP_ACT_ALLOW' },
    ]);
  });

  it('a profile that enforces nothing by default is said to, loudly', async () => {
    const p = join(dir, 'allow.json');
    writeFileSync(
      p,
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO"}]}',
    );
    const r = await sf(['run', '--profile', p, '--', 'true']);
    expect([r.status, r.stderr.split('\n')[0]]).toEqual([
      0,
      'sysfence: WARNING: nothing is enforced by default: the default action is SCMP_ACT_ALLOW, so calls the profile does not list run, not denied',
    ]);
  });
});
