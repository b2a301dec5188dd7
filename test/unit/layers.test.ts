// The folders of src/ form layers (docs/architecture.md): a folder imports only from folders in
// lower layers, so there is no cycle between folders and exec/ (the seam to processes and files)
// stays a leaf. A new folder must be placed here; an upward import fails this test with its file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = join(import.meta.dirname, '..', '..', 'src');

/** Layer of each folder of src/ (files directly in src/: the public API, on top). */
const LAYERS: Record<string, number> = {
  arch: 0,
  exec: 0,
  bpf: 1,
  ebpf: 1,
  recording: 1,
  elf: 1,
  knowledge: 2,
  reach: 2,
  profile: 3,
  recorders: 3,
  compiler: 4,
  libseccomp: 5,
  targets: 6,
  review: 7,
  runners: 7,
  registry: 7,
  cli: 8,
  // files directly in src/: version.ts and errors.ts (the error base), index.ts (the API, on top)
  version: -1,
  errors: -1,
  index: 9,
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const folderOf = (file: string) => {
  const rel = relative(src, file).split('/');
  return rel.length > 1 ? rel[0]! : rel[0]!.replace(/\.ts$/, '');
};

describe('src/ layers', () => {
  it('every folder is placed, and every import goes to a lower layer (or its own folder)', () => {
    const folders = new Set(files(src).map(folderOf));
    expect([...folders].filter((f) => LAYERS[f] === undefined)).toEqual([]);
    const upward: string[] = [];
    for (const file of files(src)) {
      const from = folderOf(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/(?:from|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const to = folderOf(normalize(join(dirname(file), m[1]!)).replace(/\.js$/, '.ts'));
        if (to !== from && LAYERS[to]! >= LAYERS[from]!)
          upward.push(`${relative(src, file)} imports ${m[1]} (${from} -> ${to})`);
      }
    }
    expect(upward).toEqual([]);
  });

  it('every child process starts in exec/ (the seam): nothing else imports node:child_process', () => {
    const direct = files(src)
      .filter((f) => folderOf(f) !== 'exec')
      .filter((f) => /^import (?!type )[^;]*from 'node:child_process'/m.test(readFileSync(f, 'utf8')))
      .map((f) => relative(src, f));
    expect(direct).toEqual([]);
  });

  it("the library never reads the machine's kernel: only cli/ and the eBPF recorder's layout reader call os.release", () => {
    const readers = files(src)
      .filter((f) => folderOf(f) !== 'cli' && !f.endsWith(join('recorders', 'kernel-layout.ts')))
      .filter(
        (f) =>
          /\brelease\(\)/.test(readFileSync(f, 'utf8')) ||
          /import \{[^}]*\brelease\b[^}]*\} from 'node:os'/.test(readFileSync(f, 'utf8')),
      )
      .map((f) => relative(src, f));
    expect(readers).toEqual([]);
  });

  it('the library never asks which machine it runs on: only cli/ calls nativeArch() or reads process.arch (the recorders run on it)', () => {
    const askers = files(src)
      .filter(
        (f) => folderOf(f) !== 'cli' && folderOf(f) !== 'recorders' && !f.endsWith(join('arch', 'tables.ts')),
      )
      .filter((f) =>
        /\bnativeArch\(\)|\bprocess\.arch\b/.test(
          readFileSync(f, 'utf8')
            .replace(/\/\*[\s\S]*?\*\//g, '')
            .replace(/\/\/.*$/gm, ''),
        ),
      )
      .map((f) => relative(src, f));
    expect(askers).toEqual([]);
  });
});
