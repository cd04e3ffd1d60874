/**
 * The openai describer through the real `openai` SDK against a loopback OpenAI-compatible
 * stand-in: concurrency bound, retry-after on 429, 5xx failures and their retry on rerun,
 * 401, timeouts, usage, the zero-call rebuild, and a kill followed by a rerun.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { descriptionCacheFile, ensureDataset, loadDataset } from '../../runner/data/index.ts';
import { experiment, experimentFile, tempDir } from '../helpers/data-config.ts';
import { startOpenaiStandin, USAGE, type Standin } from '../helpers/openai-standin.ts';

const quiet = { log: () => {}, warn: () => {}, llmBackoffBaseMs: 10 };
// ~60 images: 1‰ of each MNIST training class plus 10 test images.
const dataset = (url: string, openai: Record<string, unknown> = {}) => ({
  source: 'mnist',
  image_fraction: 0.001,
  val_fraction: 0,
  max_test: 10,
  descriptions: { describer: 'openai', openai: { base_url: url, model: 'standin-vision', concurrency: 3, max_retries: 2, timeout_s: 10, ...openai } },
});

let standin: Standin;
let savedKey: string | undefined;
beforeEach(async () => {
  standin = await startOpenaiStandin();
  savedKey = process.env.OPENAI_API_KEY;
  process.env.OPENAI_API_KEY = 'test-key';
});
afterEach(async () => {
  await standin.close();
  if (savedKey === undefined) delete process.env.OPENAI_API_KEY;
  else process.env.OPENAI_API_KEY = savedKey;
});

describe('openai describer', { timeout: 300_000 }, () => {
  it('describes each image once within the concurrency bound, reports usage, and a rebuild makes zero calls', async () => {
    standin.reply = () => ({ delayMs: 25 });
    const dir = tempDir();
    const config = experiment(dir, dataset(standin.url));
    const plan = await ensureDataset(config, { ...quiet, dryRun: true });
    expect(standin.requests).toHaveLength(0);
    const n = plan.plan!.llm!.requests;
    expect(n).toBeGreaterThan(50);

    const logged: { line: string; at: number }[] = [];
    const ref = await ensureDataset(config, { ...quiet, log: (line) => logged.push({ line, at: performance.now() }) });
    const estimate = logged.find((l) => l.line.startsWith('estimate: '))!;
    expect(estimate.line).toMatch(new RegExp(`standin-vision: ${n} request\\(s\\) to send`));
    expect(estimate.at).toBeLessThan(standin.requests[0].receivedAt);
    expect(logged.find((l) => l.line.startsWith('usage: '))!.line).toMatch(new RegExp(`${n} request\\(s\\) succeeded, 0 failed`));
    expect(standin.requests).toHaveLength(n);
    expect(new Set(standin.requests.map((r) => r.key)).size).toBe(n);
    expect(standin.maxInFlight).toBe(3);
    expect(standin.requests[0].authorization).toBe('Bearer test-key');
    expect(standin.requests[0].model).toBe('standin-vision');
    const usage = ref.manifest!.descriptions.usage!;
    expect(usage).toMatchObject({ requests: n, failures: 0, retries: 0, inputTokens: n * USAGE.prompt_tokens, outputTokens: n * USAGE.completion_tokens });
    expect(usage.costUsd).toBeCloseTo((n * USAGE.prompt_tokens * 0.15 + n * USAGE.completion_tokens * 0.6) / 1e6, 10);
    const ds = loadDataset(ref.dir);
    expect(ds.train.texts[0]).toMatch(/^A test description of image [0-9a-f]{12}\.$/);

    rmSync(ref.dir, { recursive: true });
    const rebuilt = await ensureDataset(config, quiet);
    expect(rebuilt.status).toBe('built');
    expect(standin.requests).toHaveLength(n); // all from the cache
    expect(loadDataset(rebuilt.dir).train.texts).toEqual(ds.train.texts);
  });

  it('honours retry-after on 429', async () => {
    const throttled = new Map<string, number>();
    standin.reply = (req) => {
      if (throttled.size < 2 && !throttled.has(req.key)) {
        throttled.set(req.key, performance.now());
        return { status: 429, headers: { 'retry-after': '1' } };
      }
      return {};
    };
    const ref = await ensureDataset(experiment(tempDir(), dataset(standin.url)), quiet);
    expect(throttled.size).toBe(2);
    for (const [key, at] of throttled) {
      const retry = standin.requests.find((r) => r.key === key && r.receivedAt > at)!;
      expect(retry.receivedAt - at).toBeGreaterThanOrEqual(950);
    }
    expect(ref.manifest!.descriptions.usage!.retries).toBe(2);
  });

  it('5xx after retries: the item fails, the others finish, failures are listed; a rerun retries only those', async () => {
    let doomed: string | undefined;
    standin.reply = (req) => {
      doomed ??= req.key;
      return req.key === doomed ? { status: 503 } : {};
    };
    const dir = tempDir();
    const config = experiment(dir, dataset(standin.url, { max_retries: 1 }));
    await expect(ensureDataset(config, quiet)).rejects.toThrow(/1 of \d+ description\(s\) failed; the dataset was not written:\n {2}item \d+: gave up after 2 attempt\(s\): 503/);
    expect(standin.requests.filter((r) => r.key === doomed)).toHaveLength(2);
    const others = standin.requests.filter((r) => r.key !== doomed);
    expect(new Set(others.map((r) => r.key)).size).toBe(others.length);
    const cacheText = readFileSync(descriptionCacheFile(join(dir, 'artifacts', 'datasets')), 'utf8');
    expect(cacheText).toMatch(/"failed":"gave up after 2 attempt/);

    const before = standin.requests.length;
    standin.reply = () => ({});
    const warnings: string[] = [];
    const ref = await ensureDataset(config, { ...quiet, warn: (w) => warnings.push(w) });
    expect(ref.status).toBe('built');
    expect(standin.requests.slice(before).map((r) => r.key)).toEqual([doomed]);
    expect(warnings.join('\n')).toMatch(/retrying 1 description\(s\) that failed in an earlier build/);
  });

  it('401 stops the build at once with a clear message', async () => {
    standin.reply = () => ({ status: 401, body: { error: { message: 'Incorrect API key provided' } } });
    const dir = tempDir();
    await expect(ensureDataset(experiment(dir, dataset(standin.url)), quiet)).rejects.toThrow(/401 Unauthorized: the API key in OPENAI_API_KEY was rejected/);
    expect(standin.requests.length).toBeLessThanOrEqual(3);
  });

  it('retries a request that times out', async () => {
    standin.reply = (req) => (req.n === 0 ? 'hang' : {});
    // 5 s: only the hung request may time out, never an answered one slowed by a loaded machine.
    const ref = await ensureDataset(experiment(tempDir(), dataset(standin.url, { timeout_s: 5 })), quiet);
    expect(standin.requests.filter((r) => r.key === standin.requests[0].key)).toHaveLength(2);
    expect(ref.manifest!.descriptions.usage!.retries).toBe(1);
  });
});

function runCli(args: string[], dir: string): { done: Promise<number>; kill: () => void } {
  const child = spawn(process.execPath, [join(process.cwd(), 'bin/mmrun.js'), ...args], {
    cwd: dir,
    env: { ...process.env, OPENAI_API_KEY: 'test-key' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const done = new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
  done.then((code) => {
    if (code !== 0 && code !== 128) console.error(output);
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

describe('openai describer across a kill', { timeout: 300_000 }, () => {
  it('a killed build resumes: no image already answered is requested again', async () => {
    const ANSWER_BEFORE_KILL = 20;
    standin.reply = () => (standin.answered().length >= ANSWER_BEFORE_KILL ? 'hang' : {});
    const dir = tempDir();
    const file = experimentFile(dir, dataset(standin.url, { concurrency: 4 }));
    const cache = descriptionCacheFile(join(dir, 'artifacts', 'datasets'));
    const first = runCli(['dataset', 'build', file], dir);
    const lines = () => (existsSync(cache) ? readFileSync(cache, 'utf8').split('\n').filter(Boolean).length : 0);
    const deadline = Date.now() + 120_000;
    while (lines() < ANSWER_BEFORE_KILL && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(lines()).toBe(ANSWER_BEFORE_KILL);
    first.kill();
    await first.done;
    const answeredBefore = new Set(standin.answered());
    const requestsBefore = standin.requests.length;
    expect(answeredBefore.size).toBe(ANSWER_BEFORE_KILL);

    standin.reply = () => ({});
    expect(await runCli(['dataset', 'build', file], dir).done).toBe(0);
    const after = standin.requests.slice(requestsBefore).map((r) => r.key);
    expect(after.filter((k) => answeredBefore.has(k))).toEqual([]);
    expect(new Set(after).size).toBe(after.length);
    const all = standin.answered();
    expect(new Set(all).size).toBe(all.length); // nothing answered twice
    expect(existsSync(join(dir, 'artifacts', 'datasets'))).toBe(true);
    expect(await runCli(['dataset', 'build', file], dir).done).toBe(0);
    expect(standin.answered()).toHaveLength(all.length);
  });
});
