// The CRI client's pieces without a runtime: the Protocol Buffers codec (exact bytes, round trips,
// coded errors on damaged answers), container IDs from kubelet's cgroup names, and the command
// line's answers when the CRI is not there. test/live/cri.test.ts drives a real containerd.
import { describe, expect, it } from 'vitest';
import { CriClient, CriError } from '../../src/exec/cri.js';
import { Pb, PbRead, ProtobufError } from '../../src/exec/protobuf.js';
import { containerIdOf } from '../../src/recorders/record-cri.js';
import { sysfence, tempDir } from '../helpers/proc.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('Protocol Buffers, the part the CRI uses', () => {
  it('writes the wire format exactly', () => {
    // field 1 string "v1"; field 2 varint 300; field 3 map {a: b}; zero and empty are not written
    const m = new Pb().str(1, 'v1').int(2, 300).map(3, { a: 'b' }).int(4, 0).str(5, '').done();
    expect(hex(m)).toBe('0a02763110ac021a060a0161120162');
    // a negative int64 is ten bytes (two's complement), as protoc writes it
    expect(hex(new Pb().int(1, -1n).done())).toBe('08ffffffffffffffffff01');
  });

  it('reads back what it wrote: strings, varints, nested messages, repeated fields, maps', () => {
    const inner = new Pb().str(1, 'web').int(2, 3);
    const m = new PbRead(
      new Pb()
        .msg(1, inner)
        .strs(2, ['a', 'b'])
        .int(3, 2n ** 40n)
        .map(4, { z: '1', y: '2' })
        .done(),
    );
    expect([m.msg(1)?.str(1), m.msg(1)?.int(2), m.strs(2), m.int(3), m.map(4)]).toEqual([
      'web',
      3n,
      ['a', 'b'],
      2n ** 40n,
      { y: '2', z: '1' },
    ]);
    // absent fields read as their defaults
    expect([m.str(9), m.int(9), m.msg(9), m.map(9)]).toEqual(['', 0n, undefined, {}]);
  });

  it('a damaged answer is a coded error with the byte where it breaks', () => {
    const fail = (bytes: number[]) => {
      try {
        new PbRead(Uint8Array.from(bytes));
      } catch (e) {
        return e instanceof ProtobufError ? [e.code, e.message, e.location] : String(e);
      }
      return 'no error';
    };
    expect(fail([0x08, 0x80])).toEqual(['protobuf-malformed', 'a varint runs past the end', 'byte 2']);
    expect(fail([0x0a, 0x05, 0x61])).toEqual(['protobuf-malformed', 'field 1 runs past the end', 'byte 0']);
    expect(fail([0x0b])).toEqual([
      'protobuf-malformed',
      'field 1 has wire type 3, which this reader does not take',
      'byte 0',
    ]);
    expect(fail([0x08, ...Array(10).fill(0xff), 0x01])).toEqual([
      'protobuf-malformed',
      'a varint longer than 10 bytes',
      'byte 11',
    ]);
  });
});

describe("containers in kubelet's cgroups", () => {
  const id = 'a'.repeat(64);
  it('takes the ID from cgroupfs and systemd names, nothing else', () => {
    expect(
      [id, `cri-containerd-${id}.scope`, `crio-${id}.scope`, `pod${id}`, 'besteffort', id.slice(1)].map(
        containerIdOf,
      ),
    ).toEqual([id, id, id, undefined, undefined, undefined]);
  });
});

describe('the CRI not there', () => {
  it('a call on a socket no one listens on is cri-unavailable, with what to do', async () => {
    const c = new CriClient(`${tempDir('sysfence-cri-unit-')}/none.sock`, 5000);
    const e = await c.version().catch((x: unknown) => x);
    c.close();
    expect(e).toBeInstanceOf(CriError);
    expect([(e as CriError).code, (e as CriError).location]).toEqual([
      'cri-unavailable',
      expect.stringContaining('none.sock RuntimeService/Version'),
    ]);
  });

  it('record --containerd needs --select (kubelet starts the pods), and says so', async () => {
    const r = await sysfence(['record', '--containerd', '--', 'true']);
    expect([r.status, r.stderr]).toEqual([
      2,
      expect.stringContaining('error[bad-option]: --containerd records the pods kubelet runs: give --select'),
    ]);
    // and no other command takes it: containerd's containers are not started by sysfence
    const run = await sysfence(['run', '--containerd', '--profile', 'x.json', '--', 'true']);
    expect([run.status, run.stderr]).toEqual([
      2,
      expect.stringContaining("error[unknown-option]: unknown option '--containerd'"),
    ]);
  });
});
