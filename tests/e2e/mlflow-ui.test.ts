// The real MLflow UI, in headless Chromium, shows a synced sweep: the parent run, its nested
// children, and their metric curves. Screenshots go to artifacts/track-ui/ for a human look.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mlflowAvailable, startMlflowServer, type TestMlflow } from '../helpers/mlflow-server.ts';
import { chromiumAvailable, launchChromium, type Browser } from '../helpers/chromium.ts';
import { quickstartPlan, writeFinishedRun, writePlan } from '../helpers/track-fixtures.ts';
import { syncRuns } from '../../runner/track/index.ts';

const ready = mlflowAvailable() && chromiumAvailable();
const run = ready ? describe : describe.skip;
const SHOTS = resolve(import.meta.dirname, '../../artifacts/track-ui');
const UI_TIMEOUT = 90_000; // the UI bundle is large and the test machine is shared

let server: TestMlflow;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  if (!ready) return;
  dir = mkdtempSync(join(tmpdir(), 'mmrun-ui-'));
  mkdirSync(SHOTS, { recursive: true });
  [server, browser] = await Promise.all([startMlflowServer(), launchChromium({ width: 1400, height: 900 })]);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

run('MLflow UI', () => {
  it('shows the sweep as a parent run with its children, and a metric chart', async () => {
    const plan = quickstartPlan(dir, 'uisweep');
    const artifacts = join(dir, 'artifacts');
    writePlan(artifacts, plan);
    const specs = plan.runs.slice(0, 4);
    const fakes = specs.map((spec) => writeFinishedRun(artifacts, plan, spec, { epochs: 3, steps: 20 }));
    const report = await syncRuns({ uri: server.uri, runDirs: fakes.map((f) => f.store.dir), plan });
    const experimentId = report.sweeps[0].experimentId;

    const page = await browser.context.newPage();
    await page.goto(`${server.uri}/#/experiments/${experimentId}/runs`);
    const parentRow = page.locator('[role="row"]', { hasText: `sweep ${plan.sweepId}` }).first();
    await parentRow.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.getByText(`${specs.length + 1} matching runs`).waitFor({ timeout: UI_TIMEOUT });
    // Children are nested under the parent: expand it and see every one of them.
    await parentRow.locator('button[data-component-id*="runnamecellrenderer"]').click();
    for (const spec of specs) await page.locator('[role="row"]', { hasText: spec.name }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    const shot1 = join(SHOTS, 'experiment-runs.png');
    await page.screenshot({ path: shot1 });

    const child = report.runs.find((r) => r.runId === specs[0].id)!;
    await page.goto(`${server.uri}/#/experiments/${experimentId}/runs/${child.runUuid}/model-metrics`);
    await page.getByRole('heading', { name: specs[0].name }).first().waitFor({ timeout: UI_TIMEOUT }).catch(() => undefined);
    const search = page.getByPlaceholder('Search metric charts');
    await search.waitFor({ timeout: UI_TIMEOUT });
    await search.fill('joint/loss');
    // The chart's legend names the run and the metric; the curve is a plotly line (the card shows a spinner until then).
    await page.getByText(`${specs[0].name} (joint/loss)`).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    const curve = page.locator('.js-plotly-plot .scatterlayer path.js-line').first();
    await curve.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.getByText('Step', { exact: true }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.mouse.move(5, 5); // no hover toolbar in the screenshot
    await page.waitForTimeout(500); // let the plot settle
    const shot2 = join(SHOTS, 'run-metric-chart.png');
    await page.screenshot({ path: shot2 });
    // 60 points (3 epochs x 20 steps): the line's path has many segments, not a placeholder.
    expect(((await curve.getAttribute('d')) ?? '').split('L').length).toBeGreaterThan(10);
    expect(statSync(shot1).size).toBeGreaterThan(10_000);
    expect(statSync(shot2).size).toBeGreaterThan(10_000);
    await page.close();
  });
});
