/**
 * Reads the kernel's own type information (BTF, /sys/kernel/btf/vmlinux) for the few structure
 * offsets the recorder needs on raw tracepoints (task_struct.pid, linux_binprm.filename): the
 * layout of this kernel, not of the one sysfence was written against. Format: kernel
 * Documentation/bpf/btf.rst (header, type section, string section; little-endian here).
 */

const KIND = { STRUCT: 4, UNION: 5 } as const;

/** Bytes of kind-specific data after a type's 12-byte header, by kind (vlen: its entries). */
function extraBytes(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return vlen * 12;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return vlen * 8;
    default: // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
      return 0;
  }
}

export class BtfError extends Error {}

export interface Btf {
  /** Byte offset of `member` in `struct name` (searching anonymous members), or undefined. */
  memberOffset(struct: string, member: string): number | undefined;
}

export function parseBtf(data: Buffer): Btf {
  if (data.length < 24 || data.readUInt16LE(0) !== 0xeb9f) throw new BtfError('not BTF (bad magic)');
  const hdrLen = data.readUInt32LE(4);
  const typeOff = hdrLen + data.readUInt32LE(8);
  const typeLen = data.readUInt32LE(12);
  const strOff = hdrLen + data.readUInt32LE(16);
  const name = (off: number): string => {
    const start = strOff + off;
    const end = data.indexOf(0, start);
    return data.toString('latin1', start, end);
  };
  // the position of every type (ids start at 1) and the structs by name
  const at: number[] = [0];
  const structs = new Map<string, number>();
  for (let p = typeOff; p < typeOff + typeLen; ) {
    const info = data.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    at.push(p);
    if (kind === KIND.STRUCT) {
      const n = data.readUInt32LE(p);
      if (n !== 0) {
        const s = name(n);
        if (!structs.has(s)) structs.set(s, at.length - 1);
      }
    }
    p += 12 + extraBytes(kind, vlen);
  }
  const find = (id: number, member: string, depth: number): number | undefined => {
    const p = at[id];
    if (p === undefined || depth > 8) return undefined;
    const info = data.readUInt32LE(p + 4);
    const kind = (info >>> 24) & 0x1f;
    if (kind !== KIND.STRUCT && kind !== KIND.UNION) return undefined;
    const kflag = info >>> 31 === 1;
    const vlen = info & 0xffff;
    for (let i = 0; i < vlen; i++) {
      const m = p + 12 + i * 12;
      const bits = data.readUInt32LE(m + 8);
      const offset = (kflag ? bits & 0xffffff : bits) / 8;
      const mname = data.readUInt32LE(m);
      if (mname !== 0 && name(mname) === member) return offset;
      if (mname === 0) {
        const inner = find(data.readUInt32LE(m + 4), member, depth + 1);
        if (inner !== undefined) return offset + inner;
      }
    }
    return undefined;
  };
  return {
    memberOffset(struct, member) {
      const id = structs.get(struct);
      return id === undefined ? undefined : find(id, member, 0);
    },
  };
}
