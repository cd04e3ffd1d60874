// The HTML report in a real headless Chromium: it loads offline with no console error and
// every plot is drawn; a report whose control is not a ratio (projection dim 32 vs 128) reads
// correctly. MMRUN_KEEP_SCREENSHOTS=<dir> keeps the screenshots for a look.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { buildReport, type ReportResult } from '../../runner/report/build.ts';
import { loadStudy } from '../../runner/report/study.ts';
import { writeRun, writeSyntheticStudy } from '../fixtures/runs-synthetic.ts';
import { chromiumAvailable, launchChromium, type Browser } from '../helpers/chromium.ts';

// false only when Chromium is missing and MMRUN_ALLOW_MISSING_SERVICES=1; when it is missing
// otherwise, launchChromium() below fails the suite with how to install it.
const runBrowser = (() => {
  try {
    return chromiumAvailable();
  } catch {
    return true;
  }
})();

function keepScreenshot(file: string, name: string): void {
  const keep = process.env.MMRUN_KEEP_SCREENSHOTS;
  if (!keep) return;
  mkdirSync(keep, { recursive: true });
  copyFileSync(file, join(keep, name));
}

const EXPECTED_MARKS: Record<string, string[]> = {
  'image-accuracy': ['mark-line', 'mark-area', 'mark-symbol'],
  'learning-curves': ['mark-line', 'mark-rule'],
  'shared-space': ['mark-line', 'mark-area'],
  confusion: ['mark-rect', 'mark-text'],
  embeddings: ['mark-symbol'],
};

describe.skipIf(!runBrowser)('report in headless Chromium', { timeout: 300_000 }, () => {
  let dir: string;
  let result: ReportResult;
  let chromium: Browser;

  beforeAll(async () => {
    chromium = await launchChromium();
    dir = mkdtempSync(join(tmpdir(), 'mmrun-report-e2e-'));
    const s = writeSyntheticStudy(join(dir, 'study'), {
      ablation: true,
      seeds: 4,
      items: true,
      stateOf: (r) => (r.seed === 3 && r.coords['augmentation.ratio'] === 8 ? (r.ablation === 'baseline' ? 'running' : 'failed') : 'finished'),
    });
    // a run from an older version of the file
    const old = structuredClone(s.plan.runs[0]);
    old.id = 'a0a0a0a0a0a0';
    old.config.training.joint.epochs = 7;
    writeRun(s.artifactsDir, s.plan, old, 'finished');
    result = await buildReport(loadStudy(s.file), { out: join(dir, 'out', 'report.html') });
  }, 300_000);

  afterAll(async () => {
    await chromium?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes every plot as SVG and PNG beside the report', async () => {
    expect(result.figures).toEqual(['image-accuracy', 'learning-curves', 'shared-space', 'confusion', 'embeddings']);
    expect(result.skipped).toEqual([]);
    for (const id of result.figures) {
      const png = join(dir, 'out', 'plots', `${id}.png`);
      expect(existsSync(join(dir, 'out', 'plots', `${id}.svg`))).toBe(true);
      const meta = await sharp(png).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width!).toBeGreaterThan(400);
    }
    const html = readFileSync(result.html, 'utf8');
    expect(html).not.toMatch(/<script|<link |src="http|href="http/);
  });

  it('loads offline with no console error and draws every plot', async () => {
    const page = await chromium.context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(result.html).href, { waitUntil: 'load' });
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(result.html).href]); // nothing fetched but the page itself

    const plots = await page.$$eval('figure[data-plot]', (figs) =>
      figs.map((f) => {
        const svg = f.querySelector('svg');
        const box = svg?.getBoundingClientRect();
        const marks: Record<string, number> = {};
        for (const g of Array.from(f.querySelectorAll('g[class*="mark-"]'))) {
          const kind = Array.from(g.classList).find((c) => c.startsWith('mark-'))!;
          // drawn items: path, rect, line or text elements with a non-empty geometry/content
          const items = Array.from(g.querySelectorAll('path, rect, line, text')).filter((el) => {
            if (el.tagName === 'text') return (el.textContent ?? '').trim() !== '';
            const r = (el as SVGGraphicsElement).getBBox();
            return r.width > 0 || r.height > 0;
          });
          marks[kind] = (marks[kind] ?? 0) + items.length;
        }
        return { id: f.getAttribute('data-plot'), width: box?.width ?? 0, height: box?.height ?? 0, marks };
      }),
    );
    expect(plots.map((p) => p.id)).toEqual(Object.keys(EXPECTED_MARKS));
    for (const p of plots) {
      expect(p.width, p.id!).toBeGreaterThan(300);
      expect(p.height, p.id!).toBeGreaterThan(150);
      for (const kind of EXPECTED_MARKS[p.id!]) expect(p.marks[kind] ?? 0, `${p.id}: ${kind}`).toBeGreaterThan(0);
    }
    // 10 classes × 2 panels × (60 images + 60 texts) points in the PCA plot
    expect(plots.find((p) => p.id === 'embeddings')!.marks['mark-symbol']).toBeGreaterThanOrEqual(240);

    const text = await page.innerText('body');
    expect(text).toMatch(/ratio 8: \+\d+\.\d points image accuracy at 1% images \(baseline\), 95% CI \[\+\d+\.\d, \+\d+\.\d\], p \(Holm\) (=|<) [\d.]+, n = 3; \+\d+ of 2,000 test items per seed pair, per-item test p \(Holm\) (=|<) [\d.]+/);
    expect(text).toMatch(/Against the control \(augmentation\.ratio = 0\), \d+ of 8 arms improve image accuracy significantly \(paired t-test over seeds, Holm-adjusted over the 8 arms, p < 0\.05, 95% CI excluding 0; \d+ before the correction\)/);
    expect(text).toMatch(/No bootstrap interval: a bootstrap needs at least 10 seed pairs/);
    const head = await page.$$eval('table[data-metric="image_acc"] th', (ths) => ths.map((th) => th.textContent));
    expect(head).toEqual(['arm', 'finished', 'mean (%)', 'sd', '95% CI', 'Δ vs control (points)', '95% CI (t)', 'p (Holm)', 'pairs', 'Δ test items per seed', 'p items (Holm)', 'not finished']);
    expect(text).toMatch(/Runs not in the statistics/);
    expect(text).toMatch(/Runs from an older version of the file/);
    expect(text).toContain('a0a0a0a0a0a0');
    await page.screenshot({ path: join(dir, 'out', 'screenshot.png'), fullPage: true });
    keepScreenshot(join(dir, 'out', 'screenshot.png'), 'report-ratio.png');
    await page.close();
  });

  it('reads correctly with a non-ratio control (projection dim 32 against 128)', async () => {
    const s = writeSyntheticStudy(join(dir, 'dims'), {
      name: 'dims',
      ratios: [],
      fractions: [],
      grid: { 'model.projection.dim': [32, 128] },
      reportControl: 'model.projection.dim=128',
      seeds: 3,
      items: true,
      imageEffect: (r) => (r.config.model.projection.dim === 32 ? -0.02 : 0),
    });
    const out = join(dir, 'dims-out', 'report.html');
    const r = await buildReport(loadStudy(s.file), { out });
    expect(r.figures).toContain('image-accuracy');
    const page = await chromium.context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
    });
    await page.goto(pathToFileURL(out).href, { waitUntil: 'load' });
    expect(errors).toEqual([]);
    const text = await page.innerText('body');
    expect(text).toMatch(/Against the control \(model\.projection\.dim = 128\), 0 of 1 arm improves image accuracy significantly/);
    expect(text).toMatch(/dim=32: -\d\.\d points image accuracy, 95% CI \[-\d+\.\d, [+-]?\d+\.\d\], p \(Holm\) (=|<) [\d.]+, n = 3; -\d+ of 2,000 test items per seed pair/);
    expect(text).toMatch(/Δ: difference from the control arm, model\.projection\.dim = 128 \(report\.control\)/);
    expect(text).not.toMatch(/augmentation\.ratio = 0/);
    const rows = await page.$$eval('table[data-metric="image_acc"] tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    expect(rows.map((row) => row[0])).toEqual(['dim=128', 'dim=32']);
    expect(rows[0][5]).toBe('control');
    expect(rows[1][5]).toMatch(/^-\d\.\d$/);
    expect(rows[1][9]).toMatch(/^-\d+ of 2,000$/);
    // the x axis of the accuracy plot shows the grid values, not "3e+1" / "1e+2"
    const ticks = await page.$$eval('figure[data-plot="image-accuracy"] g[class*="role-axis-label"] text', (ts) => ts.map((t) => t.textContent));
    expect(ticks).toContain('32');
    expect(ticks).toContain('128');
    expect(ticks.join(' ')).not.toMatch(/e\+/);
    await page.screenshot({ path: join(dir, 'dims-out', 'screenshot.png'), fullPage: true });
    keepScreenshot(join(dir, 'dims-out', 'screenshot.png'), 'report-dims.png');
    await page.close();
  });
});
