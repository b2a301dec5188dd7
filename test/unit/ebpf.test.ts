// sysfence's eBPF pieces without a kernel: the assembler's exact encoding, the BTF reader, the
// loader's input lines, and the recorder program (deterministic, per ABI). Loading and running
// them is tested live (test/live/record.test.ts: the completeness suite with every backend).
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { Asm, FP, R0, R1, R2, R6 } from '../../src/ebpf/asm.js';
import { parseBtf } from '../../src/ebpf/btf.js';
import { bpfObjectLines } from '../../src/ebpf/lines.js';
import { SLOT } from '../../src/recorders/ebpf-layout.js';
import { decodeBpftrace, fill } from '../../src/recorders/ebpf-maps.js';
import { recorderProgram } from '../../src/recorders/ebpf-program.js';
import { decodeMaps } from '../../src/recorders/ebpf-tracer.js';
import { emptyResult } from '../../src/recorders/recorder-result.js';
import { RecordingBuilder } from '../../src/recording/recording.js';
import { requirement } from '../helpers/tools.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').match(/.{16}/g);

describe('eBPF assembler', () => {
  it('encodes as the kernel reads: registers, offsets, 64-bit loads, jumps, map loads', () => {
    const a = new Asm()
      .mov(R6, R1)
      .ld64(R1, 0x1122334455667788n)
      .jX('jne', R0, R1, 'out')
      .st(4, FP, -4, 7)
      .ldMap(R1, 'counts')
      .ldx(8, R2, R6, 8)
      .label('out')
      .movK(R0, 0)
      .exit()
      .assemble();
    expect(hex(a.bytes)).toEqual([
      'bf16000000000000', // mov r6, r1
      '1801000088776655', // ld_imm64 r1, low half
      '0000000044332211', //           high half
      '5d10040000000000', // jne r0, r1, +4 (over 5 slots: st, ld_imm64 x2, ldx)
      '620afcff07000000', // *(u32 *)(r10 - 4) = 7
      '1801000000000000', // ld_imm64 r1, map (relocated by the loader)
      '0000000000000000',
      '7962080000000000', // r2 = *(u64 *)(r6 + 8)
      'b700000000000000', // r0 = 0
      '9500000000000000', // exit
    ]);
    expect(a.relocations).toEqual([{ offset: 40, map: 'counts' }]);
    expect(() => new Asm().ja('nowhere').assemble()).toThrow('jump to unknown label nowhere');
  });

  it('the loader gets each map and program as a line, map loads by index', () => {
    const code = new Asm().ldMap(R1, 'b').ret0().assemble();
    expect(
      bpfObjectLines({
        maps: [
          { name: 'a', type: 2, keySize: 4, valueSize: 8, maxEntries: 4 },
          { name: 'b', type: 1, keySize: 8, valueSize: 4, maxEntries: 16, flags: 1 },
        ],
        programs: [{ name: 'p', attach: 'raw:sys_enter', code }],
      }),
    ).toEqual([
      'map 2 4 8 4 0 a',
      'map 1 8 4 16 1 b',
      'prog 17 raw:sys_enter p 18010000000000000000000000000000b7000000000000009500000000000000 0=1',
    ]);
  });
});

/** A BTF blob: int, a struct `s` {int a; union {int b; int c;}}, named as given. */
function tinyBtf(): Buffer {
  const strings = Buffer.from('\0int\0s\0a\0b\0c\0');
  const at = (s: string) => strings.indexOf(Buffer.from(`\0${s}\0`)) + 1;
  const words = [
    // [1] int
    at('int'),
    (1 << 24) >>> 0,
    4,
    (1 << 24) | 32,
    // [2] union { int b; int c; } (anonymous)
    0,
    ((5 << 24) | 2) >>> 0,
    4,
    at('b'),
    1,
    0,
    at('c'),
    1,
    0,
    // [3] struct s { int a; union at byte 8 }
    at('s'),
    ((4 << 24) | 2) >>> 0,
    12,
    at('a'),
    1,
    0,
    0,
    2,
    64,
  ];
  const types = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => {
    types.writeUInt32LE(w >>> 0, i * 4);
  });
  const h = Buffer.alloc(24);
  h.writeUInt16LE(0xeb9f, 0);
  h.writeUInt8(1, 2);
  h.writeUInt32LE(24, 4);
  h.writeUInt32LE(0, 8);
  h.writeUInt32LE(types.length, 12);
  h.writeUInt32LE(types.length, 16);
  h.writeUInt32LE(strings.length, 20);
  return Buffer.concat([h, types, strings]);
}

describe('BTF reader', () => {
  it('finds members, also inside anonymous unions', () => {
    const btf = parseBtf(tinyBtf());
    expect([btf.memberOffset('s', 'a'), btf.memberOffset('s', 'b'), btf.memberOffset('s', 'c')]).toEqual([
      0, 8, 8,
    ]);
    expect([btf.memberOffset('s', 'zz'), btf.memberOffset('t', 'a')]).toEqual([undefined, undefined]);
    expect(() => parseBtf(Buffer.from('not btf at all, not at all'))).toThrow('not BTF');
  });

  // the recorder needs the kernel's BTF: in CI a kernel without it is a failure, elsewhere a skip
  it.skipIf(
    requirement(existsSync('/sys/kernel/btf/vmlinux'), "the kernel's BTF (/sys/kernel/btf/vmlinux)") !==
      undefined,
  )('reads the running kernel: task_struct.pid sits just before tgid', () => {
    const btf = parseBtf(readFileSync('/sys/kernel/btf/vmlinux'));
    const pid = btf.memberOffset('task_struct', 'pid');
    expect(btf.memberOffset('task_struct', 'tgid')).toBe((pid ?? -100) + 4);
    expect(btf.memberOffset('linux_binprm', 'filename')).toBeGreaterThan(0);
  });
});

// sys_enter with `loads` (two zeroed 264-byte keys and eight suffix tests: open and openat only)
const LOADS_X86 = 389;

describe('the recorder program', () => {
  const layout = { taskPid: 1264, binprmFilename: 96, exitGroupDead: true };
  const options = (arch: string, afterExec: boolean, args: boolean) => ({
    arch: findArch(arch)!,
    cgroupId: 4242n,
    afterExec,
    reexecPrefixes: ['/dev/fd/', '/proc/self/'],
    args,
    mapKeys: 65536,
    layout,
  });
  const make = (arch: string, afterExec: boolean, args: boolean) =>
    recorderProgram(options(arch, afterExec, args));

  it('is the same bytes for the same input, and raw tracepoints only', () => {
    const a = make('x86_64', true, true);
    const b = make('x86_64', true, true);
    expect(bpfObjectLines(a)).toEqual(bpfObjectLines(b));
    expect(a.programs.map((p) => p.attach)).toEqual([
      'raw:sys_enter',
      'raw:sched_process_exec',
      'raw:sched_process_fork',
      'raw:sched_process_exit',
    ]);
    expect(a.maps.map((m) => `${m.name}:${m.maxEntries}`)).toEqual([
      'counts:8192',
      'procs:65536',
      'pairs:65536',
      'execs:65536',
      'parents:65536',
      'other:65536',
      'errors:10',
      'scratch:1',
      'args:65536',
      'threads:65536',
      'denied:65536',
      'scopes:1',
      'next:1',
      'loads:65536',
    ]);
  });

  it('the hot path is short; containers and --args add only what they need', () => {
    const size = (arch: string, afterExec: boolean, args: boolean) =>
      make(arch, afterExec, args).programs.map((p) => p.code.instructions);
    const plain = size('x86_64', false, false);
    expect(plain[0]).toBe(size('x86_64', true, false)[0]); // containers change exec only
    expect(size('x86_64', true, false)[1]).toBeGreaterThan(plain[1]!);
    expect(size('x86_64', false, true)[0]).toBeGreaterThan(plain[0]!);
    // aarch64 has no x32: its sys_enter is shorter by the x32 slot bit (4 instructions)
    expect(size('aarch64', false, false)[0]).toBe(plain[0]! - 4);
    // exact sizes (instruction slots, all paths): a change to the program shows here
    expect(plain).toEqual([177, 104, 73, 23]);
    expect(size('x86_64', true, true)).toEqual([1384, 129, 73, 23]);
    // run (denials, calls under the new filter): a sys_exit program, and more on sys_enter
    const run = recorderProgram({
      ...options('x86_64', false, false),
      layout: { ...layout, seccompFilterCount: 3000 },
      denials: true,
      underFiltersAbove: 0,
    });
    expect(run.programs.map((p) => `${p.attach} ${p.code.instructions}`)).toEqual([
      'raw:sys_enter 219',
      'raw:sched_process_exec 104',
      'raw:sched_process_fork 92',
      'raw:sched_process_exit 28',
      'raw:sys_exit 81',
    ]);
    // shared objects opened (host commands): open/openat only, after the count
    const loads = recorderProgram({ ...options('x86_64', false, false), loads: true });
    expect(loads.programs.map((p) => p.code.instructions)).toEqual([LOADS_X86, 104, 73, 23]);
    // several containers: the scope test is an ancestor's id, and each cgroup gets an index
    const app = recorderProgram({ ...options('x86_64', true, false), under: { id: 5n, level: 1, max: 32 } });
    expect(app.programs.map((p) => p.code.instructions)).toEqual([240, 130, 74, 24]);
    expect(app.maps.filter((m) => ['counts', 'scopes'].includes(m.name)).map((m) => m.maxEntries)).toEqual([
      8192 * 32,
      32,
    ]);
  });
});

describe('decoding the maps (no kernel needed)', () => {
  const x86_64 = findArch('x86_64')!;
  const le = (v: number | bigint, bytes: number) => {
    let x = BigInt(v);
    let out = '';
    for (let i = 0; i < bytes; i++) {
      out += (x & 0xffn).toString(16).padStart(2, '0');
      x >>= 8n;
    }
    return out;
  };
  const path = (p: string) => Buffer.from(p.padEnd(248, '\0')).toString('hex');

  it("sysfence's maps, as the loader prints them, become typed calls, programs and opened objects", () => {
    // pid 100 made openat (257) 5 times (2 CPUs: 3 + 2) and pid 101 once; pid 100 exec'd
    // python3 and opened libc; pid 101 is its child; pid 100 made number 1000 (past the slots)
    const openat = 257 | SLOT.gen;
    const r = decodeMaps(
      {
        errors: [[le(0, 4), le(0, 8)]],
        pairs: [
          [le((100n << 32n) | BigInt(openat), 8), le(1, 4)],
          [le((101n << 32n) | BigInt(openat), 8), le(1, 4)],
        ],
        counts: [[le(openat, 4), le(3, 8) + le(3, 8)]],
        other: [[le(100, 4) + le(1000, 4) + le(SLOT.gen, 4) + le(0, 4), le(2, 8)]],
        execs: [[le(100, 4) + le(0, 4) + path('/usr/bin/python3'), le(1, 8)]],
        loads: [[le(100, 4) + le(0, 4) + path('/usr/lib/x86_64-linux-gnu/libc.so.6'), le(1, 8)]],
        parents: [[le(101, 4), le(100, 4)]],
        args: [[le(41, 4) + le(0, 4) + le(10, 8), le(1, 8)]],
      },
      65536,
    );
    expect(r.byIndex.get(0)).toEqual({
      calls: [
        { pid: 100, compat: false, nr: 257, workload: true, count: 5 },
        { pid: 101, compat: false, nr: 257, workload: true, count: 1 },
        { pid: 100, nr: 1000, compat: false, workload: true, count: 2 },
      ],
      denied: [],
      execs: [{ pid: 100, file: '/usr/bin/python3' }],
      loads: [{ pid: 100, file: '/usr/lib/x86_64-linux-gnu/libc.so.6' }],
      parents: [{ child: 101, parent: 100 }],
      args: [{ nr: 41, index: 0, value: 10n, count: 1 }],
    });
    // a full map is an error with the map named, never a silent loss
    expect(() => decodeMaps({ errors: [[le(2, 4), le(3, 8)]] }, 1024)).toThrow(/execs map was full 3 times/);
  });

  it("bpftrace's printed maps decode to the same records", () => {
    const key = (pid: bigint, nr: bigint, workload: boolean) =>
      String((pid << 32n) | nr | (workload ? 1n << 62n : 0n));
    const r = decodeBpftrace({
      '@c': { [key(100n, 257n, true)]: 5 },
      '@e': { '100,/usr/bin/python3': 1 },
      '@f': { '101,100': 1 },
      '@a': { '41,0,10': 1 },
    });
    expect(r).toEqual({
      calls: [{ pid: 100, compat: false, nr: 257, workload: true, count: 5 }],
      denied: [],
      execs: [{ pid: 100, file: '/usr/bin/python3' }],
      parents: [{ child: 101, parent: 100 }],
      args: [{ nr: 41, index: 0, value: 10n, count: 1 }],
      loads: [],
    });
  });

  it("the shared objects a process opened go to the program it ran; another's file is not kept", () => {
    const rec = new RecordingBuilder();
    rec.source('test', 'unit');
    const result = {
      ...emptyResult(),
      calls: [{ pid: 100, compat: false, nr: 257, workload: false, count: 3 }],
      execs: [{ pid: 100, file: '/usr/bin/python3' }],
      parents: [{ child: 100, parent: 99 }],
      loads: [
        { pid: 100, file: '/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so' },
        { pid: 100, file: '/usr/lib/x86_64-linux-gnu/libc.so.6' },
        { pid: 100, file: '/nowhere/libgone.so.1' },
        { pid: 100, file: 'relative/libx.so' },
      ],
    };
    const there = (p: string) => !p.startsWith('/nowhere');
    fill(rec, x86_64, result, 99, 65536, 'calls', false, { count: 0 }, there);
    expect(rec.build().programs).toEqual([
      {
        path: '/usr/bin/python3',
        loaded: [
          '/usr/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so',
          '/usr/lib/x86_64-linux-gnu/libc.so.6',
        ],
      },
    ]);
  });
});
