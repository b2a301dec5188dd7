/** Maps and programs as the Perl loader's input lines (loader-perl.ts). */
import type { Assembled } from './asm.js';

/** A map to create (struct bpf_attr for BPF_MAP_CREATE). */
export interface MapDef {
  readonly name: string;
  /** enum bpf_map_type. */
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags?: number;
}

export const MAP_TYPES = { hash: 1, array: 2, percpu_hash: 5, percpu_array: 6 } as const;
/** Hash maps that allocate entries as they are inserted (memory only for what is seen). */
export const BPF_F_NO_PREALLOC = 1;

/** BPF_PROG_TYPE_* by how a program attaches. */
const PROG_TYPE = { tp: 5, raw: 17 } as const;

export function bpfObjectLines(o: {
  maps: readonly MapDef[];
  programs: readonly { name: string; attach: string; code: Assembled }[];
}): string[] {
  const index = new Map(o.maps.map((m, i) => [m.name, i]));
  return [
    ...o.maps.map(
      (m) => `map ${m.type} ${m.keySize} ${m.valueSize} ${m.maxEntries} ${m.flags ?? 0} ${m.name}`,
    ),
    ...o.programs.map((p) => {
      const kind = p.attach.slice(0, p.attach.indexOf(':')) as keyof typeof PROG_TYPE;
      const relocs = p.code.relocations.map((r) => {
        const m = index.get(r.map);
        if (m === undefined) throw new Error(`program ${p.name} uses unknown map ${r.map}`);
        return `${r.offset / 8}=${m}`;
      });
      return [
        `prog ${PROG_TYPE[kind]} ${p.attach} ${p.name}`,
        Buffer.from(p.code.bytes).toString('hex'),
        ...relocs,
      ].join(' ');
    }),
  ];
}
