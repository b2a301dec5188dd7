// `report`: the HTML page in headless Chromium (Debian's, driven by playwright-core): it renders
// with no console error and no request beyond its own file, its numbers are the CLI's JSON numbers,
// its tables and chart are labelled, it prints, and a screenshot is kept for CI
// (test-results/report.png).
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findArch } from '../../src/arch/tables.js';
import { generate } from '../../src/profile/generate.js';
import { serializeDocker } from '../../src/profile/serialize-docker.js';
import { importLogs } from '../../src/recorders/import.js';
import { serializeRecording } from '../../src/recording/recording.js';
import { BIN, run, sysfence, tempDir } from '../helpers/proc.js';
import { requirement } from '../helpers/tools.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-results');
const skip = requirement(existsSync(CHROMIUM), 'Debian chromium (/usr/bin/chromium)');

let dir = '';
let browser: Browser | undefined;
let json: {
  arches: {
    arch: string;
    allowed: number;
    baselineAllowed: number;
    removedPercent: number;
    riskyAllowed: string[];
    riskyConditional: string[];
  }[];
  categories: { category: string; allowed: number }[];
  calls: { name: string; count: number | null }[];
  findings: unknown[];
  diff: { allowsMore: boolean };
};

beforeAll(async () => {
  if (skip) return;
  dir = tempDir('sysfence-report-');
  // a profile from a real strace log (the fixtures' c.log), plus a call it never made: ptrace
  const rec = await importLogs([join(import.meta.dirname, '..', 'fixtures', 'strace', 'c.log')], {
    arch: findArch('x86_64')!,
  });
  writeFileSync(join(dir, 'c.rec.json'), serializeRecording(rec));
  const p = generate([rec]).profile;
  p.syscalls![0]!.names!.push('ptrace');
  writeFileSync(join(dir, 'c.json'), serializeDocker(p));
  const args = [BIN, 'report', join(dir, 'c.json'), '--recording', join(dir, 'c.rec.json'), '--title', 'c'];
  const r = await run('node', [...args, '-o', join(dir, 'c.html')]);
  expect(r.status, r.stderr).toBe(0);
  const j = await run('node', [...args, '--json']);
  json = JSON.parse(j.stdout);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe.skipIf(skip !== undefined)('report in a browser', () => {
  it('renders with no console error, loads nothing, shows the JSON numbers; screenshot kept', async () => {
    const page = await browser!.newPage({ viewport: { width: 1200, height: 1600 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (q) => requests.push(q.url()));
    await page.goto(`file://${join(dir, 'c.html')}`);
    expect(errors).toEqual([]);
    expect(requests).toEqual([`file://${join(dir, 'c.html')}`]);

    const a = json.arches[0]!;
    expect(a.arch).toBe('x86_64');
    expect(await page.textContent('[data-testid=allowed-x86_64]')).toBe(String(a.allowed));
    expect(await page.textContent('[data-testid=baseline-x86_64]')).toBe(String(a.baselineAllowed));
    expect(await page.textContent('[data-testid=card-allowed]')).toBe(String(a.allowed));
    expect(await page.textContent('[data-testid=card-removed]')).toBe(`${a.removedPercent}%`);
    expect(await page.textContent('[data-testid=card-risky]')).toBe(String(a.riskyAllowed.length));
    expect([a.riskyAllowed, a.riskyConditional]).toEqual([['clone', 'ptrace'], ['clone']]);
    expect(await page.textContent('[data-testid=card-findings]')).toBe(String(json.findings.length));
    for (const c of json.categories)
      expect(await page.textContent(`[data-testid=category-${c.category}]`)).toBe(String(c.allowed));
    // one row per allowed call, with the recorded counts
    const rows = await page.$$eval('#calls-table tbody tr', (trs) =>
      trs.map((tr) => [tr.querySelector('th')!.textContent, tr.querySelectorAll('td')[3]!.textContent]),
    );
    expect(rows).toEqual(json.calls.map((c) => [c.name, c.count === null ? '—' : String(c.count)]));
    expect(await page.textContent('[data-testid=diff-verdict]')).toContain(
      json.diff.allowsMore ? 'allows calls that' : 'allows nothing that',
    );

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    expect(statSync(join(ARTIFACTS, 'report.png')).size).toBeGreaterThan(10_000);
    await page.close();
  });

  it('accessible structure: captions and header scopes on every table, a labelled chart; it prints', async () => {
    const page = await browser!.newPage();
    await page.goto(`file://${join(dir, 'c.html')}`);
    const tables = await page.$$eval('table', (ts) =>
      ts.map((t) => ({
        caption: t.querySelector('caption')?.textContent ?? '',
        unscoped: [...t.querySelectorAll('th')].filter((th) => !th.getAttribute('scope')).length,
      })),
    );
    expect(tables.length).toBeGreaterThanOrEqual(4);
    for (const t of tables) {
      expect(t.caption).not.toBe('');
      expect(t.unscoped).toBe(0);
    }
    expect(await page.getAttribute('#chart-categories', 'role')).toBe('img');
    expect(await page.textContent('#chart-categories > title')).toContain('Allowed syscalls per category');
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    const pdf = await page.pdf({ format: 'A4' });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    await page.close();
  });

  it('the same inputs give the same bytes', async () => {
    const again = join(dir, 'again.html');
    await sysfence([
      'report',
      join(dir, 'c.json'),
      '--recording',
      join(dir, 'c.rec.json'),
      '--title',
      'c',
      '-o',
      again,
    ]);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(join(dir, 'c.html'), 'utf8'));
  });
});
