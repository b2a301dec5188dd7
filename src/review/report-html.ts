/** The report's page: `ReportData` laid out as self-contained, printable, accessible HTML. */
import { groupRuntimeNotes } from '../targets/notes.js';
import type { ReportData } from './report.js';

const esc = (s: string | number) =>
  String(s)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');

/** A horizontal bar chart as inline SVG, with the numbers in a real table next to it. */
function bars(
  id: string,
  title: string,
  rows: { label: string; value: number; second?: number }[],
  legend: [string, string?],
): string {
  const max = Math.max(1, ...rows.flatMap((r) => [r.value, r.second ?? 0]));
  const rowH = rows.some((r) => r.second !== undefined) ? 26 : 18;
  const h = rows.length * rowH + 10;
  const label = 120;
  const width = 520;
  const scale = (v: number) => Math.round(((width - label - 60) * v) / max);
  const body = rows
    .map((r, i) => {
      const y = 5 + i * rowH;
      const second =
        r.second === undefined
          ? ''
          : `<rect class="bar2" x="${label}" y="${y + 11}" width="${scale(r.second)}" height="9"><title>${esc(`${r.label}: ${legend[1]} ${r.second}`)}</title></rect>`;
      return `<text x="${label - 6}" y="${y + 10}" text-anchor="end">${esc(r.label)}</text><rect class="bar1" x="${label}" y="${y}" width="${scale(r.value)}" height="${r.second === undefined ? 14 : 9}"><title>${esc(`${r.label}: ${legend[0]} ${r.value}`)}</title></rect><text x="${label + scale(r.value) + 4}" y="${y + 9}">${r.value}</text>${second}`;
    })
    .join('');
  return `<figure><svg id="${id}" role="img" aria-labelledby="${id}-title" viewBox="0 0 ${width} ${h}" width="${width}" height="${h}"><title id="${id}-title">${esc(title)}</title>${body}</svg><figcaption>${esc(title)}${legend[1] ? ` <span class="key1">■</span> ${esc(legend[0])} <span class="key2">■</span> ${esc(legend[1])}` : ''}</figcaption></figure>`;
}

export function renderReport(d: ReportData): string {
  const a0 = d.arches[0];
  const sev = { error: 0, warning: 0, info: 0 };
  for (const f of d.findings) sev[f.severity]++;
  const summaryRows = d.arches
    .map(
      (a) =>
        `<tr><th scope="row">${esc(a.arch)}</th><td data-testid="allowed-${esc(a.arch)}">${a.allowed}</td><td>${a.conditional}</td><td data-testid="baseline-${esc(a.arch)}">${a.baselineAllowed}</td><td data-testid="removed-${esc(a.arch)}">${a.removedPercent}%</td><td>${a.riskyRemoved}</td><td>${a.riskyAllowed.map((n) => `<code>${esc(n)}</code>${a.riskyConditional.includes(n) ? ' (by argument)' : ''}`).join(' ') || 'none'}</td></tr>`,
    )
    .join('\n');
  const callRows = d.calls
    .map(
      (c) =>
        `<tr${c.risk ? ' class="risky"' : ''}><th scope="row"><code>${esc(c.name)}</code></th><td>${esc(c.category)}</td><td>${esc(c.summary)}</td><td>${c.allowed === 'always' ? 'always' : `<code>${esc(c.allowed)}</code>`}</td><td class="num">${c.count ?? '—'}</td><td>${c.executables.map((e) => `<code>${esc(e)}</code>`).join('<br>') || (c.pids.length ? `pid ${c.pids.join(', ')}` : c.count === null ? 'not recorded' : '—')}</td><td>${c.stack.length ? `<details><summary>${esc(c.stack[0]!)}</summary><pre>${esc(c.stack.join('\n'))}</pre></details>` : '—'}</td><td>${c.risk ? esc(c.risk) : ''}</td><td>${c.why ? esc(c.why) : '—'}</td></tr>`,
    )
    .join('\n');
  const findingRows = d.findings
    .map(
      (f) =>
        `<tr class="${f.severity}"><td>${f.severity}</td><td><code>${esc(f.code)}</code></td><td><code>${esc(f.path)}</code></td><td>${esc(f.message)}</td><td>${esc(f.fix)}</td></tr>`,
    )
    .join('\n');
  const groups = new Map<string, string[]>();
  for (const c of d.diff.changes) {
    const k = `${c.arch}\u0000${c.old}\u0000${c.new}\u0000${c.allowsMore ? 'more' : c.allowsLess ? 'less' : 'changed'}`;
    groups.set(k, [...(groups.get(k) ?? []), c.name]);
  }
  const diffRows = [...groups.entries()]
    .map(([k, names]) => {
      const [arch, old, neu, how] = k.split('\u0000') as [string, string, string, string];
      return `<tr><td>${esc(arch)}</td><td>${esc(how === 'more' ? 'allows more' : how === 'less' ? 'allows less' : 'changed')}</td><td>${esc(old)}</td><td>${esc(neu)}</td><td class="num">${names.length}</td><td>${names.map((n) => `<code>${esc(n)}</code>`).join(' ')}</td></tr>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(d.title)}: seccomp profile report</title>
<style>
:root { font-family: system-ui, sans-serif; color: #1b1b1b; background: #fff; }
body { max-width: 72rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border: 1px solid #ccc; padding: .25rem .45rem; vertical-align: top; text-align: left; }
thead th { background: #f0f0f0; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.risky th, tr.error td:first-child { color: #a00000; } tr.warning td:first-child { color: #8a5a00; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; } .card { border: 1px solid #ccc; border-radius: 6px; padding: .6rem 1rem; min-width: 12rem; }
.card strong { display: block; font-size: 1.8rem; }
svg text { font-size: 11px; fill: #1b1b1b; } .bar1 { fill: #2f5fa7; } .bar2 { fill: #b9b9b9; }
.key1 { color: #2f5fa7; } .key2 { color: #b9b9b9; } figure { margin: .5rem 0; } figcaption { font-size: .85rem; }
code { font-size: .85em; } pre { margin: .3rem 0; font-size: .8rem; white-space: pre-wrap; }
@media print { body { margin: 0; max-width: none; } details { display: block; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
</style>
</head>
<body>
<header>
<h1>${esc(d.title)}</h1>
<p>Seccomp profile report by sysfence, against ${esc(d.baseline)}.${d.recorded.sources.length ? ` Recordings: ${d.recorded.sources.map(esc).join('; ')}.` : ''}</p>
</header>
<main>
<section aria-labelledby="summary">
<h2 id="summary">Summary</h2>
${
  a0
    ? `<div class="cards">
<div class="card"><span>Allowed on ${esc(a0.arch)}</span><strong data-testid="card-allowed">${a0.allowed}</strong>${esc(d.baseline)}: ${a0.baselineAllowed}</div>
<div class="card"><span>Attack surface removed</span><strong data-testid="card-removed">${a0.removedPercent}%</strong>of the calls ${esc(d.baseline)} allows</div>
<div class="card"><span>Risky calls left</span><strong data-testid="card-risky">${a0.riskyAllowed.length}</strong>${a0.riskyConditional.length > 0 ? `${a0.riskyConditional.length} only by argument; ` : ''}${a0.riskyRemoved} removed</div>
<div class="card"><span>Lint findings</span><strong data-testid="card-findings">${d.findings.length}</strong>${sev.error} error${sev.error === 1 ? '' : 's'}, ${sev.warning} warning${sev.warning === 1 ? '' : 's'}, ${sev.info} note${sev.info === 1 ? '' : 's'}</div>
</div>`
    : ''
}
<table>
<caption>Allowed syscalls per architecture</caption>
<thead><tr><th scope="col">architecture</th><th scope="col">allowed</th><th scope="col">by argument</th><th scope="col">${esc(d.baseline)}</th><th scope="col">removed</th><th scope="col">risky removed</th><th scope="col">risky calls still allowed</th></tr></thead>
<tbody>
${summaryRows}
</tbody>
</table>
</section>
<section aria-labelledby="charts">
<h2 id="charts">Syscalls by category${d.topCalls.length ? ' and by call count' : ''}</h2>
${bars(
  'chart-categories',
  `Allowed syscalls per category (${a0?.arch ?? ''})`,
  d.categories.map((c) => ({ label: c.category, value: c.allowed, second: c.baseline })),
  ['this profile', d.baseline],
)}
<table>
<caption>Allowed syscalls per category</caption>
<thead><tr><th scope="col">category</th><th scope="col">allowed</th><th scope="col">${esc(d.baseline)}</th><th scope="col">in the table</th></tr></thead>
<tbody>
${d.categories.map((c) => `<tr><th scope="row">${esc(c.category)}</th><td class="num" data-testid="category-${esc(c.category)}">${c.allowed}</td><td class="num">${c.baseline}</td><td class="num">${c.total}</td></tr>`).join('\n')}
</tbody>
</table>
${
  d.topCalls.length
    ? bars(
        'chart-calls',
        `Most frequent recorded calls (${d.recorded.calls} calls of ${d.recorded.syscalls} syscalls)`,
        d.topCalls.map((t) => ({ label: t.name, value: t.count })),
        ['calls'],
      )
    : '<p>No recording was given: call counts are not known.</p>'
}
</section>
<section aria-labelledby="coverage">
<h2 id="coverage">Coverage across runs</h2>
${
  d.coverage.runs === 0
    ? '<p>No recording was given: which runs needed which call is not known.</p>'
    : d.coverage.runs === 1
      ? '<p>The recordings hold one run: every call rests on one input. Record each kind of input and merge the recordings (<code>sysfence merge a.rec.json b.rec.json</code>) to see which calls are fragile.</p>'
      : d.coverage.partial.length === 0
        ? `<p data-testid="coverage-all">Every recorded call was made in all ${d.coverage.runs} runs.</p>`
        : `<table id="fragile-table">
<caption>${d.coverage.partial.length} calls made in only some of the ${d.coverage.runs} runs: the fragile ones (another input may need a call no run made)</caption>
<thead><tr><th scope="col">syscall</th><th scope="col">runs that made it</th><th scope="col">first seen</th><th scope="col">by</th><th scope="col">first stack</th></tr></thead>
<tbody>
${d.coverage.partial.map((p) => `<tr><th scope="row">${esc(p.name)}</th><td class="num">${p.runs} of ${d.coverage.runs}</td><td>${esc(p.first ?? '')}</td><td>${esc(p.executables.join(', '))}</td><td>${esc((p.stack ?? []).slice(0, 4).join(' < '))}</td></tr>`).join('\n')}
</tbody>
</table>`
}
</section>
<section aria-labelledby="calls">
<h2 id="calls">Every allowed syscall (${esc(a0?.arch ?? '')})</h2>
<table id="calls-table">
<caption>${d.calls.length} syscalls allowed, with who needed them</caption>
<thead><tr><th scope="col">syscall</th><th scope="col">category</th><th scope="col">what it does</th><th scope="col">allowed</th><th scope="col">calls</th><th scope="col">needed by</th><th scope="col">first stack</th><th scope="col">risk</th><th scope="col">why allowed</th></tr></thead>
<tbody>
${callRows}
</tbody>
</table>
</section>
<section aria-labelledby="findings">
<h2 id="findings">Lint findings</h2>
${
  d.findings.length
    ? `<table id="findings-table">
<caption>${d.findings.length} findings (sysfence lint)</caption>
<thead><tr><th scope="col">severity</th><th scope="col">code</th><th scope="col">where</th><th scope="col">finding</th><th scope="col">fix</th></tr></thead>
<tbody>
${findingRows}
</tbody>
</table>`
    : '<p>No findings.</p>'
}
</section>
<section aria-labelledby="runtime">
<h2 id="runtime">As enforced by ${esc(d.runtime?.target ?? "sysfence's own filter")}</h2>
${
  !d.runtime
    ? "<p>sysfence's own filter enforces exactly what the profile says.</p>"
    : d.runtime.refused
      ? `<p data-testid="runtime-refused"><strong>The runtime refuses this profile: the workload does not start.</strong> ${esc(d.runtime.refused)}</p>`
      : d.runtime.notes.length === 0
        ? '<p data-testid="runtime-verdict">Every call gets the verdict the profile says.</p>'
        : `<table id="runtime-table">
<caption>${d.runtime.notes.length} calls that get another verdict than the profile says, by cause</caption>
<thead><tr><th scope="col">cause</th><th scope="col">verdict</th><th scope="col">why</th><th scope="col">calls</th></tr></thead>
<tbody>
${groupRuntimeNotes(d.runtime.notes)
  .map(
    (g) =>
      `<tr><td>${esc(g.label)}</td><td>${esc(g.verdicts)}</td><td>${esc(g.reason)}</td><td>${g.calls.map((c) => `${esc(c.abi)}: <code>${esc(c.calls.join(', '))}</code>`).join('<br>')}</td></tr>`,
  )
  .join('\n')}
</tbody>
</table>`
}
</section>
<section aria-labelledby="diff">
<h2 id="diff">Semantic diff against ${esc(d.baseline)}</h2>
<p data-testid="diff-verdict">${d.diff.allowsMore ? `This profile allows calls that ${esc(d.baseline)} denies.` : `This profile allows nothing that ${esc(d.baseline)} denies.`}</p>
${
  diffRows
    ? `<table id="diff-table">
<caption>Verdicts that differ from ${esc(d.baseline)}</caption>
<thead><tr><th scope="col">architecture</th><th scope="col">change</th><th scope="col">${esc(d.baseline)}</th><th scope="col">this profile</th><th scope="col">syscalls</th><th scope="col">names</th></tr></thead>
<tbody>
${diffRows}
</tbody>
</table>`
    : '<p>No verdict differs.</p>'
}
</section>
</main>
</body>
</html>
`;
}
