// Docs that cannot drift: every issue code the source can emit is documented.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function sourceCodes(dir: string, out = new Set<string>()): Set<string> {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) sourceCodes(p, out);
    else if (p.endsWith('.ts'))
      for (const m of readFileSync(p, 'utf8').matchAll(
        // (a code is the quoted kebab-case word after: an issue adder, `code:`, an Error
        // constructor, a first string argument, or a template-literal location as in
        // malformed(`${file}:${line}`, 'code', ...))
        /(?:\.(?:error|warn|info|add)\(|code: |Error\(|'[a-z]+', |`,\s|\?\s|malformed\(\s*[a-zA-Z.]+,\s)\s*'([a-z][a-z0-9]*(?:-[a-z0-9]+)+)'/g,
      ))
        out.add(m[1]!);
  }
  return out;
}

describe('docs/validation.md', () => {
  const doc = readFileSync('docs/validation.md', 'utf8');
  it('documents every code the source emits', () => {
    const codes = [...sourceCodes('src')].sort();
    expect(codes.filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
    expect(codes.length).toBeGreaterThan(40);
  });
  it('documents every code of the broken-profile corpus', () => {
    const manifest: { code: string }[] = JSON.parse(
      readFileSync('test/fixtures/broken/manifest.json', 'utf8'),
    );
    expect(manifest.map((m) => m.code).filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });
});
