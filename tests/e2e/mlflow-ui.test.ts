// The real MLflow UI, in headless Chromium, shows a synced sweep: the parent run with its nested
// children and the sweep's report, a child's model folder, and a loss chart. Screenshots go to
// artifacts/test-results/mlflow-ui/ for a human look.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mlflowAvailable, startMlflowServer, type TestMlflow } from '../helpers/mlflow-server.ts';
import { chromiumAvailable, launchChromium, type Browser } from '../helpers/chromium.ts';
import { quickstartPlan, writeFinishedRun, writePlan } from '../helpers/track-fixtures.ts';
import { syncRuns as syncRunsOf, type SyncOptions } from '../../runner/track/index.ts';
import { writeDirectoryChecksums } from '../../runner/files/verified.ts';
import type { FakeRun } from '../helpers/track-fixtures.ts';
import { buildSweepAnalysis } from '../../runner/report/sweep-analysis.ts';

/** As commands and the launcher call them: with runner/report's analysis for the sweep's parent run. */
const syncRuns = (opts: SyncOptions) => syncRunsOf({ analyzeSweep: buildSweepAnalysis, ...opts });

/** A final checkpoint and tokenizer as a worker leaves them, so that sync uploads model/. */
function addModel(run: FakeRun): void {
  const ckpt = join(run.store.dir, 'checkpoints', 'retrain-epoch1');
  mkdirSync(ckpt, { recursive: true });
  writeFileSync(join(ckpt, 'weights.bin'), Buffer.alloc(4096, 1));
  writeFileSync(join(ckpt, 'manifest.json'), JSON.stringify({ format: 'fake', phase: 'retrain', step: 20, variables: [] }));
  writeDirectoryChecksums(ckpt, ['weights.bin', 'manifest.json']);
  writeFileSync(join(run.store.dir, 'checkpoints', 'latest.json'), JSON.stringify({ name: 'retrain-epoch1', phase: 'retrain', createdAt: new Date().toISOString() }));
  writeFileSync(run.store.path('tokenizer'), JSON.stringify({ kind: 'word', vocab: [] }));
}

const ready = mlflowAvailable() && chromiumAvailable();
const run = ready ? describe : describe.skip;
const SHOTS = resolve(import.meta.dirname, '../../artifacts/test-results/mlflow-ui');
const UI_TIMEOUT = 90_000; // the UI bundle is large and the test machine is shared

let server: TestMlflow;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  if (!ready) return;
  dir = mkdtempSync(join(tmpdir(), 'mmrun-ui-'));
  mkdirSync(SHOTS, { recursive: true });
  [server, browser] = await Promise.all([startMlflowServer(), launchChromium({ width: 1400, height: 900 })]);
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

run('MLflow UI', () => {
  it('shows the sweep with its children and report, a child\'s model, and a loss chart', async () => {
    const plan = quickstartPlan(dir, 'uisweep');
    const artifacts = join(dir, 'artifacts');
    writePlan(artifacts, plan);
    const specs = plan.runs;
    const fakes = specs.map((spec) => writeFinishedRun(artifacts, plan, spec, { epochs: 3, steps: 20 }));
    fakes.forEach(addModel);
    const report = await syncRuns({ uri: server.uri, runDirs: fakes.map((f) => f.store.dir), plan });
    expect(report.problems).toEqual([]);
    const experimentId = report.sweeps[0].experimentId;
    const parentUuid = report.sweeps[0].parentRunUuid;

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

    // The parent's artifacts: the sweep's report.
    await page.goto(`${server.uri}/#/experiments/${experimentId}/runs/${parentUuid}/artifacts`);
    const reportFolder = page.getByText('report', { exact: true }).first();
    await reportFolder.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await reportFolder.click();
    await page.getByText('report.html', { exact: true }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.getByText('comparison.csv', { exact: true }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.getByText('report.html', { exact: true }).first().click();
    await page.locator('iframe').first().waitFor({ state: 'visible', timeout: UI_TIMEOUT }); // the HTML preview loads in a frame
    const shot2 = join(SHOTS, 'parent-report-artifact.png');
    await page.screenshot({ path: shot2 });

    // A child's artifacts: the model folder with its checkpoint.
    const child = report.runs.find((r) => r.runId === specs[0].id)!;
    await page.goto(`${server.uri}/#/experiments/${experimentId}/runs/${child.runUuid}/artifacts`);
    const modelFolder = page.getByText('model', { exact: true }).first();
    await modelFolder.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await modelFolder.click();
    await page.getByText('tokenizer.json', { exact: true }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.getByText('checkpoint', { exact: true }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    const shot3 = join(SHOTS, 'child-model-artifact.png');
    await page.screenshot({ path: shot3 });

    // A loss chart: one key per quantity, one line.
    await page.goto(`${server.uri}/#/experiments/${experimentId}/runs/${child.runUuid}/model-metrics`);
    const search = page.getByPlaceholder('Search metric charts');
    await search.waitFor({ timeout: UI_TIMEOUT });
    await search.fill('train/loss');
    // The chart's legend names the run and the metric; the curve is a plotly line (the card shows a spinner until then).
    await page.getByText(`${specs[0].name} (train/loss)`).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    const curve = page.locator('.js-plotly-plot .scatterlayer path.js-line').first();
    await curve.waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.getByText('Step', { exact: true }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT });
    await page.mouse.move(5, 5); // no hover toolbar in the screenshot
    // 60 points (3 epochs x 20 steps): the line's path has many segments, not a placeholder (waited for: the plot draws late).
    await expect.poll(async () => ((await curve.getAttribute('d')) ?? '').split('L').length, { timeout: UI_TIMEOUT, interval: 200 }).toBeGreaterThan(10);
    const shot4 = join(SHOTS, 'run-loss-chart.png');
    await page.screenshot({ path: shot4 });
    for (const shot of [shot1, shot2, shot3, shot4]) expect(statSync(shot).size).toBeGreaterThan(10_000);
    await page.close();
  }, 600_000);
});
