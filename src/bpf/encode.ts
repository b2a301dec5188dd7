/** The kernel's struct sock_filter array: 8 bytes per instruction, host byte order. */
import { BpfError } from './errors.js';
import type { Instruction, Program } from './instruction.js';

export type Endian = 'little' | 'big';
const hostEndian: Endian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'little' : 'big';

export function encode(p: Program, endian: Endian = hostEndian): Uint8Array {
  const buf = new Uint8Array(p.length * 8);
  const view = new DataView(buf.buffer);
  const le = endian === 'little';
  p.forEach((i, n) => {
    view.setUint16(n * 8, i.code, le);
    view.setUint8(n * 8 + 2, i.jt);
    view.setUint8(n * 8 + 3, i.jf);
    view.setUint32(n * 8 + 4, i.k >>> 0, le);
  });
  return buf;
}

export function decode(bytes: Uint8Array, endian: Endian = hostEndian): Instruction[] {
  if (bytes.length % 8 !== 0)
    throw new BpfError(
      'bpf-truncated',
      Math.floor(bytes.length / 8),
      `${bytes.length} bytes is not a whole number of 8-byte instructions`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = endian === 'little';
  const out: Instruction[] = [];
  for (let o = 0; o < bytes.length; o += 8)
    out.push({
      code: view.getUint16(o, le),
      jt: view.getUint8(o + 2),
      jf: view.getUint8(o + 3),
      k: view.getUint32(o + 4, le),
    });
  return out;
}
