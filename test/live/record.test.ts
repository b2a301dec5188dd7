// The completeness suite: a workload with a known set of syscalls (threads, a forked child, an
// exec'd child, a signal handler, a 32-bit child, a failing call) recorded by both backends; each
// must report exactly that set plus the listed start-up/thread/exit calls of static glibc.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { encode } from '../../src/bpf/encode.js';
import { compile } from '../../src/compiler/compile.js';
import { generate } from '../../src/profile/generate.js';
import { ebpfProblems, record } from '../../src/recorders/record.js';
import { findCgroup2 } from '../../src/recorders/record-ebpf.js';
import type { Recording } from '../../src/recording/recording.js';
import { runUnderFilter } from '../../src/runners/enforce.js';
import { BIN, ok, run, startSysfence, sysfence, tempDir, until } from '../helpers/proc.js';
import { comm, marked } from '../helpers/procfs.js';
import { haveTool, requirement } from '../helpers/tools.js';
import { EXPECTED_32, EXPECTED_64 } from '../helpers/workload.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures', 'record');
const x86_64 = findArch('x86_64')!;

async function canBuild32(): Promise<boolean> {
  const d = tempDir('sysfence-m32-');
  const r = await run('gcc', ['-m32', '-static', '-o', join(d, 'a'), join(fixtures, 'workload32.c')]);
  return r.status === 0;
}

/**
 * Whether this kernel runs i386 programs at all: some (Firecracker guests, kernels built without
 * IA32_EMULATION or booted with ia32_emulation=0) refuse them with ENOEXEC. There the 32-bit half
 * of the workload cannot run, and only the x86_64 half is checked (said on the console).
 */
async function canRun32(): Promise<boolean> {
  const d = tempDir('sysfence-m32-');
  writeFileSync(join(d, 't.c'), 'int main(void) { return 0; }\n');
  if ((await run('gcc', ['-m32', '-static', '-o', join(d, 't'), join(d, 't.c')])).status !== 0) return false;
  return (await run(join(d, 't'), [])).status === 0;
}

const skip =
  process.arch !== 'x64'
    ? 'written for x86_64 hosts (i386 child, x86_64 numbers)'
    : (requirement(haveTool('gcc'), 'gcc') ??
      requirement(await canBuild32(), 'gcc -m32 -static (Debian gcc-multilib)') ??
      requirement(haveTool('strace', ['-V']), 'strace'));
const ebpfSkip =
  skip ??
  requirement(
    ebpfProblems(x86_64).length + ebpfProblems(x86_64, undefined, 'bpftrace').length === 0,
    `eBPF recording (${[...ebpfProblems(x86_64), ...ebpfProblems(x86_64, undefined, 'bpftrace')].join('; ')})`,
  );

const run32 = skip === undefined && (await canRun32());
if (skip === undefined && !run32)
  console.log('completeness: this kernel runs no i386 programs (ENOEXEC): only the x86_64 half is checked');

let dir = '';
beforeAll(async () => {
  if (skip) return;
  dir = tempDir('sysfence-complete-');
  await ok(
    run('gcc', ['-O1', '-static', '-pthread', '-o', join(dir, 'workload'), join(fixtures, 'workload.c')]),
  );
  await ok(run('gcc', ['-m32', '-static', '-o', join(dir, 'workload32'), join(fixtures, 'workload32.c')]));
});

async function recordWith(backend: 'ebpf' | 'bpftrace' | 'strace'): Promise<Recording> {
  const scratch = tempDir(`scratch-${backend}-`, dir);
  const r = await record({
    backend,
    arch: x86_64,
    command: [join(dir, 'workload'), scratch, ...(run32 ? [join(dir, 'workload32')] : [])],
  });
  expect(r.exit).toEqual({ code: 0, signal: null });
  expect([r.backend, r.ebpf?.engine]).toEqual(
    backend === 'strace' ? ['strace', undefined] : ['ebpf', backend === 'ebpf' ? 'sysfence' : 'bpftrace'],
  );
  return r.recording;
}

function checkComplete(rec: Recording): void {
  expect(EXPECTED_64.length).toBeGreaterThanOrEqual(60);
  expect(Object.keys(rec.syscalls).sort()).toEqual(run32 ? ['x86', 'x86_64'] : ['x86_64']);
  expect(Object.keys(rec.syscalls.x86_64!)).toEqual(EXPECTED_64);
  if (run32) expect(Object.keys(rec.syscalls.x86!)).toEqual(EXPECTED_32);
  const s = rec.syscalls.x86_64!;
  const workload = join(dir, 'workload');
  // who made what: the forked child, the exec'd child and the main process are different pids
  const main = s.getppid!.pids;
  expect(main).toHaveLength(1);
  expect(s.getresuid!.pids).toHaveLength(1);
  expect(s.getresuid!.pids).not.toEqual(main);
  expect(s.getresgid!.pids).not.toEqual(main);
  expect(s.getresgid!.executables).toEqual([workload]);
  expect(s.getcpu!.count).toBe(1); // inside the signal handler
  expect(s.rmdir!.count).toBe(1); // the failing call is recorded like any other
  expect(s.unlinkat!.count).toBe(2);
  if (!run32) return;
  expect(rec.syscalls.x86!.getuid32!.executables).toEqual([join(dir, 'workload32')]);
  expect(rec.syscalls.x86!.getuid32!.count).toBe(1);
}

describe.skipIf(skip !== undefined)('completeness: strace backend', () => {
  it('reports exactly the workload set, on both ABIs', async () => {
    checkComplete(await recordWith('strace'));
  });
});

describe.skipIf(ebpfSkip !== undefined)('completeness: eBPF backend', () => {
  it("reports exactly the workload set, on both ABIs (sysfence's own program)", async () => {
    checkComplete(await recordWith('ebpf'));
  });

  it("reports exactly the workload set, on both ABIs (bpftrace's program)", async () => {
    checkComplete(await recordWith('bpftrace'));
  });

  it('all three count every call alike', async () => {
    const a = await recordWith('ebpf');
    const b = await recordWith('strace');
    const c = await recordWith('bpftrace');
    // (futex: pthread_join waits in it only when the thread still runs, so each separate run makes
    // one or two: its count is compared as "present", every other count exactly)
    const counts = (r: Recording) =>
      Object.fromEntries(
        Object.entries(r.syscalls).map(([abi, m]) => [
          abi,
          Object.fromEntries(
            Object.entries(m ?? {}).map(([n, s]) => [n, n === 'futex' ? s.count >= 1 : s.count]),
          ),
        ]),
      );
    expect(counts(a)).toEqual(counts(b));
    expect(counts(c)).toEqual(counts(b));
    // and the same processes per call, by how many and which programs they ran
    const shape = (r: Recording) =>
      Object.fromEntries(
        Object.entries(r.syscalls.x86_64 ?? {}).map(([n, st]) => [
          n,
          [st.pids.length, [...st.executables].sort()],
        ]),
      );
    expect(shape(a)).toEqual(shape(c));
  });

  it('`record -- ls -la /` gives the same set with either backend, and passes the exit status through', async () => {
    const sets: string[][] = [];
    for (const backend of ['ebpf', 'strace']) {
      const out = join(dir, `ls-${backend}.json`);
      const r = await sysfence(['record', '--backend', backend, '--recording', out, '--', 'ls', '-la', '/']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(' usr');
      const rec = JSON.parse(readFileSync(out, 'utf8')) as Recording;
      sets.push(Object.keys(rec.syscalls.x86_64!));
    }
    expect(sets[0]!.length).toBeGreaterThan(20);
    expect(sets[0]).toEqual(sets[1]);
    for (const backend of ['ebpf', 'strace']) {
      const r = await sysfence(['record', '--backend', backend, '--', 'sh', '-c', 'exit 7']);
      expect(r.status).toBe(7);
    }
    // the next step it advises is a command line a shell reads back as it was given
    const p = join(dir, 'my app.json');
    const n = await sysfence([
      'record',
      '--backend',
      'strace',
      '-o',
      p,
      '--',
      'sh',
      '-c',
      "echo 'it''s' > /dev/null",
    ]);
    expect(
      n.stderr
        .split('\n')
        .find((l) => l.startsWith('sysfence: next:'))
        ?.replace(/^.*nothing blocked: /, ''),
    ).toBe(
      `sysfence learn '${join(dir, 'my app.json')}' -o '${join(dir, 'my app.next.json')}' -- sh -c 'echo '\\''it'\\'''\\''s'\\'' > /dev/null'`,
    );
  });
});

const demoSkip = ebpfSkip ?? requirement(haveTool('bwrap', ['--version']), 'bubblewrap');
describe.skipIf(demoSkip !== undefined)('the demo', () => {
  it('records the demo server, runs it under its profile, and shows the fence holding', async () => {
    const r = await sysfence(['demo', '--dir', join(dir, 'demo')]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[1]).toMatch(
      /^1\. record \(eBPF, sysfence's program\) node demo\/http-server\.mjs: it served 6 requests \(4 x 200, 2 x 404\), exit 0; \d+ distinct syscalls/,
    );
    expect(lines[4]).toBe(
      '4. run under the profile (bubblewrap --seccomp): it served 6 requests (4 x 200, 2 x 404), exit 0',
    );
    // the count it prints is the names the profile's ALLOW rules allow, not its explicit ENOSYS rule
    const written = JSON.parse(readFileSync(join(dir, 'demo', 'http-server.json'), 'utf8'));
    const allowNames = new Set(
      written.syscalls
        .filter((r: { action: string }) => r.action === 'SCMP_ACT_ALLOW')
        .flatMap((r: { names: string[] }) => r.names),
    );
    expect(lines[2]).toMatch(new RegExp(`^2\\. generate: allow ${allowNames.size} syscalls `));
    // the README's block is this output (scripts/readme-demo.mjs writes it from a run): the same
    // lines, but for the directory's name and the counts of calls, which timing moves (node's
    // worker threads make a call or not, one run in several: 58 or 59 distinct names seen)
    const norm = (text: string) =>
      text
        .replace(/\/\S*\/http-server\.json/g, 'DIR/http-server.json')
        .replace(/\d+ distinct syscalls, \d+ calls/, 'N distinct syscalls, N calls');
    const block = /## What the demo prints\n[\s\S]*?```\n([\s\S]*?)```/.exec(
      readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8'),
    )?.[1];
    expect(norm(r.stdout)).toBe(norm(block ?? ''));
    expect(lines[5]).toMatch(
      /^5\. the fence holds: the same profile without socket: it failed: Error: listen ENOSYS/,
    );
  });
});

describe.skipIf(demoSkip !== undefined)('recording: arguments, errors, Ctrl-C', () => {
  it('--args records exact argument values with both backends, and the profile with argument rules runs the workload', async () => {
    const seen: unknown[] = [];
    for (const backend of ['ebpf', 'strace'] as const) {
      const scratch = tempDir(`args-${backend}-`, dir);
      const r = await record({
        backend,
        arch: x86_64,
        args: true,
        command: [join(dir, 'workload'), scratch],
      });
      const s = r.recording.syscalls.x86_64!;
      expect(s.socketpair!.args).toEqual({ '0': { '1': 1 }, '1': { '1': 1 } }); // AF_UNIX, SOCK_STREAM
      expect(s.kill!.args).toEqual({ '1': { '10': 1 } }); // SIGUSR1
      expect(s.personality!.args).toEqual({ '0': { '4294967295': 1 } });
      expect(s.mprotect!.args!['2']!['1']).toBeGreaterThanOrEqual(1); // PROT_READ (the workload, glibc)
      seen.push(
        Object.fromEntries(
          Object.entries(s)
            .filter(([, v]) => v.args)
            .map(([n, v]) => [n, v.args]),
        ),
      );
      const g = generate([r.recording], { args: true });
      expect(g.argRules.map((a) => a.name)).toEqual(
        expect.arrayContaining(['kill', 'socketpair', 'prctl', 'fcntl']),
      );
      const filter = encode(compile(g.profile, { nativeArch: 'x86_64' }).instructions);
      const again = tempDir(`args-run-${backend}-`, dir);
      const exit = await runUnderFilter({ filter, command: [join(dir, 'workload'), again], stdio: 'ignore' });
      expect(exit).toEqual({ code: 0, signal: null });
    }
    // the two backends saw the same values, as many times
    expect(seen[0]).toEqual(seen[1]);
  });

  it('--backend ebpf without privileges fails with the reasons; auto falls back to strace and says why', async () => {
    const asNobody = (backend: string) =>
      run('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'node',
        BIN,
        'record',
        '--backend',
        backend,
        '--',
        'true',
      ]);
    const e = await asNobody('ebpf');
    expect(e.status).toBe(2);
    expect(e.stderr).toContain(
      'error[ebpf-unavailable]: the eBPF backend cannot run here: eBPF needs root (or CAP_BPF + CAP_PERFMON)',
    );
    const a = await asNobody('auto');
    expect(a.status).toBe(0);
    expect(a.stderr).toContain(
      'sysfence: recording with strace (ptrace): eBPF is not available: eBPF needs root',
    );
  });

  it('Ctrl-C: the workload gets it, the recording is still written, nothing is left behind', async () => {
    const out = join(dir, 'interrupted.json');
    // everything this sysfence starts carries the mark in its environment: only those are looked at
    const mark = randomUUID();
    const child = startSysfence(['record', '--backend', 'ebpf', '--recording', out, '--', 'sleep', '3600'], {
      stdout: 'ignore',
      env: { SYSFENCE_TEST_MARK: mark },
    });
    // once this recording's `sleep 3600` runs (after the tracer attached and the workload was let go)
    await until('the workload', () => marked(mark).some((p) => comm(p) === 'sleep'), 20_000);
    // as a terminal does: SIGINT to the whole foreground process group (sysfence and the workload)
    child.signal('SIGINT', true);
    const status = (await child.exit).code;
    expect(status).toBe(130); // sleep's death by SIGINT, passed through
    const rec = JSON.parse(readFileSync(out, 'utf8')) as Recording;
    expect(Object.keys(rec.syscalls.x86_64!)).toContain('execve');
    const left = readdirSync(findCgroup2()!).filter((d) => d.startsWith(`sysfence-${child.pid}-`));
    expect(left).toEqual([]);
    // no tracer, loader or workload of this recording is left
    expect(marked(mark).map((p) => `${p} ${comm(p)}`)).toEqual([]);
  });
});
