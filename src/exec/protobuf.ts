/**
 * Protocol Buffers wire format, the part the CRI needs: varints, length-delimited fields (strings,
 * bytes, messages, map entries) and nothing else. Messages are written with `Pb` field by field
 * (field numbers as the API defines them, written where each message is built) and read back
 * into a field -> values table. A malformed answer is a coded error, never a guess.
 */
import { SysfenceError } from '../errors.js';

export class ProtobufError extends SysfenceError {
  constructor(message: string, at: number) {
    super('protobuf-malformed', message, `byte ${at}`);
    this.name = 'ProtobufError';
  }
}

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

function varint(out: number[], v: bigint): void {
  let x = BigInt.asUintN(64, v);
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
}

/** A message being written: fields in the order given (the format allows any order). */
export class Pb {
  private readonly out: number[] = [];
  private tag(field: number, wire: number): void {
    varint(this.out, BigInt((field << 3) | wire));
  }
  /** A varint field (int32/int64/uint32/bool/enum); zero is the default and not written. */
  int(field: number, v: number | bigint | boolean | undefined): this {
    if (v === undefined || v === 0 || v === 0n || v === false) return this;
    this.tag(field, 0);
    varint(this.out, typeof v === 'boolean' ? 1n : BigInt(v));
    return this;
  }
  bytes(field: number, b: Uint8Array | undefined): this {
    if (b === undefined) return this;
    this.tag(field, 2);
    varint(this.out, BigInt(b.length));
    for (const x of b) this.out.push(x);
    return this;
  }
  str(field: number, s: string | undefined): this {
    return s === undefined || s === '' ? this : this.bytes(field, enc.encode(s));
  }
  strs(field: number, ss: readonly string[] | undefined): this {
    for (const s of ss ?? []) this.bytes(field, enc.encode(s));
    return this;
  }
  msg(field: number, m: Pb | undefined): this {
    return m === undefined ? this : this.bytes(field, m.done());
  }
  /** map<string, string>: one entry message (key = 1, value = 2) per pair, sorted by key. */
  map(field: number, m: Readonly<Record<string, string>> | undefined): this {
    const pairs = m ?? {};
    for (const k of Object.keys(pairs).sort()) this.msg(field, new Pb().str(1, k).str(2, pairs[k]));
    return this;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** A message read: each field's values in order (varints as bigint, the rest as bytes). */
export class PbRead {
  private readonly fields = new Map<number, (bigint | Uint8Array)[]>();
  constructor(bytes: Uint8Array) {
    let i = 0;
    const readVarint = (): bigint => {
      let v = 0n;
      let shift = 0n;
      for (;;) {
        if (i >= bytes.length) throw new ProtobufError('a varint runs past the end', i);
        const b = bytes[i++] as number;
        v |= BigInt(b & 0x7f) << shift;
        if ((b & 0x80) === 0) return v;
        shift += 7n;
        if (shift > 63n) throw new ProtobufError('a varint longer than 10 bytes', i);
      }
    };
    while (i < bytes.length) {
      const at = i;
      const tag = Number(readVarint());
      const field = tag >>> 3;
      const wire = tag & 7;
      let v: bigint | Uint8Array;
      if (wire === 0) v = readVarint();
      else if (wire === 2) {
        const n = Number(readVarint());
        if (i + n > bytes.length) throw new ProtobufError(`field ${field} runs past the end`, at);
        v = bytes.subarray(i, i + n);
        i += n;
      } else if (wire === 1 || wire === 5) {
        const n = wire === 1 ? 8 : 4;
        if (i + n > bytes.length) throw new ProtobufError(`field ${field} runs past the end`, at);
        v = bytes.subarray(i, i + n);
        i += n;
      } else
        throw new ProtobufError(`field ${field} has wire type ${wire}, which this reader does not take`, at);
      const list = this.fields.get(field) ?? [];
      list.push(v);
      this.fields.set(field, list);
    }
  }
  private last(field: number): bigint | Uint8Array | undefined {
    return this.fields.get(field)?.at(-1);
  }
  str(field: number): string {
    const v = this.last(field);
    return v instanceof Uint8Array ? dec.decode(v) : '';
  }
  strs(field: number): string[] {
    return (this.fields.get(field) ?? []).flatMap((v) => (v instanceof Uint8Array ? [dec.decode(v)] : []));
  }
  int(field: number): bigint {
    const v = this.last(field);
    return typeof v === 'bigint' ? v : 0n;
  }
  msg(field: number): PbRead | undefined {
    const v = this.last(field);
    return v instanceof Uint8Array ? new PbRead(v) : undefined;
  }
  msgs(field: number): PbRead[] {
    return (this.fields.get(field) ?? []).flatMap((v) => (v instanceof Uint8Array ? [new PbRead(v)] : []));
  }
  map(field: number): Record<string, string> {
    const out: Record<string, string> = {};
    for (const e of this.msgs(field)) out[e.str(1)] = e.str(2);
    return out;
  }
}
