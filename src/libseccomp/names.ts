/**
 * How libseccomp resolves syscall names, per release and ABI (data/libseccomp/names-*.json, measured
 * from the library itself). runc resolves each profile name on the host ABI and skips names that
 * fail; libseccomp then translates the number to each ABI of the filter, where a name the ABI lacks
 * gets a negative "pseudo" number. On ABIs that multiplex socket and IPC calls (socketcall, ipc),
 * those names always resolve to their pseudo number first; the direct syscall, if any, comes after.
 */
import type { ArchDef } from '../arch/types.js';
import { readData } from '../knowledge/data-files.js';

export type LibseccompVersion = '2.5' | '2.6';

/** The release each modelled series was measured or read from. */
export const LIBSECCOMP_RELEASE: Record<LibseccompVersion, string> = { '2.5': '2.5.4', '2.6': '2.6.1' };

interface NamesFile {
  version: string;
  arches: Record<string, { numbers: Record<string, number>; pseudo: string[] }>;
}

export type Resolution = { kind: 'number'; nr: number } | { kind: 'pseudo' } | { kind: 'unknown' };

export interface NameTable {
  readonly arch: ArchDef;
  /** The number a rule for `name` gets on this ABI before multiplexing (libseccomp's lookup). */
  resolve(name: string): Resolution;
  /** The direct syscall of a multiplexed call on this ABI, if it has one. */
  direct(name: string): number | undefined;
  /** Every name with a real number on this ABI. */
  readonly numbers: ReadonlyMap<string, number>;
}

const files = new Map<LibseccompVersion, NamesFile>();
function load(v: LibseccompVersion): NamesFile {
  let f = files.get(v);
  if (!f) {
    f = JSON.parse(readData(`libseccomp/names-${LIBSECCOMP_RELEASE[v]}.json`)) as NamesFile;
    files.set(v, f);
  }
  return f;
}

const tables = new Map<string, NameTable | undefined>();

/** libseccomp's name table for an ABI, or undefined when that release does not support the ABI. */
export function nameTable(v: LibseccompVersion, arch: ArchDef): NameTable | undefined {
  const key = `${v}:${arch.id}`;
  if (tables.has(key)) return tables.get(key);
  const data = load(v).arches[arch.id];
  let t: NameTable | undefined;
  if (data) {
    const numbers = new Map(Object.entries(data.numbers));
    const pseudo = new Set(data.pseudo);
    const multiplexed = new Set(arch.multiplexers.flatMap((m) => Object.keys(m.calls)));
    t = {
      arch,
      numbers,
      resolve(name) {
        if (multiplexed.has(name)) return { kind: 'pseudo' };
        const nr = numbers.get(name);
        if (nr !== undefined) return { kind: 'number', nr };
        return pseudo.has(name) ? { kind: 'pseudo' } : { kind: 'unknown' };
      },
      direct: (name) => numbers.get(name),
    };
  }
  tables.set(key, t);
  return t;
}
