/** The report page: one self-contained HTML file (inline CSS and SVG, no script, no fetch). Pure. */
import type { Comparison, Row, RunResult } from './aggregate.ts';
import { metricTitle } from './figures.ts';
import { columnsOf, fmt, fmtInterval, fmtItems, fmtP, isProportion, legend, levelInterval, sectionNotes, statusNote, type Columns } from './format.ts';
import type { Narrative } from './narrative.ts';

export interface RenderedFigure {
  id: string;
  title: string;
  caption: string;
  svg: string;
}

export interface PageInput {
  experiment: string;
  description?: string;
  file: string;
  sweepId: string;
  generatedAt: string;
  reproduce: string[]; // commands
  design: string; // "grid: … · ablations: … · seeds: …"
  narrative: Narrative;
  comparison: Comparison;
  figures: RenderedFigure[];
  skippedFigures: string[]; // "Learning curves: no metrics.jsonl in the finished runs"
  orphans: RunResult[];
  /** Show unadjusted p values beside the Holm-adjusted ones. */
  rawP?: boolean;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

const CSS = `
:root { --ink: #1d2330; --muted: #5d6675; --rule: #e3e6eb; --accent: #1f5fa8; --good: #1b7f3b; --bad: #b3261e; --bg: #fbfbfc; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 15px/1.55 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 60px; }
header { border-bottom: 1px solid var(--rule); padding-bottom: 14px; margin-bottom: 20px; }
h1 { font-size: 26px; margin: 0 0 4px; font-weight: 600; }
h2 { font-size: 19px; margin: 34px 0 10px; font-weight: 600; border-bottom: 1px solid var(--rule); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 22px 0 6px; font-weight: 600; }
.meta { color: var(--muted); font-size: 13px; }
.meta code { font-size: 12px; }
.lede { font-size: 16px; margin: 10px 0; }
.summary { background: white; border: 1px solid var(--rule); border-left: 4px solid var(--accent); padding: 12px 18px; border-radius: 4px; }
.summary p { margin: 6px 0; }
ul.effects { margin: 6px 0 0; padding-left: 20px; }
ul.effects li { margin: 2px 0; }
.sig { color: var(--good); font-weight: 600; }
.sig-neg { color: var(--bad); font-weight: 600; }
.ns { color: var(--muted); }
.caveat { color: #7a5a00; font-size: 14px; }
figure { margin: 18px 0 26px; background: white; border: 1px solid var(--rule); border-radius: 4px; padding: 14px 16px 10px; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; max-width: 900px; }
figcaption b { color: var(--ink); font-weight: 600; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; background: white; margin: 6px 0 14px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--rule); text-align: right; white-space: nowrap; }
th { font-weight: 600; color: var(--muted); border-bottom: 2px solid #cfd4db; }
th:first-child, td:first-child { text-align: left; }
tr.control td { background: #f4f6f9; }
td.note { color: var(--bad); text-align: left; }
ul.notes { margin: -6px 0 14px; padding-left: 20px; color: var(--muted); font-size: 13px; }
.runs td, .runs th { text-align: left; }
code { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; background: #f0f2f5; padding: 1px 4px; border-radius: 3px; }
pre { background: #f0f2f5; padding: 10px 14px; border-radius: 4px; overflow-x: auto; font-size: 13px; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule); padding-top: 10px; }
`;

function effectClass(row: Row, metric: string): string {
  const v = row.deltas[metric]?.verdict ?? 'none';
  return v === 'better' ? 'sig' : v === 'worse' ? 'sig-neg' : 'ns';
}

function metricTable(c: Comparison, metric: string, cols: Columns): string {
  const anyNote = c.rows.some((r) => statusNote(r) !== '');
  const unit = isProportion(metric) ? ' (%)' : '';
  const head = ['arm', 'finished', `mean${unit}`, 'sd', '95% CI'];
  if (cols.control) {
    head.push(`Δ vs control${isProportion(metric) ? ' (points)' : ''}`, '95% CI (t)', 'p (Holm)');
    if (cols.rawP) head.push('p (raw)');
    if (cols.bootstrap) head.push('95% CI (BCa)');
    head.push('pairs');
    if (cols.items(metric)) head.push('Δ test items per seed', 'p items (Holm)');
  }
  if (anyNote) head.push('not finished');
  const width = head.length - 5 - (anyNote ? 1 : 0);
  const body = c.rows.map((r) => {
    const s = r.stats[metric];
    const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
    const cells = [escapeHtml(r.label), `${r.counts.finished}/${total}`, s?.n ? fmt(metric, s.mean) : 'n/a', fmt(metric, s?.std), levelInterval(metric, s)];
    if (cols.control) {
      const d = r.deltas[metric];
      const blank = (first: string) => [first, ...new Array<string>(width - 1).fill('')];
      if (r.role === 'control') cells.push(...blank('<span class="ns">control</span>'));
      else if (r.role !== 'treated') cells.push(...blank(''));
      else if (!d || d.n === 0) cells.push(...blank('<span class="ns">no pairs</span>'));
      else {
        const title = d.note ? ` title="${escapeHtml(d.note)}"` : '';
        cells.push(`<span class="${effectClass(r, metric)}"${title}>${fmt(metric, d.meanDiff, true)}</span>`, fmtInterval(metric, d.ci, true), fmtP(d.pHolm));
        if (cols.rawP) cells.push(fmtP(d.pRaw));
        if (cols.bootstrap) cells.push(fmtInterval(metric, d.bootstrapCi, true));
        cells.push(String(d.n));
        if (cols.items(metric)) cells.push(fmtItems(d), fmtP(d.items?.pooled?.pHolm));
      }
    }
    if (anyNote) cells.push(`<span class="note">${escapeHtml(statusNote(r))}</span>`);
    return `<tr${r.role === 'control' ? ' class="control"' : ''}>${cells.map((x, i) => (i === cells.length - 1 && anyNote ? `<td class="note">${x}</td>` : `<td>${x}</td>`)).join('')}</tr>`;
  });
  const notes = sectionNotes(c, metric, cols);
  const noteList = notes.length ? `<ul class="notes">${notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>` : '';
  return `<table data-metric="${escapeHtml(metric)}"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>${noteList}`;
}

function runList(runs: RunResult[]): string {
  const rows = runs.map((r) => `<tr><td><code>${escapeHtml(r.id)}</code></td><td>${escapeHtml(r.name)}</td><td>${escapeHtml(r.state)}</td><td>${escapeHtml(r.problem ?? '')}</td></tr>`);
  return `<table class="runs"><thead><tr><th>run id</th><th>name</th><th>state</th><th>detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function figureHtml(f: RenderedFigure): string {
  return `<figure id="fig-${escapeHtml(f.id)}" data-plot="${escapeHtml(f.id)}">
<h3>${escapeHtml(f.title)}</h3>
${f.svg}
<figcaption>${escapeHtml(f.caption)} <span class="files">(<code>plots/${escapeHtml(f.id)}.svg</code>, <code>.png</code>)</span></figcaption>
</figure>`;
}

export function renderPage(p: PageInput): string {
  const n = p.narrative;
  const c = p.comparison;
  const summary = [
    ...n.headline.map((x) => `<p>${escapeHtml(x)}</p>`),
    n.effects.length ? `<p><b>Image accuracy against the control, per arm:</b></p><ul class="effects">${n.effects.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>` : '',
    n.sharedSpace.length ? `<p><b>Shared space at the largest ratio</b> (control → treated):</p><ul class="effects">${n.sharedSpace.map((x) => `<li>${escapeHtml(x)}</li>`).join('')}</ul>` : '',
    ...n.caveats.map((x) => `<p class="caveat">${escapeHtml(x)}</p>`),
  ].join('\n');
  const figures = p.figures.map(figureHtml).join('\n');
  const skipped = p.skippedFigures.length ? `<ul class="caveat">${p.skippedFigures.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>` : '';
  const cols = columnsOf(c, { rawP: p.rawP });
  const tables = c.metrics.filter((m) => m !== 'image_acc').map((m) => `<h3>${escapeHtml(metricTitle(m))} <span class="meta"><code>${escapeHtml(m)}</code></span></h3>${metricTable(c, m, cols)}`).join('\n');
  const unfinished = c.unfinished.filter((r) => r.state !== 'missing');
  const controlText = legend(c, cols).join(' ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(p.experiment)} — mmrun report</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${escapeHtml(p.experiment)}</h1>
${p.description ? `<p class="lede">${escapeHtml(p.description)}</p>` : ''}
<div class="meta">${escapeHtml(p.design)}</div>
<div class="meta">Experiment file <code>${escapeHtml(p.file)}</code> · sweep <code>${escapeHtml(p.sweepId)}</code> · generated ${escapeHtml(p.generatedAt)} by mmrun</div>
</header>

<section class="summary" id="summary">
${summary}
</section>

${c.metrics.includes('image_acc') ? `<h2>Image accuracy</h2>${metricTable(c, 'image_acc', cols)}<p class="meta">${escapeHtml(controlText)} Means and 95% Student-t intervals over seeds (clipped to the metric’s range, e.g. 0–100%); n/a where fewer than two seeds finished.</p>` : ''}

<h2>Plots</h2>
${figures}
${skipped}

<h2>All numbers</h2>
<p class="meta">${escapeHtml(controlText)}</p>
${tables}

${unfinished.length ? `<h2>Runs not in the statistics</h2><p class="meta">Not finished: never averaged in.</p>${runList(unfinished)}` : ''}
${p.orphans.length ? `<h2>Runs from an older version of the file</h2><p class="meta">These run directories belong to experiment '${escapeHtml(p.experiment)}' but their ids are not in the current plan (the file changed since they ran). They are not included above.</p>${runList(p.orphans)}` : ''}

<h2>Reproduce</h2>
<pre>${p.reproduce.map(escapeHtml).join('\n')}</pre>

<footer>Self-contained report: plots are inline SVG rendered with Vega-Lite; nothing is loaded from the network.</footer>
</main>
</body>
</html>
`;
}
