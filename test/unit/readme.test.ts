// The README's examples run as written: the TypeScript ones (with 'sysfence' pointing at this
// checkout) type-check under the project's own strict settings and each `console.log(x); // VALUE`
// line must print VALUE; every shell example `$ sysfence ...` whose block shows its output is run
// from the repository root and must print exactly that (stdout and stderr, as a terminal shows
// them). Examples that need root or run a program (`sudo`, `-- CMD`) are not run. Examples that
// drift from the code fail here.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { BIN, run, tempDir } from '../helpers/proc.js';

const root = join(import.meta.dirname, '..', '..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
// inside the repository, so that the project's tsconfig and node_modules types apply
const dir = tempDir('.readme-', join(root, 'test'));

const local = (code: string) => code.replaceAll("from 'sysfence'", `from '${join(root, 'src', 'index.js')}'`);

describe('README examples', () => {
  it('there are TypeScript examples to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(1);
  });

  blocks.forEach((code, i) => {
    it(`example ${i + 1} type-checks strictly and prints what its comments say`, async () => {
      const file = join(dir, `example-${i + 1}.ts`);
      writeFileSync(file, `${local(code)}\nexport {};\n`);
      const tsc = await run(
        'npx',
        [
          'tsc',
          '--noEmit',
          '--strict',
          '--noUncheckedIndexedAccess',
          '--exactOptionalPropertyTypes',
          '--target',
          'ES2022',
          '--module',
          'NodeNext',
          '--moduleResolution',
          'NodeNext',
          '--types',
          'node',
          '--skipLibCheck',
          file,
        ],
        { cwd: root },
      );
      expect(tsc.stdout + tsc.stderr).toBe('');
      const expected = code
        .split('\n')
        .map((l) => /^console\.log\(.*\); \/\/ (.*)$/.exec(l)?.[1])
        .filter((x): x is string => x !== undefined);
      const printed: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
        printed.push(
          a.map((x) => (typeof x === 'string' ? x : inspect(x, { breakLength: Infinity }))).join(' '),
        );
      });
      const cwd = process.cwd();
      process.chdir(root);
      try {
        await import(file);
      } finally {
        process.chdir(cwd);
        log.mockRestore();
      }
      expect(printed).toEqual(expected);
    });
  });

  const shell = [...readme.matchAll(/```\n\$ (sysfence [^\n]*)\n([\s\S]*?)```/g)]
    .map((m) => ({ command: m[1]!, output: m[2]! }))
    .filter((b) => b.output !== '' && !/(^| )-- /.test(b.command));
  it('there are shell examples with their output to check', () => {
    expect(shell.length).toBeGreaterThanOrEqual(5);
  });
  for (const b of shell)
    it(`$ ${b.command}`, async () => {
      const r = await run('sh', ['-c', `${b.command.replace(/^sysfence /, `node ${BIN} `)} 2>&1`], {
        cwd: root,
        env: { NO_COLOR: '1' },
      });
      expect(r.stdout).toBe(b.output);
    });
});
