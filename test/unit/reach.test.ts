// Static reach, piece by piece, with exact expectations: the ELF reader's coded errors on damaged
// bytes, the loader's own answer (ld.so --list) as the oracle of which modules a program loads,
// crafted programs whose system calls are known by construction, the image tar reader, rule
// provenance, and generate with predicted calls (the risk list, the audited rule, sharper families).
import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { reachOfRecordings, relativePrograms } from '../../src/cli/static-reach.js';
import { ElfError, parseElf } from '../../src/elf/reader.js';
import { TarReader } from '../../src/exec/image-files.js';
import { HostFiles, type MemoryEntry, MemoryFiles } from '../../src/exec/rootfs.js';
import { generate } from '../../src/profile/generate.js';
import {
  parseProvenanceComment,
  profileProvenance,
  provenanceComment,
} from '../../src/profile/provenance.js';
import { referenceProfile } from '../../src/profile/reference-profiles.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { newCache } from '../../src/reach/cache.js';
import { reachProgram } from '../../src/reach/program.js';
import { parseRecording } from '../../src/recording/parse-recording.js';
import {
  HOST_ROOT,
  placePrograms,
  RecordingBuilder,
  serializeRecording,
} from '../../src/recording/recording.js';
import { diffProfiles, formatDiffText } from '../../src/review/diff.js';
import { lintProfile } from '../../src/review/lint/index.js';
import { buildReport } from '../../src/review/report.js';
import { run, sysfence, tempDir } from '../helpers/proc.js';
import { haveTool } from '../helpers/tools.js';

const x64 = process.arch === 'x64';
const LOADER = '/lib64/ld-linux-x86-64.so.2';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof ElfError ? `${e.code}` : `not an ElfError: ${String(e)}`;
  }
  return 'no error';
}

describe('the ELF reader', () => {
  it('names damaged input with a code', () => {
    const real = readFileSync('/bin/true');
    expect(code(() => parseElf(new Uint8Array([1, 2, 3, 4, 5, 6]), 'x'))).toBe('elf-bad-magic');
    const badClass = Uint8Array.from(real.subarray(0, 64));
    badClass[4] = 9;
    expect(code(() => parseElf(badClass, 'x'))).toBe('elf-bad-class');
    // the header says where its program headers are; cut the file before them
    expect(code(() => parseElf(Uint8Array.from(real.subarray(0, 63)), 'x'))).toBe('elf-truncated');
    const shortTable = Uint8Array.from(real);
    shortTable[0x36] = 8; // e_phentsize smaller than a program header
    expect(code(() => parseElf(shortTable, 'x'))).toBe('elf-bad-header');
  });

  it.skipIf(!x64)('reads the facts the loader reads: machine, type, DT_NEEDED', async () => {
    const elf = parseElf(readFileSync('/usr/bin/tar'), '/usr/bin/tar');
    expect([elf.machine, elf.bits, elf.type]).toEqual([62, 64, 3]);
    const needed = (await run(LOADER, ['--list', '/usr/bin/tar'])).stdout;
    // every direct need is in the loader's list (which holds the whole closure)
    expect(elf.needed.length).toBeGreaterThan(0);
    for (const n of elf.needed) expect(needed).toContain(`${n} =>`);
  });
});

/**
 * Reach of a real program through the CLI, in a child process: decoding python3's libraries takes
 * seconds of CPU that must not block the test worker. One cache directory per file: libc once.
 */
const reachCacheDir = tempDir('sysfence-reach-cache-');
async function reachJson(program: string): Promise<{
  modules: { path: string; loadedBecause?: string }[];
  calls: { name: string; chain: string[] }[];
  unresolved: unknown[];
  missing: unknown[];
}> {
  const r = await sysfence(['reach', program, '--json'], { env: { SYSFENCE_CACHE_DIR: reachCacheDir } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe.skipIf(!x64)('reach: the modules a program loads are the loader’s', () => {
  for (const program of [
    '/usr/bin/tar',
    '/usr/bin/ls',
    '/usr/bin/sqlite3',
    '/usr/bin/python3',
    '/usr/bin/git',
  ]) {
    it.skipIf(!haveTool(program, ['--version']))(`${program}: the same files as ld.so --list`, async () => {
      const listed = (await run(LOADER, ['--list', program])).stdout;
      const want = [...listed.matchAll(/=> (\/\S+)/g), ...listed.matchAll(/^\s+(\/\S+) \(/gm)]
        .map((m) => realpathSync(m[1] as string))
        .sort();
      const r = await reachJson(program);
      // (modules loaded at run time, NSS and dlopen'd ones, are not the loader's start-up list)
      const got = r.modules
        .slice(1)
        .filter((m) => m.loadedBecause === undefined)
        .map((m) => realpathSync(m.path))
        .sort();
      expect(got).toEqual([...new Set(want)]);
      expect(r.missing).toEqual([]);
    });
  }
});

describe.skipIf(!x64 || !haveTool('gcc', ['--version']))('reach of crafted programs', () => {
  /** A static program without libc: its system calls are exactly those the source makes. */
  async function build(source: string): Promise<string> {
    const d = tempDir('sysfence-reach-unit-');
    writeFileSync(join(d, 'p.c'), source);
    const r = await run('gcc', [
      '-O1',
      '-static',
      '-nostdlib',
      '-fno-pie',
      '-no-pie',
      '-o',
      join(d, 'p'),
      join(d, 'p.c'),
    ]);
    expect(r.status, r.stderr).toBe(0);
    return join(d, 'p');
  }
  const WRAPPER = `
static long sys(long n, long a) {
  long r;
  __asm__ volatile ("syscall" : "=a"(r) : "a"(n), "D"(a) : "rcx", "r11", "memory");
  return r;
}
`;

  it('numbers through a wrapper, a table of function pointers, and code no one calls', async () => {
    const p = await build(`${WRAPPER}
__attribute__((noinline)) static long one(long x) { return sys(39, x); }   /* getpid */
__attribute__((noinline)) static long two(long x) { return sys(102, x); }  /* getuid */
__attribute__((noinline)) long never(long x) { return sys(165, x); }       /* mount: never called */
static long (*const table[])(long) = { one, two };
void _start(void) {
  volatile int i = 1;
  table[i](0);
  sys(60, 0);                                                           /* exit */
  for (;;) {}
}
`);
    const r = reachProgram(p, { fs: new HostFiles('/'), cache: newCache() });
    expect(r.calls.map((c) => c.name).sort()).toEqual(['exit', 'getpid', 'getuid']);
    expect(r.unresolved).toEqual([]);
    expect(r.calls.find((c) => c.name === 'getuid')?.chain).toEqual([`${p}: entry`]);
    // a static program maps no shared object: a library a recording says its process opened (the
    // shell's libc, before the exec) is not one of its modules
    const withLoaded = reachProgram(p, {
      fs: new HostFiles('/'),
      cache: newCache(),
      loaded: [realpathSync('/lib/x86_64-linux-gnu/libc.so.6')],
    });
    expect([withLoaded.modules.length, withLoaded.calls.length]).toEqual([1, 3]);
  });

  /** A static program from assembly (the shapes compilers make, written out). */
  async function assemble(source: string): Promise<string> {
    const d = tempDir('sysfence-reach-asm-');
    writeFileSync(join(d, 'p.S'), source);
    const r = await run('gcc', ['-static', '-nostdlib', '-no-pie', '-o', join(d, 'p'), join(d, 'p.S')]);
    expect(r.status, r.stderr).toBe(0);
    return join(d, 'p');
  }

  it('a call that never returns ends its path; a conditional jump out is a tail call', async () => {
    // r9 holds the number through the loop (as GCC keeps it when it knows the callee leaves r9
    // alone); the only path that clobbers it goes through die, which never returns. other is
    // reached only by a conditional jump
    const p = await assemble(`
        .text
        .globl _start
        .type _start, @function
_start:
        mov $39, %r9d           # getpid
        xor %ecx, %ecx
1:      mov %r9d, %eax
        syscall
        inc %ecx
        cmp $7, %ecx
        je other
        cmp $3, %ecx
        jne 2f
        call die
2:      cmp $5, %ecx
        jne 1b
        mov $60, %eax
        xor %edi, %edi
        syscall
        .size _start, .-_start
        .type die, @function
die:    mov $231, %eax
        mov $1, %edi
        syscall
        hlt
        .size die, .-die
        .type other, @function
other:  mov $102, %eax          # getuid
        syscall
        hlt
        .size other, .-other
`);
    const r = reachProgram(p, { fs: new HostFiles('/'), cache: newCache() });
    expect(r.calls.map((c) => c.name).sort()).toEqual(['exit', 'exit_group', 'getpid', 'getuid']);
    expect(r.unresolved).toEqual([]);
  });

  it('numbers passed on the stack (Go ABI0): through a frame, a shim and a jump trampoline', async () => {
    // shim reads its argument past its own 0x40-byte frame, as Go's ABI0 shims do; tramp is an
    // assembly `JMP shim` (x/sys/unix's Syscall): its caller's stack slots are shim's
    const p = await assemble(`
        .text
        .globl _start
        .type _start, @function
_start: sub $0x18, %rsp
        movq $39, (%rsp)        # getpid
        call shim
        movq $102, (%rsp)       # getuid
        call tramp
        mov $60, %eax
        xor %edi, %edi
        syscall
        hlt
        .size _start, .-_start
        .type shim, @function
shim:   sub $0x40, %rsp
        mov 0x48(%rsp), %rax
        syscall
        add $0x40, %rsp
        ret
        .size shim, .-shim
        .type tramp, @function
tramp:  jmp shim
        .size tramp, .-tramp
`);
    const r = reachProgram(p, { fs: new HostFiles('/'), cache: newCache() });
    expect(r.calls.map((c) => c.name).sort()).toEqual(['exit', 'getpid', 'getuid']);
    expect(r.unresolved).toEqual([]);
  });

  it('a number the code cannot know is said, with where', async () => {
    const p = await build(`${WRAPPER}
void _start(void) {
  volatile long n = 39;
  sys(n, 0);
  sys(60, 0);
  for (;;) {}
}
`);
    const r = reachProgram(p, { fs: new HostFiles('/'), cache: newCache() });
    expect(r.calls.map((c) => c.name)).toEqual(['exit']);
    expect(r.unresolved).toHaveLength(1);
    expect(r.unresolved[0]!.module).toBe(p);
  });
});

describe.skipIf(!x64 || !haveTool('gcc', ['--version']))('reach through a library', () => {
  it("a local function's pass-through to syscall() makes no unknown site: it sets the number itself", async () => {
    // mypid passes its own argument on and sets the number: api's call of mypid gives syscall()
    // only that argument (unknown here), never the number
    const d = tempDir('sysfence-reach-lib-');
    writeFileSync(
      join(d, 'lib.c'),
      `#include <unistd.h>
#include <stdlib.h>
#include <sys/syscall.h>
__attribute__((noinline)) static long mypid(long a) { return syscall(SYS_sched_rr_get_interval, a, 0); }
long api(void) { return mypid(random()); }
`,
    );
    writeFileSync(join(d, 'main.c'), 'long api(void);\nint main(void) { return (int)api(); }\n');
    const lib = await run('gcc', ['-O2', '-shared', '-fPIC', '-o', join(d, 'libapi.so'), join(d, 'lib.c')]);
    expect(lib.status, lib.stderr).toBe(0);
    const exe = await run('gcc', [
      '-O2',
      '-o',
      join(d, 'main'),
      join(d, 'main.c'),
      `-L${d}`,
      '-lapi',
      '-Wl,-rpath,$ORIGIN',
    ]);
    expect(exe.status, exe.stderr).toBe(0);
    const r = reachProgram(join(d, 'main'), { fs: new HostFiles('/'), cache: newCache() });
    const call = r.calls.find((c) => c.name === 'sched_rr_get_interval');
    expect(call?.chain.slice(-2)).toEqual([
      `${join(d, 'main')} imports api from libapi.so`,
      'libapi.so calls syscall(148)',
    ]);
    expect(r.unresolved.filter((u) => u.module.endsWith('libapi.so'))).toEqual([]);
  });
});

describe.skipIf(!x64)("glibc's own shapes", () => {
  it("Debian 12's glibc leaves no site unknown for tar and git (the set*id broadcast, the loader's lock wait)", async () => {
    for (const p of ['/usr/bin/tar', '/usr/bin/git']) {
      const r = await reachJson(p);
      expect([p, r.unresolved]).toEqual([p, []]);
    }
    const git = await reachJson('/usr/bin/git');
    const names = git.calls.map((c) => c.name);
    for (const n of ['setuid', 'setgid', 'setreuid', 'setregid', 'setresuid', 'setresgid', 'setgroups'])
      expect(names).toContain(n);
  });
});

describe.skipIf(!x64)('results kept by the key of their inputs', () => {
  it('a second reach reads no table; a library placed first on the search path is another key', () => {
    const host = new HostFiles('/');
    const file = (p: string): [string, MemoryEntry] => [p, { data: host.read(p) as Uint8Array }];
    const entries = new Map<string, MemoryEntry>([
      file('/usr/bin/true'),
      file('/lib/x86_64-linux-gnu/libc.so.6'),
      file(LOADER),
    ]);
    const fs = new MemoryFiles('test image', entries);
    const dir = tempDir('sysfence-reach-cache-');
    const first = newCache(dir);
    const r1 = reachProgram('/usr/bin/true', { fs, cache: first });
    expect([first.computed, first.loaded]).toEqual([3, 0]);
    // another process with the same cache directory: the result is read, no table is
    const second = newCache(dir);
    expect(reachProgram('/usr/bin/true', { fs, cache: second })).toEqual(r1);
    expect([second.computed, second.loaded]).toEqual([0, 0]);
    // ld.so.conf names a directory searched first, holding another libc.so.6 (libm's bytes): the
    // loader would load that one, so the kept result is not it
    entries.set('/etc/ld.so.conf', { data: Buffer.from('/opt/lib\n') });
    entries.set('/opt/lib/libc.so.6', { data: host.read('/lib/x86_64-linux-gnu/libm.so.6') as Uint8Array });
    const third = newCache(dir);
    const r3 = reachProgram('/usr/bin/true', { fs: new MemoryFiles('test image', entries), cache: third });
    expect(r3.modules.map((m) => m.path)).toEqual(['/usr/bin/true', '/opt/lib/libc.so.6', LOADER]);
    expect([third.computed, third.loaded]).toEqual([1, 2]);
  });
});

describe('programs a recording names', () => {
  it.skipIf(!x64)(
    "each program is analysed with the shared objects its own processes loaded, not another's",
    async () => {
      process.env.SYSFENCE_CACHE_DIR ??= tempDir('sysfence-reach-cache-');
      const b = new RecordingBuilder();
      b.source('test', 'unit');
      b.call('x86_64', 'exit_group', { pid: 1, executable: '/usr/bin/true' });
      b.call('x86_64', 'exit_group', { pid: 2, executable: '/usr/bin/echo' });
      b.loaded('/usr/bin/true', realpathSync('/lib/x86_64-linux-gnu/libm.so.6'));
      const rec = b.build();
      placePrograms(rec, HOST_ROOT);
      const r = await reachOfRecordings([rec], 'log');
      const modules = (p: string) =>
        r.reaches.find((x) => x.program === p)?.modules.map((m) => m.soname ?? m.path);
      expect(modules('/usr/bin/true')).toContain('libm.so.6');
      expect(modules('/usr/bin/echo')).not.toContain('libm.so.6');
    },
  );

  it('a relative exec name is placed where the command started, or said to be unknown', () => {
    const b = new RecordingBuilder();
    b.source('test', 'unit');
    b.call('x86_64', 'execve', { pid: 1, executable: '/usr/bin/sh' });
    b.call('x86_64', 'open', { pid: 2, executable: './tool' });
    const unplaced = b.build();
    placePrograms(unplaced, HOST_ROOT);
    expect(unplaced.programs).toEqual([{ path: '/usr/bin/sh', root: 'host' }]);
    expect(relativePrograms([unplaced])).toEqual(['./tool']);
    const placed = b.build();
    placePrograms(placed, HOST_ROOT, (name) => (name === './tool' ? '/work/tool' : undefined));
    expect(placed.programs).toEqual([
      { path: '/usr/bin/sh', root: 'host' },
      { path: '/work/tool', root: 'host', ranAs: './tool' },
    ]);
    expect(relativePrograms([placed])).toEqual([]);
    // kept through the file, and a bad one is named with where
    const back = parseRecording(serializeRecording(placed), 'r.json');
    expect(back.programs).toEqual(placed.programs);
    const bad = JSON.parse(serializeRecording(placed));
    bad.programs[1].ranAs = '/abs';
    let where = '';
    try {
      parseRecording(JSON.stringify(bad), 'r.json');
    } catch (e) {
      where = String((e as { location?: string }).location);
    }
    expect(where).toBe('$.programs[1].ranAs');
  });
});

describe('reading an image (tar stream)', () => {
  it('keeps ELF files, links and loader configuration, across any chunking; skips the rest', async () => {
    const d = tempDir('sysfence-tar-');
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}`;
    for (const sub of [join('usr', 'bin'), 'etc', long]) mkdirSync(join(d, 'root', sub), { recursive: true });
    writeFileSync(join(d, 'root', 'usr', 'bin', 'true'), readFileSync('/bin/true'));
    writeFileSync(join(d, 'root', long, 'prog'), readFileSync('/bin/true'));
    writeFileSync(join(d, 'root', 'etc', 'ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
    writeFileSync(join(d, 'root', 'etc', 'motd'), 'hello\n');
    symlinkSync('/usr/bin/true', join(d, 'root', 'usr', 'bin', 'link'));
    for (const format of ['gnu', 'pax']) {
      const tar = (
        await run('tar', ['-c', `--format=${format}`, '-C', join(d, 'root'), '.'], { encoding: 'buffer' })
      ).stdout;
      for (const chunk of [7, 512, 65536]) {
        const t = new TarReader('test');
        for (let o = 0; o < tar.length; o += chunk) t.push(tar.subarray(o, o + chunk));
        const bytes = (p: string) => t.entries.get(p)?.data?.length;
        expect([bytes('/usr/bin/true'), bytes(`/${long}/prog`)]).toEqual([
          readFileSync('/bin/true').length,
          readFileSync('/bin/true').length,
        ]);
        expect(new TextDecoder().decode(t.entries.get('/etc/ld.so.conf')?.data)).toBe(
          'include /etc/ld.so.conf.d/*.conf\n',
        );
        expect(t.entries.get('/etc/motd')?.data).toBeUndefined();
        expect(t.entries.get('/usr/bin/link')?.link).toBe('/usr/bin/true');
      }
    }
  });
});

describe('provenance and predicted calls', () => {
  it('a rule comment says why each call is there, and reads back', () => {
    const entries = new Map([
      ['ftruncate', { kind: 'predicted' as const, why: '/usr/bin/tar imports ftruncate from libc.so.6' }],
      ['pwrite64', { kind: 'family' as const, why: 'of write' }],
      ['exit', { kind: 'implied' as const }],
      ['read', { kind: 'recorded' as const }],
    ]);
    const c = provenanceComment(entries);
    expect(c).toBe(
      'sysfence: implied: exit; family: pwrite64 (of write); predicted: ftruncate (/usr/bin/tar imports ftruncate from libc.so.6)',
    );
    const back = parseProvenanceComment(c);
    expect(back?.get('ftruncate')).toEqual(entries.get('ftruncate'));
    expect(back?.get('exit')).toEqual({ kind: 'implied' });
    expect(back?.has('read')).toBe(false);
  });

  it('predicted calls get their own audited rule; risky ones stay denied; families get sharper', () => {
    const b = new RecordingBuilder();
    b.source('test', 'unit');
    for (const n of ['read', 'write', 'exit_group', 'openat', 'close'])
      b.call('x86_64', n, { pid: 1, executable: '/bin/app' });
    const predicted = {
      byAbi: new Map([
        [
          'x86_64' as const,
          new Map([
            ['read', 'recorded anyway'],
            ['ftruncate', '/bin/app imports ftruncate from libc.so.6'],
            ['mount', '/bin/app imports mount from libc.so.6'],
            ['writev', '/bin/app imports writev from libc.so.6'],
          ]),
        ],
      ]),
      action: 'log' as const,
      complete: true,
    };
    const g = generate([b.build()], { predicted });
    expect(g.prediction.calls.map((c) => [c.name, c.action])).toEqual([['ftruncate', 'log']]);
    expect(g.prediction.risky.map((c) => c.name)).toEqual(['mount']);
    const rules = g.profile.syscalls ?? [];
    const log = rules.filter((r) => r.action === 'SCMP_ACT_LOG' && r.names?.includes('ftruncate'));
    expect(log).toHaveLength(1);
    expect(rules.some((r) => r.names?.includes('mount') && r.action !== 'SCMP_ACT_ERRNO')).toBe(false);
    // write's family: writev is reachable (kept), pwrite64 is not (left out); a kept sibling is a
    // guess like a prediction: in the audited rule, with its provenance
    const allowed = new Set(rules.filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names ?? []));
    const logged = new Set(rules.filter((r) => r.action === 'SCMP_ACT_LOG').flatMap((r) => r.names ?? []));
    expect([
      allowed.has('writev'),
      logged.has('writev'),
      allowed.has('pwrite64'),
      logged.has('pwrite64'),
    ]).toEqual([false, true, false, false]);
    expect(g.prediction.unreachableSiblings.map((f) => f.name)).toContain('pwrite64');
    expect(profileProvenance(g.profile).get('writev')).toEqual({ kind: 'family', why: 'of write' });
    // allowed without audit: what was recorded and what it implies, nothing guessed
    expect([...allowed].sort()).toEqual(['close', 'exit', 'exit_group', 'openat', 'read', 'write']);
    // with --predicted allow, siblings are allowed as without reach
    const open =
      generate([b.build()], { predicted: { ...predicted, action: 'allow' } }).profile.syscalls ?? [];
    expect(open.some((r) => r.action === 'SCMP_ACT_ALLOW' && r.names?.includes('writev'))).toBe(true);
    const prov = profileProvenance(g.profile);
    expect(prov.get('ftruncate')).toEqual({
      kind: 'predicted',
      why: '/bin/app imports ftruncate from libc.so.6',
    });
    expect(prov.get('read')).toEqual({ kind: 'recorded' });
    // the same input, the same bytes
    expect(JSON.stringify(generate([b.build()], { predicted }).profile)).toBe(JSON.stringify(g.profile));
  });
});

describe('provenance in review: lint, diff, explain; drift against a profile', () => {
  function predictedProfile() {
    const b = new RecordingBuilder();
    b.source('test', 'unit');
    for (const n of ['read', 'write', 'exit_group']) b.call('x86_64', n, { pid: 1, executable: '/bin/app' });
    const predicted = {
      byAbi: new Map([
        ['x86_64' as const, new Map([['ftruncate', '/bin/app imports ftruncate from libc.so.6']])],
      ]),
      action: 'log' as const,
      complete: false,
    };
    return {
      withReach: generate([b.build()], { predicted }).profile,
      without: generate([b.build()]).profile,
    };
  }

  it('lint names the calls allowed on prediction alone', () => {
    const { withReach, without } = predictedProfile();
    const f = lintProfile(withReach).filter((x) => x.code === 'predicted-calls');
    expect(f.map((x) => [x.severity, x.message])).toEqual([
      [
        'info',
        '1 call allowed on static reach alone (ftruncate): no recorded run made it; each use is logged by the kernel (SCMP_ACT_LOG)',
      ],
    ]);
    expect(lintProfile(without).filter((x) => x.code === 'predicted-calls')).toEqual([]);
  });

  it('diff says why a newly allowed call is allowed', () => {
    const { withReach, without } = predictedProfile();
    const d = diffProfiles(without, withReach);
    const c = d.changes.find((x) => x.name === 'ftruncate' && x.arch === 'x86_64');
    expect(c?.allowsMore).toBe(true);
    expect(c?.why).toBe('predicted (/bin/app imports ftruncate from libc.so.6)');
    expect(formatDiffText(d)).toContain(
      '      ftruncate: predicted (/bin/app imports ftruncate from libc.so.6)\n',
    );
  });

  it('report: each allowed call says why; explain lists the provenance', async () => {
    const { withReach } = predictedProfile();
    const data = buildReport({
      title: 't',
      profile: withReach,
      recordings: [],
      baselineName: 'docker-default',
      baseline: referenceProfile('docker-default'),
    });
    const why = new Map(data.calls.map((c) => [c.name, c.why]));
    expect(why.get('ftruncate')).toBe('predicted: /bin/app imports ftruncate from libc.so.6');
    expect(why.get('read')).toBe('recorded');
    expect(why.get('exit')).toBe('implied: every thread ends with it');
    const d = tempDir('sysfence-explain-');
    writeFileSync(join(d, 'p.json'), serializeDocker(withReach));
    const r = await sysfence(['explain', join(d, 'p.json')]);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('  why each call is there'));
    expect(lines[at]).toBe(
      '  why each call is there (the rule comments): 3 recorded, 1 implied, 6 family, 1 predicted',
    );
    expect(lines).toContain('    predicted ftruncate            /bin/app imports ftruncate from libc.so.6');
    const j = JSON.parse((await sysfence(['explain', join(d, 'p.json'), '--json'])).stdout);
    expect(j.provenance.ftruncate).toEqual({
      kind: 'predicted',
      why: '/bin/app imports ftruncate from libc.so.6',
    });
  });

  it.skipIf(!x64)(
    'reach --profile: the calls a program can make that the profile does not allow, exit 1',
    async () => {
      const d = tempDir('sysfence-drift-');
      const p = join(d, 'p.json');
      writeFileSync(
        p,
        JSON.stringify({
          defaultAction: 'SCMP_ACT_ERRNO',
          architectures: ['SCMP_ARCH_X86_64'],
          syscalls: [{ names: ['read', 'write', 'exit_group'], action: 'SCMP_ACT_ALLOW' }],
        }),
      );
      const r = await sysfence(['reach', '/bin/true', '--profile', p, '--json']);
      expect(r.status).toBe(1);
      const j = JSON.parse(r.stdout) as {
        programs: { calls: { name: string }[] }[];
        drift: { name: string }[];
      };
      const reached = j.programs[0]!.calls.map((c) => c.name).filter(
        (n) => !['read', 'write', 'exit_group'].includes(n),
      );
      expect(j.drift.map((x) => x.name).sort()).toEqual(reached.sort());
      const text = await sysfence(['reach', '/bin/true', '--profile', p]);
      expect(text.stdout).toContain(
        `drift: ${reached.length} calls the programs can make that ${p} does not allow`,
      );
    },
  );
});
