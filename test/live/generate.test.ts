// The closed loop on a real program: strace it, import the log, generate a profile, compile it and
// run the program under it: it works; without one call it needs, the kernel stops it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { encode } from '../../src/bpf/encode.js';
import { compile } from '../../src/compiler/compile.js';
import { generate } from '../../src/profile/generate.js';
import { importLogs } from '../../src/recorders/import.js';
import { ok, run, tempDir } from '../helpers/proc.js';
import { haveTool, requirement } from '../helpers/tools.js';

const skip =
  process.arch !== 'x64'
    ? 'written for x86_64 hosts'
    : (requirement(haveTool('gcc'), 'gcc') ?? requirement(haveTool('strace', ['-V']), 'strace'));
const dir = tempDir('sysfence-gen-');
const fixtures = join(import.meta.dirname, '..', 'fixtures', 'strace');

describe.skipIf(skip !== undefined)('record (strace) -> import -> generate -> compile -> run', () => {
  it('the program runs under its generated profile, and is killed when a needed call is missing', async () => {
    await ok(run('gcc', ['-O1', '-pthread', '-o', join(dir, 'w'), join(fixtures, 'w.c')]));
    await ok(run('gcc', ['-O2', '-o', join(dir, 'run-under'), join(import.meta.dirname, 'run-under.c')]));
    // record the program (its first call is the execve that run-under will make under the filter)
    await ok(run('strace', ['-f', '-o', join(dir, 'w.log'), join(dir, 'w')]));
    const rec = await importLogs([join(dir, 'w.log')], { arch: findArch('x86_64')! });
    expect(rec.malformed.count).toBe(0);
    const under = async (deny: 'enosys' | 'kill', drop: string[]) => {
      const g = generate([rec], { deny });
      const rule = g.profile.syscalls![0]!;
      rule.names = rule.names!.filter((n) => !drop.includes(n));
      const f = join(dir, `${deny}-${drop.join('-') || 'all'}.bpf`);
      writeFileSync(f, encode(compile(g.profile, { nativeArch: 'x86_64' }).instructions));
      const r = await run(join(dir, 'run-under'), [f, join(dir, 'w')]);
      return r.signal ?? r.status;
    };
    expect(await under('enosys', [])).toBe(0);
    expect(await under('kill', [])).toBe(0);
    // w sends itself SIGUSR1 with kill(2): without it, a kill-by-default profile stops w with SIGSYS
    expect(await under('kill', ['kill'])).toBe('SIGSYS');
    // clone3 missing with ENOSYS as the denial: glibc falls back to clone and w still works
    expect(await under('enosys', ['clone3'])).toBe(0);
  });
});
