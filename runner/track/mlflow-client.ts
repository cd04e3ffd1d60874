// A typed client for the MLflow REST API 2.0 on Node's fetch.
// Why not an npm package: `mlflow-tracking-client` does not exist on npm; npm `mlflow` 2.0.7
// wraps the 1.x API (experiments/list, removed in MLflow 2.0), has no get-by-name, run names
// or artifact upload and prints request bodies; `mlflow-tracing` covers LLM traces only.
import { setTimeout as sleep } from 'node:timers/promises';
import { MmrunError } from '../errors.ts';
import { splitCredentials, trackingUriProblem } from '../config/tracking-uri.ts';
import { fitEntries, splitBatch, type Batch, type KeyValue, type Metric, type Truncation } from './mlflow-limits.ts';

export type MlflowRunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface MlflowExperiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage: 'active' | 'deleted';
  tags?: KeyValue[];
}

export interface MlflowRunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  status: MlflowRunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: 'active' | 'deleted';
}

export interface MlflowRun {
  info: MlflowRunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
}

/** The server answered with an error the caller must fix (4xx), or kept failing (5xx). */
export class MlflowError extends MmrunError {
  constructor(
    message: string,
    readonly status: number,
    readonly errorCode: string | undefined,
    readonly endpoint: string,
  ) {
    super(message);
    this.name = 'MlflowError';
  }
}

/** No answer from the server after every retry (refused, DNS, timeout). */
export class MlflowUnreachableError extends MmrunError {
  constructor(
    readonly uri: string,
    readonly reason: string,
  ) {
    super(`MLflow at ${uri} is unreachable: ${reason}`);
    this.name = 'MlflowUnreachableError';
  }
}

/** The server does not proxy artifacts, so mmrun cannot upload them over HTTP. */
export class ArtifactProxyUnavailableError extends MmrunError {
  constructor(uri: string, detail: string) {
    super(
      `MLflow at ${uri} does not proxy artifacts (${detail}); runs, params and metrics are synced but artifacts are not.`,
      'Start the server with artifact serving: `mlflow server --serve-artifacts --artifacts-destination <dir>` (no --default-artifact-root pointing at storage mmrun cannot reach).',
    );
    this.name = 'ArtifactProxyUnavailableError';
  }
}

export interface MlflowClientOptions {
  uri: string;
  /** Attempts per request for connection errors and 5xx (default 4). */
  attempts?: number;
  /** First backoff delay in ms, doubled each retry (default 500). */
  backoffMs?: number;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** Extra headers; by default taken from MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD. */
  headers?: Record<string, string>;
}

export class MlflowClient {
  readonly uri: string;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(opts: MlflowClientOptions) {
    // Credentials in the URI become a header: fetch refuses URLs holding them, and this.uri is
    // printed, used as a state key and sent nowhere with a password in it.
    const { uri, authorization } = splitCredentials(normalizeTrackingUri(opts.uri));
    this.uri = uri;
    this.attempts = Math.max(1, opts.attempts ?? 4);
    this.backoffMs = opts.backoffMs ?? 500;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.headers = opts.headers ?? (authorization ? { authorization } : authHeadersFromEnv());
  }

  /** True when GET /health answers. Never throws. */
  async ping(timeoutMs = 3000): Promise<boolean> {
    try {
      const res = await fetch(`${this.uri}/health`, { signal: AbortSignal.timeout(timeoutMs), headers: this.headers });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  }

  async getExperimentByName(name: string): Promise<MlflowExperiment | undefined> {
    try {
      const r = await this.call<{ experiment: MlflowExperiment }>('GET', 'experiments/get-by-name', { experiment_name: name });
      return r.experiment;
    } catch (err) {
      if (err instanceof MlflowError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  async createExperiment(name: string, tags: KeyValue[] = []): Promise<string> {
    const r = await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name, tags });
    return r.experiment_id;
  }

  /** The id of the active experiment with this name, created (with `tags`) when missing. */
  async ensureExperiment(name: string, tags: KeyValue[] = []): Promise<string> {
    const found = await this.getExperimentByName(name);
    if (found?.lifecycle_stage === 'deleted') {
      throw new MmrunError(
        `MLflow experiment '${name}' at ${this.uri} is deleted.`,
        `Restore it (\`mlflow experiments restore --experiment-id ${found.experiment_id}\`) or set tracking.experiment to another name.`,
      );
    }
    if (found) return found.experiment_id;
    try {
      return await this.createExperiment(name, tags);
    } catch (err) {
      // Another process created it between our two calls.
      if (err instanceof MlflowError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const again = await this.getExperimentByName(name);
        if (again) return again.experiment_id;
      }
      throw err;
    }
  }

  /**
   * Creates a run with ONE attempt: a create whose answer was lost (timeout, reset, 5xx after the
   * commit) may have happened, so retrying blindly makes twins. Callers look the run up by its
   * tags before creating again (runner/track/sync-lookup.ts findOrCreateRun).
   */
  async createRun(args: { experimentId: string; runName: string; startTime: number; tags: KeyValue[] }): Promise<MlflowRun> {
    // Tags here are limited like log-batch tags; the caller sends long ones via logBatch.
    const r = await this.call<{ run: MlflowRun }>(
      'POST',
      'runs/create',
      { experiment_id: args.experimentId, run_name: args.runName, start_time: args.startTime, tags: args.tags },
      1,
    );
    return r.run;
  }

  async setExperimentTag(experimentId: string, key: string, value: string): Promise<void> {
    await this.call('POST', 'experiments/set-experiment-tag', { experiment_id: experimentId, key, value });
  }

  /** Dataset inputs of a run (what the UI's Datasets column shows). */
  async logInputs(runId: string, inputs: { name: string; digest: string; source_type: string; source: string; schema?: string; profile?: string; tags: KeyValue[] }[]): Promise<void> {
    await this.call('POST', 'runs/log-inputs', {
      run_id: runId,
      datasets: inputs.map(({ tags, ...dataset }) => ({ tags, dataset })),
    });
  }

  /** Marks a run deleted (it disappears from searches of active runs). */
  async deleteRun(runId: string): Promise<void> {
    await this.call('POST', 'runs/delete', { run_id: runId });
  }

  async updateRun(args: { runId: string; status?: MlflowRunStatus; endTime?: number; runName?: string }): Promise<MlflowRunInfo> {
    const r = await this.call<{ run_info: MlflowRunInfo }>('POST', 'runs/update', {
      run_id: args.runId,
      status: args.status,
      end_time: args.endTime,
      run_name: args.runName,
    });
    return r.run_info;
  }

  /** The run, or undefined when the server does not know it. */
  async getRun(runId: string): Promise<MlflowRun | undefined> {
    try {
      return (await this.call<{ run: MlflowRun }>('GET', 'runs/get', { run_id: runId })).run;
    } catch (err) {
      if (err instanceof MlflowError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  /** Every run matching the filter (all pages). */
  async searchRuns(args: { experimentIds: string[]; filter?: string; orderBy?: string[]; viewType?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL' }): Promise<MlflowRun[]> {
    const runs: MlflowRun[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.call<{ runs?: MlflowRun[]; next_page_token?: string }>('POST', 'runs/search', {
        experiment_ids: args.experimentIds,
        filter: args.filter,
        run_view_type: args.viewType ?? 'ACTIVE_ONLY',
        max_results: 1000,
        order_by: args.orderBy,
        page_token: pageToken,
      });
      runs.push(...(r.runs ?? []));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return runs;
  }

  /**
   * Logs metrics, params and tags, split into as many requests as the server's limits need.
   * Over-long keys and values are shortened; the originals are returned so the caller can
   * keep them in an artifact.
   */
  async logBatch(runId: string, batch: Partial<Batch>): Promise<{ requests: number; truncations: Truncation[] }> {
    const { batch: fitted, truncations } = fitEntries({ metrics: batch.metrics ?? [], params: batch.params ?? [], tags: batch.tags ?? [] });
    const parts = splitBatch(fitted);
    for (const part of parts) {
      await this.call('POST', 'runs/log-batch', { run_id: runId, metrics: part.metrics.map(encodeMetric), params: part.params, tags: part.tags });
    }
    return { requests: parts.length, truncations };
  }

  async setTag(runId: string, key: string, value: string): Promise<Truncation[]> {
    return (await this.logBatch(runId, { tags: [{ key, value }] })).truncations;
  }

  async deleteTag(runId: string, key: string): Promise<void> {
    await this.call('POST', 'runs/delete-tag', { run_id: runId, key });
  }

  /** Every logged value of one metric. */
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const out: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.call<{ metrics?: Metric[]; next_page_token?: string }>('GET', 'metrics/get-history', {
        run_id: runId,
        metric_key: key,
        max_results: '25000',
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      out.push(...(r.metrics ?? []));
      pageToken = r.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  async listArtifacts(runId: string, path?: string): Promise<{ path: string; is_dir: boolean; file_size?: number }[]> {
    const r = await this.call<{ files?: { path: string; is_dir: boolean; file_size?: number }[] }>('GET', 'artifacts/list', {
      run_id: runId,
      ...(path ? { path } : {}),
    });
    return r.files ?? [];
  }

  /**
   * Uploads one file through the server's artifact proxy, under the run's artifact root.
   * `artifactUri` is the run's info.artifact_uri (`mlflow-artifacts:/<exp>/<run>/artifacts`).
   */
  async uploadArtifact(artifactUri: string, relPath: string, body: Buffer | string): Promise<void> {
    const base = proxyPathOf(artifactUri, this.uri);
    const path = [...base.split('/'), ...relPath.split('/')].filter(Boolean).map(encodeURIComponent).join('/');
    await this.request('PUT', `${this.uri}/api/2.0/mlflow-artifacts/artifacts/${path}`, typeof body === 'string' ? Buffer.from(body) : body, 'application/octet-stream', 'mlflow-artifacts');
  }

  /** Downloads one artifact through the proxy (used by tests and checks). */
  async downloadArtifact(artifactUri: string, relPath: string): Promise<Buffer> {
    const base = proxyPathOf(artifactUri, this.uri);
    const path = [...base.split('/'), ...relPath.split('/')].filter(Boolean).map(encodeURIComponent).join('/');
    return this.request('GET', `${this.uri}/api/2.0/mlflow-artifacts/artifacts/${path}`, undefined, undefined, 'mlflow-artifacts');
  }

  private async call<T>(method: 'GET' | 'POST', endpoint: string, payload: Record<string, unknown>, attempts = this.attempts): Promise<T> {
    let url = `${this.uri}/api/2.0/mlflow/${endpoint}`;
    let body: Buffer | undefined;
    if (method === 'GET') {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(payload)) if (v !== undefined) qs.set(k, String(v));
      url += `?${qs}`;
    } else {
      body = Buffer.from(JSON.stringify(payload));
    }
    const raw = await this.request(method, url, body, 'application/json', endpoint, attempts);
    return (raw.length ? JSON.parse(raw.toString('utf8')) : {}) as T;
  }

  private async request(method: string, url: string, body: Buffer | undefined, contentType: string | undefined, endpoint: string, attempts = this.attempts): Promise<Buffer> {
    let lastReason = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await sleep(this.backoffMs * 2 ** (attempt - 2) * (0.75 + Math.random() * 0.5));
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          body: body as unknown as BodyInit | undefined,
          headers: { ...this.headers, ...(contentType && body ? { 'content-type': contentType } : {}) },
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        lastReason = connectionReason(err);
        continue;
      }
      const buf = Buffer.from(await res.arrayBuffer());
      if (res.ok) return buf;
      const { code, message } = parseError(buf);
      if (endpoint === 'mlflow-artifacts' && isProxyDisabled(res.status, message)) {
        throw new ArtifactProxyUnavailableError(this.uri, message || `HTTP ${res.status}`);
      }
      if (res.status >= 500 || res.status === 429) {
        lastReason = `HTTP ${res.status}${message ? `: ${message}` : ''}`;
        if (attempt === attempts) throw new MlflowError(`MLflow ${endpoint} failed after ${attempt} attempts: ${lastReason}`, res.status, code, endpoint);
        continue;
      }
      throw new MlflowError(`MLflow ${endpoint} rejected the request (HTTP ${res.status}${code ? ` ${code}` : ''}): ${message || buf.toString('utf8').slice(0, 500)}`, res.status, code, endpoint);
    }
    throw new MlflowUnreachableError(this.uri, lastReason);
  }
}

/** http(s) URI without a trailing slash; other schemes are refused with a hint. */
export function normalizeTrackingUri(uri: string): string {
  const trimmed = uri.trim().replace(/\/+$/, '');
  const problem = trackingUriProblem(trimmed);
  if (problem) {
    throw new MmrunError(
      `Tracking URI ${problem}.`,
      'Start a server (`mlflow server`, or `mmrun ui`) and set MLFLOW_TRACKING_URI=http://127.0.0.1:5000 or tracking.uri.',
    );
  }
  return trimmed;
}

/** `mlflow-artifacts:/1/abc/artifacts` or `mlflow-artifacts://host:port/1/abc/artifacts` → `1/abc/artifacts`. */
export function proxyPathOf(artifactUri: string, serverUri: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/?(.*)$/.exec(artifactUri);
  if (!m) throw new ArtifactProxyUnavailableError(serverUri, `its runs store artifacts at '${artifactUri}', not through mlflow-artifacts:/`);
  return m[1].replace(/\/+$/, '');
}

function encodeMetric(m: Metric): Record<string, unknown> {
  // JSON has no NaN/Infinity; the server's protobuf JSON parser accepts them as strings.
  const value = Number.isFinite(m.value) ? m.value : Number.isNaN(m.value) ? 'NaN' : m.value > 0 ? 'Infinity' : '-Infinity';
  return { key: m.key, value, timestamp: Math.round(m.timestamp), step: Math.round(m.step) };
}

function parseError(buf: Buffer): { code?: string; message: string } {
  const text = buf.toString('utf8');
  try {
    const j = JSON.parse(text) as { error_code?: string; message?: string };
    return { code: j.error_code, message: shorten(j.message ?? text, 600) };
  } catch {
    return { message: text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 500) };
  }
}

function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

function isProxyDisabled(status: number, message: string): boolean {
  return /serve-artifacts|artifacts-only|proxied artifact/i.test(message) || status === 404;
}

function connectionReason(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'no answer (timed out)';
  return e.cause?.code ?? e.cause?.message ?? e.message;
}

function authHeadersFromEnv(): Record<string, string> {
  const token = process.env.MLFLOW_TRACKING_TOKEN;
  if (token) return { authorization: `Bearer ${token}` };
  const user = process.env.MLFLOW_TRACKING_USERNAME;
  const pass = process.env.MLFLOW_TRACKING_PASSWORD;
  if (user && pass) return { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
  return {};
}
