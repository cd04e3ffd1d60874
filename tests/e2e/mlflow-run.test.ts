// `mmrun run` on a shrunk quickstart against a real MLflow server (the launcher's sync loop and
// every worker's sync-on-exit together), then everything checked through the REST API: one
// parent, one child per planned run, a model per child, dataset inputs, system metrics, no
// (key, step) pair logged twice, the report on the parent. Then `mmrun predict` on a child.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { mlflowAvailable, startMlflowServer, type TestMlflow, tagsOf } from '../helpers/mlflow-server.ts';
import { writeShrunkQuickstart } from '../helpers/shrunk-quickstart.ts';
import { tempFiles } from '../helpers/tmp.ts';
import { MlflowClient, type MlflowRun } from '../../runner/track/mlflow-client.ts';
import { TAG } from '../../runner/track/mlflow-mapping.ts';

const run = mlflowAvailable() ? describe : describe.skip;
const ROOT = resolve(import.meta.dirname, '../..');

let server: TestMlflow;
let client: MlflowClient;
const t = tempFiles();

beforeAll(async () => {
  if (!mlflowAvailable()) return;
  server = await startMlflowServer();
  client = new MlflowClient({ uri: server.uri });
}, 300_000);

afterAll(async () => {
  await server?.stop();
  rmSync(t.dir, { recursive: true, force: true });
});

/** The CLI in a child process; async, so that vitest's worker stays responsive during long runs. */
function mmrun(env: Record<string, string>, ...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn('node', [join(ROOT, 'bin/mmrun.js'), ...args], { cwd: t.dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

/** Test images of the run's dataset as PNG files, with their labels. */
async function testImages(artifacts: string, n: number): Promise<{ file: string; label: number }[]> {
  const datasets = join(artifacts, 'datasets');
  const name = readdirSync(datasets).find((d) => existsSync(join(datasets, d, 'manifest.json')))!;
  const manifest = JSON.parse(readFileSync(join(datasets, name, 'manifest.json'), 'utf8')) as { shape: [number, number, number] };
  const [h, w, c] = manifest.shape;
  const images = readFileSync(join(datasets, name, 'test.images.u8'));
  const labels = new Int32Array(new Uint8Array(readFileSync(join(datasets, name, 'test.labels.i32'))).buffer);
  const out: { file: string; label: number }[] = [];
  for (let i = 0; i < n; i++) {
    const file = join(t.dir, `test-${i}.png`);
    await sharp(images.subarray(i * h * w * c, (i + 1) * h * w * c), { raw: { width: w, height: h, channels: c as 1 | 3 } }).png().toFile(file);
    out.push({ file, label: labels[i] });
  }
  return out;
}

async function download(runId: string, artifactUri: string, path: string, to: string): Promise<void> {
  for (const f of await client.listArtifacts(runId, path)) {
    if (f.is_dir) await download(runId, artifactUri, f.path, to);
    else {
      mkdirSync(dirname(join(to, f.path)), { recursive: true });
      writeFileSync(join(to, f.path), await client.downloadArtifact(artifactUri, f.path));
    }
  }
}

async function artifactPaths(runId: string, path?: string): Promise<string[]> {
  const out: string[] = [];
  for (const f of await client.listArtifacts(runId, path)) {
    if (f.is_dir) out.push(...(await artifactPaths(runId, f.path)));
    else out.push(f.path);
  }
  return out;
}

run('mmrun run against a real MLflow server', () => {
  it('gives one parent, one complete child per planned run, and the analysis on the parent', { timeout: 1_200_000 }, async () => {
    const file = writeShrunkQuickstart(t.dir, { name: 'mlflow-e2e', imageFraction: 0.01, maxTest: 200, retrievalPool: 100, embeddingsSample: 40, extra: 'seeds: 1\n' });
    const env = { MLFLOW_TRACKING_URI: server.uri, MMRUN_SYSTEM_METRICS_INTERVAL_S: '1' };
    const plan = JSON.parse((await mmrun(env, 'plan', file, '--json')).stdout) as { sweepId: string; runs: { id: string; name: string }[] };
    expect(plan.runs).toHaveLength(4);

    const first = await mmrun(env, 'run', file);
    const out = first.stdout + first.stderr;
    expect(out).not.toMatch(/internal error|warning: MLflow/);
    expect(first.status).toBe(0);
    expect(out).toContain(`${server.uri}/#/experiments/`);

    const exp = await client.getExperimentByName('mlflow-e2e');
    expect(exp?.tags?.find((x) => x.key === TAG.note)?.value).toMatch(/Text-only augmentation/);
    const runs = await client.searchRuns({ experimentIds: [exp!.experiment_id] });
    const parents = runs.filter((r) => tagsOf(r)[TAG.kind] === 'sweep');
    expect(parents).toHaveLength(1);
    const parent = parents[0];
    const children = runs.filter((r) => tagsOf(r)[TAG.kind] === 'run');
    expect(children.map((r) => tagsOf(r)[TAG.runId]).sort()).toEqual(plan.runs.map((r) => r.id).sort());
    expect(runs).toHaveLength(plan.runs.length + 1);

    for (const child of children) {
      const id = child.info.run_id;
      const tags = tagsOf(child);
      expect(tags[TAG.parentRunId]).toBe(parent.info.run_id);
      expect(child.info.status).toBe('FINISHED');
      expect(tags[TAG.note]).toMatch(/augmentation\.ratio = [04]/);
      // The model: final weights, tokenizer, resolved config.
      const files = await artifactPaths(id, 'model');
      expect(files).toEqual(expect.arrayContaining(['model/checkpoint/weights.bin', 'model/checkpoint/manifest.json', 'model/tokenizer.json', 'model/config.json', 'model/dataset.json']));
      expect(tags[TAG.modelPath]).toBe('model');
      // Dataset inputs: the base set for every run, the augmented set for ratio 4.
      const full = (await client.getRun(id)) as MlflowRun & { inputs?: { dataset_inputs?: { dataset: { name: string; digest: string; profile?: string } }[] } };
      const datasets = full.inputs?.dataset_inputs ?? [];
      expect(datasets.length).toBe(tags[`${TAG.coordPrefix}augmentation.ratio`] === '4' ? 2 : 1);
      expect(JSON.parse(datasets[0].dataset.profile ?? '{}').train).toBeGreaterThan(0);
      // Metrics: system ones, clean curves, each (key, step) once.
      const keys = (full.data.metrics ?? []).map((m) => m.key);
      expect(keys).toEqual(expect.arrayContaining(['system/cpu_utilization_percentage', 'system/system_memory_usage_megabytes', 'train/loss', 'epoch/loss', 'epoch', 'final/image_acc']));
      expect(keys.some((k) => /samples_per_s|rss_mb/.test(k))).toBe(false);
      for (const key of keys) {
        const history = await client.getMetricHistory(id, key);
        const steps = history.map((m) => m.step);
        expect(new Set(steps).size, `${key} has a step logged twice`).toBe(steps.length);
        if (key.startsWith('final/')) expect(history).toHaveLength(1);
      }
      // One step axis across phases: retrain continues where joint ended.
      const loss = await client.getMetricHistory(id, 'train/loss');
      expect(Math.max(...loss.map((m) => m.step))).toBeGreaterThan(Number(full.data.metrics!.find((m) => m.key === 'joint/image_acc')!.step));
    }
    // Runs that reused another run's joint phase say so.
    const reused = children.filter((c) => tagsOf(c)[TAG.jointReusedFrom]);
    expect(reused.length).toBeGreaterThanOrEqual(1);
    for (const r of reused) expect(tagsOf(r)[TAG.jointReusedFrom]).toMatch(/^run [0-9a-f]{12}, joint phase/);

    // The parent carries the analysis.
    const parentFiles = await artifactPaths(parent.info.run_id);
    expect(parentFiles).toEqual(expect.arrayContaining(['report/report.html', 'report/comparison.csv', 'report/comparison.json']));
    expect(parentFiles.some((f) => /^report\/plots\/.+\.png$/.test(f))).toBe(true);
    const html = (await client.downloadArtifact(parent.info.artifact_uri, 'report/report.html')).toString('utf8');
    expect(html).toContain('mlflow-e2e');
    const parentRun = (await client.getRun(parent.info.run_id))!;
    const parentMetrics = Object.fromEntries((parentRun.data.metrics ?? []).map((m) => [m.key, m.value]));
    expect(parentMetrics['runs_finished']).toBe(4);
    expect(parentMetrics['best/image_acc']).toBeGreaterThan(0.1);
    expect(tagsOf(parentRun)['mmrun.best_arm.image_acc']).toBeTruthy();
    expect(parentRun.info.status).toBe('FINISHED');

    // A second run and a sync change nothing on the server.
    expect((await mmrun(env, 'run', file)).status).toBe(0);
    const sync = await mmrun(env, 'sync', file);
    expect(sync.stdout).toMatch(/0 created/);
    expect((await client.searchRuns({ experimentIds: [exp!.experiment_id] })).length).toBe(plan.runs.length + 1);

    // `mmrun predict` with a run id, and with the model folder downloaded from MLflow.
    const images = await testImages(join(t.dir, 'artifacts'), 20);
    const child = children[0];
    const runId = tagsOf(child)[TAG.runId];
    const byId = await mmrun({}, 'predict', runId, ...images.map((i) => i.file), '--json');
    expect(byId.stderr).not.toMatch(/internal error/);
    expect(byId.status).toBe(0);
    const predicted = JSON.parse(byId.stdout) as { results: { image: string; prediction: string; probabilities: Record<string, number> }[] };
    expect(predicted.results).toHaveLength(images.length);
    const classes = JSON.parse((await client.downloadArtifact(child.info.artifact_uri, 'model/dataset.json')).toString('utf8')).classNames as string[];
    for (const r of predicted.results) {
      expect(classes).toContain(r.prediction);
      expect(Object.values(r.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    }
    const correct = predicted.results.filter((r, i) => r.prediction === classes[images[i].label]).length;
    const summary = JSON.parse(readFileSync(join(t.dir, 'artifacts/runs', runId, 'summary.json'), 'utf8'));
    if (summary.final.image_acc > 0.5) expect(correct / images.length).toBeGreaterThan(0.25); // chance is 0.1
    const modelDir = join(t.dir, 'downloaded');
    await download(child.info.run_id, child.info.artifact_uri, 'model', modelDir);
    const fromFolder = await mmrun({}, 'predict', join(modelDir, 'model'), ...images.map((i) => i.file), '--json');
    expect(fromFolder.status).toBe(0);
    expect((JSON.parse(fromFolder.stdout) as typeof predicted).results.map((r) => r.prediction)).toEqual(predicted.results.map((r) => r.prediction));
    console.log(`predict: ${correct}/${images.length} test images right (run image_acc ${summary.final.image_acc})`);
  });
});
