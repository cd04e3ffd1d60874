/**
 * ensureDataset: finds `artifacts/datasets/<name>-<hash>/` or builds it: load the source, select
 * stratified splits, describe every kept image, write into a temp folder, then rename it into
 * place. A lock keeps two processes from paying twice for the same descriptions; the rename
 * keeps a half-written folder from ever looking complete. A folder found is verified against its
 * checksums.json first; a damaged one is rebuilt (under the lock) with a one-line warning naming
 * the file that does not match.
 */
import { measureInformativeness } from './describe/informativeness.ts';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, isAbsolute, join, resolve } from 'node:path';
import type { Experiment, Dataset as DatasetConfig } from '../config/types.gen.ts';
import { MmrunError } from '../errors.ts';
import { datasetKey } from '../sweep/identity.ts';
import { sourceFingerprint } from './sources/fingerprint.ts';
import { version } from '../version.ts';
import { ATTRIBUTES_DESCRIBER_VERSION, describeImage, type ImageAttributes } from './describe/attributes.ts';
import { describeWithOpenai } from './describe/openai.ts';
import { requireApiKey } from './llm/client.ts';
import { formatEstimate, formatUsage, type UsageTotals } from './llm/usage.ts';
import { acquireLock } from './lock.ts';
import { loadSource } from './sources/index.ts';
import { gather, selectSplits } from './split.ts';
import { checkDatasetFiles, contentHash, EXTRA, readManifest, textStats, writeManifestAndChecksums, writeSplit } from './store.ts';
import { writeFailure } from '../files/fs-errors.ts';
import type { DatasetManifest, DatasetRef, ProgressEvent, SourceData, SplitName, SplitSummary } from './types.ts';
import { mkdirLevels } from '../files/mkdir.ts';

export interface EnsureOptions {
  /** Default: config.artifacts_dir. */
  artifactsDir?: string;
  onProgress?: (event: ProgressEvent) => void;
  /** Informational lines (estimate, usage, waiting); default console.log. */
  log?: (line: string) => void;
  /** Warnings (malformed cache lines, skipped files); default console.warn. */
  warn?: (line: string) => void;
  /** Compute what a build would do (counts, LLM cost estimate), write nothing. */
  dryRun?: boolean;
  /** Tests: first retry delay of the LLM client. */
  llmBackoffBaseMs?: number;
}

/** Readable folder-name stem: the source, plus the source folder's name when there is one. */
export function datasetName(cfg: DatasetConfig): string {
  const stem = cfg.path && cfg.source !== 'mnist' ? `${cfg.source}-${basename(resolve(cfg.path))}` : cfg.source;
  return stem.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'dataset';
}

export function datasetLocation(config: Experiment, artifactsDir?: string): { name: string; hash: string; dir: string; root: string } {
  const root = resolve(artifactsDir ?? config.artifacts_dir, 'datasets');
  const name = datasetName(config.dataset);
  // The source files' content hash, not their path: the same data anywhere is the same dataset.
  const hash = datasetKey(config, sourceFingerprint(config.dataset));
  return { name, hash, dir: join(root, `${name}-${hash}`), root };
}

/** Where LLM descriptions are cached: shared by every dataset under the same artifacts folder. */
export const descriptionCacheFile = (root: string) => join(root, '.cache', 'descriptions.jsonl');

const SUBJECT: Record<DatasetConfig['source'], string> = { mnist: 'digit', idx: 'figure', cifar10: 'picture', 'image-folder': 'picture' };

function summary(labels: Int32Array, numClasses: number): SplitSummary {
  const perClass = new Array<number>(numClasses).fill(0);
  for (const l of labels) perClass[l]++;
  return { count: labels.length, perClass };
}

interface Part {
  name: SplitName | typeof EXTRA;
  images: Uint8Array;
  labels: Int32Array;
}

export async function ensureDataset(config: Experiment, opts: EnsureOptions = {}): Promise<DatasetRef> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const warn = opts.warn ?? ((l: string) => console.warn(l));
  const cfg = config.dataset;
  if (cfg.path && !isAbsolute(cfg.path)) {
    throw new MmrunError(`dataset.path '${cfg.path}' must be absolute here (loadExperiment resolves it against the experiment file)`);
  }
  const { name, hash, dir, root } = datasetLocation(config, opts.artifactsDir);
  const done = () => existsSync(join(dir, 'manifest.json'));
  const found = (): DatasetRef => {
    const manifest = readManifest(dir);
    const v = manifest.descriptions.describerVersion;
    if (manifest.descriptions.describer === 'attributes' && v !== ATTRIBUTES_DESCRIBER_VERSION) {
      warn(`warning: ${dir} was described by attributes describer v${v ?? 0}, this mmrun has v${ATTRIBUTES_DESCRIBER_VERSION}; delete the folder to rebuild with the current texts`);
    }
    return { name, hash, dir, status: 'found', manifest };
  };
  /** A complete folder whose files all match their checksums (a legacy folder is verified and upgraded). */
  let damaged: string | undefined;
  const intact = (): boolean => {
    if (!done()) return false;
    let check: ReturnType<typeof checkDatasetFiles>;
    try {
      check = checkDatasetFiles(dir);
    } catch (err) {
      throw writeFailure(err, join(dir, 'checksums.json'), 'verify');
    }
    if (check.ok) {
      if (check.upgraded) log(`dataset ${dir}: built by an older mmrun; verified against its manifest's contentHash, checksums.json added`);
      return true;
    }
    if (damaged !== check.problem) warn(`warning: dataset damaged, rebuilding it: ${check.problem}`);
    damaged = check.problem;
    return false;
  };
  if (intact()) return found();
  // A damaged folder must not satisfy a waiter: wait for an intact one instead.
  const isDone = () => (damaged === undefined ? done() : intact());

  const useLlm = cfg.descriptions.describer === 'openai';
  const apiKey = useLlm && !opts.dryRun ? requireApiKey('dataset.descriptions.describer: openai') : process.env.OPENAI_API_KEY;

  let lock: Awaited<ReturnType<typeof acquireLock>> | undefined;
  if (!opts.dryRun) {
    const lockFile = join(root, '.locks', `${name}-${hash}.lock`);
    lock = await acquireLock(lockFile, {
      isDone,
      onWait: (holder) => log(`waiting: ${holder} is building dataset ${name}-${hash}`),
    }).catch((err: unknown) => {
      throw writeFailure(err, lockFile, 'create the lock');
    });
    if (lock === 'done') return found();
  }
  const tmp = join(root, `.tmp-${name}-${hash}-${hostname()}-${process.pid}`);
  try {
    if (!opts.dryRun && done()) {
      if (damaged === undefined || intact()) return found();
      // We hold the lock: move the damaged folder out of the way, then build anew.
      const aside = join(root, `.damaged-${name}-${hash}-${process.pid}`);
      try {
        renameSync(dir, aside);
        rmSync(aside, { recursive: true, force: true });
      } catch (err) {
        throw writeFailure(err, dir, 'remove the damaged dataset');
      }
    }
    const started = Date.now();

    const source: SourceData = await loadSource(cfg, (n, total) => opts.onProgress?.({ stage: 'load', label: 'decoding images', done: n, total, unit: 'images' }));
    for (const s of source.skipped) warn(`warning: skipped unreadable file ${s.file}: ${s.reason}`);
    const [h, w, c] = source.shape;
    const size = h * w * c;
    const numClasses = source.classNames.length;
    const sel = selectSplits(source.train.labels, source.test.labels, numClasses, cfg);
    const parts: Part[] = [
      { name: 'train', ...gather(source.train.images, source.train.labels, sel.train, size) },
      { name: 'val', ...gather(source.train.images, source.train.labels, sel.val, size) },
      { name: 'test', ...gather(source.test.images, source.test.labels, sel.test, size) },
    ];
    if (cfg.keep_all_texts) parts.push({ name: EXTRA, ...gather(source.train.images, source.train.labels, sel.dropped, size) });
    const counts = Object.fromEntries(parts.map((p) => [p.name === EXTRA ? 'extraTrainTexts' : p.name, p.labels.length])) as Record<SplitName | 'extraTrainTexts', number>;
    counts.extraTrainTexts ??= 0;
    const toDescribe = parts.reduce((a, p) => a + p.labels.length, 0);

    // Describe.
    const texts: string[][] = [];
    const attributes: ImageAttributes[][] = [];
    let usage: UsageTotals | undefined;
    let filtered: Record<string, number> | undefined;
    if (!useLlm) {
      if (opts.dryRun) return { name, hash, dir, status: 'planned', plan: { counts, toDescribe } };
      let n = 0;
      for (const p of parts) {
        const t: string[] = new Array(p.labels.length);
        const a: ImageAttributes[] = new Array(p.labels.length);
        for (let i = 0; i < p.labels.length; i++) {
          const d = describeImage(p.images.subarray(i * size, (i + 1) * size), source.shape, {
            mentionClass: cfg.descriptions.mention_class,
            className: source.classNames[p.labels[i]],
            subject: SUBJECT[cfg.source],
            style: cfg.descriptions.style,
          });
          t[i] = d.text;
          a[i] = d.attributes;
          if (++n % 2000 === 0) opts.onProgress?.({ stage: 'describe', label: 'describing', done: n, total: toDescribe, unit: 'images' });
        }
        texts.push(t);
        attributes.push(a);
      }
      opts.onProgress?.({ stage: 'describe', label: 'describing', done: n, total: toDescribe, unit: 'images' });
    } else {
      const items = parts.flatMap((p) => Array.from(p.labels, (label, i) => ({ pixels: p.images.subarray(i * size, (i + 1) * size), label })));
      const res = await describeWithOpenai(items, source.shape, cfg.descriptions, source.classNames, {
        cacheFile: descriptionCacheFile(root),
        apiKey,
        dryRun: opts.dryRun,
        warn,
        backoffBaseMs: opts.llmBackoffBaseMs,
        onEstimate: (e) => log(`estimate: ${formatEstimate(e)}`),
        onProgress: (n, total, extra) => opts.onProgress?.({ stage: 'describe', label: 'describing (openai)', done: n, total, unit: 'requests', extra }),
      });
      if (opts.dryRun) {
        log(`estimate: ${formatEstimate(res.estimate)}`);
        if (!process.env.OPENAI_API_KEY) log('note: OPENAI_API_KEY is not set; the real build will need it');
        return { name, hash, dir, status: 'planned', plan: { counts, toDescribe, llm: res.estimate } };
      }
      usage = res.usage;
      filtered = res.dropped;
      if (res.estimate.requests > 0 || res.usage.requests > 0) log(`usage: ${formatUsage(res.usage)}`);
      const drops = Object.entries(res.dropped).filter(([, n]) => n > 0);
      if (drops.length) log(`descriptions: dropped ${drops.map(([k, n]) => `${k} ${n}`).join(', ')} (re-asked; see runner/data/llm/filter.ts)`);
      if (res.failures.length) {
        const list = res.failures.slice(0, 10).map((f) => `  item ${f.index}: ${f.reason}`).join('\n');
        throw new MmrunError(
          `${res.failures.length} of ${items.length} description(s) failed; the dataset was not written:\n${list}${res.failures.length > 10 ? `\n  … and ${res.failures.length - 10} more` : ''}`,
          `The ${items.length - res.failures.length} descriptions received are cached in ${descriptionCacheFile(root)}; rerun \`mmrun dataset build\` to retry only the failed ones.`,
        );
      }
      let at = 0;
      for (const p of parts) {
        texts.push(res.texts.slice(at, at + p.labels.length) as string[]);
        at += p.labels.length;
      }
    }

    // Write into a temp folder, manifest last, then rename into place.
    for (const e of existsSync(root) ? readdirSync(root) : []) {
      if (e.startsWith(`.tmp-${name}-${hash}-`)) rmSync(join(root, e), { recursive: true, force: true }); // left by a killed build (we hold the lock)
    }
    try {
      mkdirLevels(tmp);
    } catch (err) {
      throw writeFailure(err, tmp, 'create');
    }
    const files: string[] = [];
    parts.forEach((p, k) => {
      opts.onProgress?.({ stage: 'write', label: 'writing', done: k, total: parts.length, unit: 'splits' });
      files.push(...writeSplit(tmp, p.name, { images: p.name === EXTRA ? undefined : p.images, labels: p.labels, texts: texts[k], attributes: useLlm ? undefined : attributes[k] }));
    });
    opts.onProgress?.({ stage: 'write', label: 'writing', done: parts.length, total: parts.length, unit: 'splits' });
    const extraLabels = parts.find((p) => p.name === EXTRA)?.labels ?? new Int32Array(0);
    const manifest: DatasetManifest = {
      format: 1,
      name,
      hash,
      createdAt: new Date().toISOString(),
      builder: `mmrun ${version}`,
      config: cfg,
      source: { type: cfg.source, path: cfg.source === 'mnist' ? null : (cfg.path ?? null), files: source.files, testOrigin: source.testOrigin, skipped: source.skipped },
      classNames: source.classNames,
      shape: source.shape,
      splits: {
        train: summary(parts[0].labels, numClasses),
        val: summary(parts[1].labels, numClasses),
        test: summary(parts[2].labels, numClasses),
        extraTrainTexts: summary(extraLabels, numClasses),
      },
      descriptions: {
        describer: cfg.descriptions.describer,
        ...(useLlm ? {} : { describerVersion: ATTRIBUTES_DESCRIBER_VERSION }),
        model: useLlm ? cfg.descriptions.openai.model : null,
        mentionClass: cfg.descriptions.mention_class,
        stats: textStats(texts.flat()),
        informativeness: measureInformativeness(
          { texts: texts[0], labels: parts[0].labels, attributes: useLlm ? undefined : attributes[0] },
          { texts: texts[2], labels: parts[2].labels, attributes: useLlm ? undefined : attributes[2] },
          numClasses,
        ),
        ...(usage ? { usage } : {}),
        ...(filtered ? { filtered } : {}),
      },
      contentHash: contentHash(tmp, files),
      buildSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
    writeManifestAndChecksums(tmp, files, manifest);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && done() && intact()) {
        return found(); // another builder won the race
      }
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        // An incomplete or damaged folder (no manifest, or files that do not verify): replace it.
        rmSync(dir, { recursive: true, force: true });
        renameSync(tmp, dir);
      } else throw writeFailure(err, dir, 'move the built dataset into');
    }
    return { name, hash, dir, status: 'built', manifest };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    if (lock && lock !== 'done') lock.release();
  }
}
