// The output-format tables (src/cli/formats.ts) as the commands use them: every profile format is
// written the same by generate and by convert, every report format by check, and the help lists
// exactly the table's rows (a row added there reaches every command with nothing else changed).
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_FORMATS, REPORT_FORMATS } from '../../src/cli/formats.js';
import { sysfence, tempDir } from '../helpers/proc.js';

const tmp = tempDir('sysfence-formats-');
for (const d of ['generate', 'convert']) mkdirSync(join(tmp, d));
const fixture = (f: string) => join(import.meta.dirname, '..', 'fixtures', f);

async function ok(args: string[]) {
  const r = await sysfence(args);
  if (r.status !== 0) throw new Error(`sysfence ${args.join(' ')}: ${r.status}\n${r.stderr}`);
  return r;
}

describe('output formats', () => {
  const rec = join(tmp, 'c.rec.json');
  const docker = join(tmp, 'c.json');
  beforeAll(async () => {
    await ok(['import', fixture('strace/c.log'), '--arch', 'x86_64', '-o', rec]);
    await ok(['generate', rec, '-o', docker]);
  });

  it.each(PROFILE_FORMATS.map((f) => f.id))(
    '%s: generate --format and convert --to write the same bytes',
    async (id) => {
      // same file name in two directories: the k8s patch names its profile file
      const viaGenerate = join(tmp, 'generate', `${id}.json`);
      const viaConvert = join(tmp, 'convert', `${id}.json`);
      await ok(['generate', rec, '--format', id, '--name', 'web', '-o', viaGenerate]);
      await ok([
        'convert',
        docker,
        '--to',
        id,
        '--name',
        'web',
        '--arch',
        'x86_64',
        '--kernel',
        '6.1',
        '-o',
        viaConvert,
      ]);
      expect(readFileSync(viaConvert)).toEqual(readFileSync(viaGenerate));
      if (id === 'k8s') {
        const patch = (f: string) => readFileSync(f.replace(/\.json$/, '.k8s.yaml'), 'utf8');
        expect(patch(viaConvert)).toBe(patch(viaGenerate));
        expect(patch(viaConvert)).toContain('localhostProfile: profiles/k8s.json');
      }
    },
  );

  it('bpf is the compile command’s raw filter, byte for byte', async () => {
    const raw = join(tmp, 'compiled.bpf');
    await ok(['compile', docker, '--format', 'raw', '-o', raw]);
    expect(readFileSync(join(tmp, 'convert', 'bpf.json'))).toEqual(readFileSync(raw));
  });

  it('a format that writes two files needs -o, said with the option that named it', async () => {
    const r = await sysfence(['convert', docker, '--to', 'k8s']);
    expect([r.status, r.stderr.trim(), r.stdout]).toEqual([
      2,
      'error[bad-option]: --to k8s writes two files: give -o NAME.json',
      '',
    ]);
  });

  it('the help of generate, record and convert lists the table, nothing else', async () => {
    const choices = `(choices: ${PROFILE_FORMATS.map((f) => `"${f.id}"`).join(', ')}`;
    for (const cmd of ['generate', 'record', 'convert'])
      expect((await ok([cmd, '--help'])).stdout.replace(/\s+/g, ' ')).toContain(choices);
    const r = await sysfence(['convert', docker, '--to', 'yaml']);
    expect([r.status, r.stderr.split('\n')[0]]).toEqual([
      2,
      `error[bad-option]: option '--to <format>' argument 'yaml' is invalid. Allowed choices are ${PROFILE_FORMATS.map((f) => f.id).join(', ')}.`,
    ]);
  });

  it.each(REPORT_FORMATS.map((f) => f.id))('check --format %s writes its report', async (id) => {
    const out = join(tmp, `check.${id}`);
    const r = await sysfence(['check', '--profile', docker, '--format', id, '-o', out, rec]);
    expect(r.status).toBe(0);
    const text = readFileSync(out, 'utf8');
    // each read as its readers would: the verdict count where the format has one
    const seen =
      id === 'json'
        ? `denied ${JSON.parse(text).denied}`
        : id === 'sarif'
          ? `sarif ${JSON.parse(text).version}, ${JSON.parse(text).runs[0].results.length} results`
          : id === 'junit'
            ? (text.match(/<testsuite [^>]*failures="\d+"/)?.[0].replace(/ name="[^"]*"/, '') ?? text)
            : (text
                .trim()
                .split('\n')
                .at(-1)
                ?.replace(/^.*\): /, '') ?? '');
    expect(seen).toBe(
      {
        // clone3 gets the explicit ENOSYS of Docker's default (glibc falls back to clone), and clone
        // is allowed without namespace flags only: this log has no argument values to judge it by
        text: "28 recorded syscalls: 26 allowed, 0 denied, 1 denied by the profile's own rules (expected), 1 depend on arguments, 0 unnamed",
        json: 'denied 0',
        junit: '<testsuite tests="28" failures="0"',
        sarif: 'sarif 2.1.0, 2 results',
      }[id],
    );
  });
});
