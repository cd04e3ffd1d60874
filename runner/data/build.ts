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
import { acquireLockFile, type HeldLock } from '../lock-file.ts';
import { datasetKey } from '../sweep/identity.ts';
import { sourceFingerprint } from './sources/fingerprint.ts';
import { version } from '../version.ts';
import { ATTRIBUTES_DESCRIBER_VERSION, describeImage, type ImageAttributes } from './describe/attributes.ts';
import { describeWithOpenai } from './describe/openai.ts';
import { requireApiKey } from './llm/client.ts';
import { formatEstimate, formatUsage, type UsageTotals } from './llm/usage.ts';
import { loadSource } from './sources/index.ts';
import { gather, selectSplits } from './split.ts';
import { checkDatasetFiles, contentHash, EXTRA, readManifest, textStats, writeManifestAndChecksums, writeSplit } from './store.ts';
import { writeFailure } from '../files/fs-errors.ts';
import type { BuildPlan, DatasetManifest, DatasetRef, ProgressEvent, SourceData, SplitName, SplitSummary } from './types.ts';
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

/** Taken over from another host after a minute without a touch; the builder touches it every 10 s. */
const DATASET_LOCK = { staleMs: 60_000, heartbeatMs: 10_000 };

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

/** What one ensureDataset call works with. */
interface Build {
  cfg: DatasetConfig;
  opts: EnsureOptions;
  log: (line: string) => void;
  warn: (line: string) => void;
  name: string;
  hash: string;
  dir: string;
  root: string;
  useLlm: boolean;
}

/** The decoded source cut into the parts to describe and store. */
interface Selection {
  source: SourceData;
  parts: Part[];
  /** Bytes per image. */
  size: number;
  plan: BuildPlan;
}

interface Descriptions {
  /** Per part, in `parts` order. */
  texts: string[][];
  /** Per part; only from the attributes describer. */
  attributes?: ImageAttributes[][];
  usage?: UsageTotals;
  filtered?: Record<string, number>;
}

export async function ensureDataset(config: Experiment, opts: EnsureOptions = {}): Promise<DatasetRef> {
  const build = startBuild(config, opts);
  const folder = new DatasetFolder(build);
  if (folder.intact()) return folder.found();
  const apiKey = build.useLlm && !opts.dryRun ? requireApiKey('dataset.descriptions.describer: openai') : process.env.OPENAI_API_KEY;
  const lock = opts.dryRun ? undefined : await lockBuild(build, folder);
  if (lock === 'done') return folder.found();
  const tmp = join(build.root, `.tmp-${build.name}-${build.hash}-${hostname()}-${process.pid}`);
  try {
    if (!opts.dryRun && folder.complete()) {
      // Built while we took the lock (verified again if we had found it damaged), else damaged: replace it.
      if (folder.isDone()) return folder.found();
      removeDamaged(build); // we hold the lock
    }
    return await buildInto(tmp, build, folder, apiKey);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    lock?.release();
  }
}

function startBuild(config: Experiment, opts: EnsureOptions): Build {
  const cfg = config.dataset;
  if (cfg.path && !isAbsolute(cfg.path)) {
    throw new MmrunError(`dataset.path '${cfg.path}' must be absolute here (loadExperiment resolves it against the experiment file)`);
  }
  return {
    cfg,
    opts,
    log: opts.log ?? ((l: string) => console.log(l)),
    warn: opts.warn ?? ((l: string) => console.warn(l)),
    ...datasetLocation(config, opts.artifactsDir),
    useLlm: cfg.descriptions.describer === 'openai',
  };
}

/** The dataset's folder as found on disk; remembers the damage it reported, so it reports it once. */
class DatasetFolder {
  private damaged: string | undefined;

  constructor(private readonly build: Build) {}

  /** The manifest, written last, is there. */
  complete(): boolean {
    return existsSync(join(this.build.dir, 'manifest.json'));
  }

  /** Complete and every file matches its checksum (a legacy folder is verified and upgraded). */
  intact(): boolean {
    const { dir, log, warn } = this.build;
    if (!this.complete()) return false;
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
    if (this.damaged !== check.problem) warn(`warning: dataset damaged, rebuilding it: ${check.problem}`);
    this.damaged = check.problem;
    return false;
  }

  /** What a waiter waits for: a damaged folder must not satisfy it, an intact one must. */
  isDone(): boolean {
    return this.damaged === undefined ? this.complete() : this.intact();
  }

  found(): DatasetRef {
    const { name, hash, dir, warn } = this.build;
    const manifest = readManifest(dir);
    const v = manifest.descriptions.describerVersion;
    if (manifest.descriptions.describer === 'attributes' && v !== ATTRIBUTES_DESCRIBER_VERSION) {
      warn(`warning: ${dir} was described by attributes describer v${v ?? 0}, this mmrun has v${ATTRIBUTES_DESCRIBER_VERSION}; delete the folder to rebuild with the current texts`);
    }
    return { name, hash, dir, status: 'found', manifest };
  }
}

/** One builder per dataset (runner/lock-file.ts); 'done' when another process built it while we waited. */
async function lockBuild(build: Build, folder: DatasetFolder): Promise<HeldLock | 'done'> {
  const { name, hash, root, log } = build;
  const lockFile = join(root, '.locks', `${name}-${hash}.lock`);
  const got = await acquireLockFile(lockFile, {
    ...DATASET_LOCK,
    isDone: () => folder.isDone(),
    onWait: (holder) => log(`waiting: ${holder ? `pid ${holder.pid} on ${holder.host}` : 'another process'} is building dataset ${name}-${hash}`),
  }).catch((err: unknown) => {
    throw writeFailure(err, lockFile, 'create the lock');
  });
  return 'lock' in got ? got.lock : 'done';
}

/** Moves the damaged folder out of the way (under the lock), then removes it. */
function removeDamaged({ root, name, hash, dir }: Build): void {
  const aside = join(root, `.damaged-${name}-${hash}-${process.pid}`);
  try {
    renameSync(dir, aside);
    rmSync(aside, { recursive: true, force: true });
  } catch (err) {
    throw writeFailure(err, dir, 'remove the damaged dataset');
  }
}

/** Loads, selects, describes and writes the dataset into `tmp`, then moves it into place (a dry run stops at the plan). */
async function buildInto(tmp: string, build: Build, folder: DatasetFolder, apiKey: string | undefined): Promise<DatasetRef> {
  const { name, hash, dir } = build;
  const started = Date.now();
  const selection = await loadAndSelect(build);
  const described = build.useLlm ? await describeWithLlm(build, selection, apiKey) : describeWithAttributes(build, selection);
  if ('planned' in described) return { name, hash, dir, status: 'planned', plan: described.planned };
  const files = writeParts(tmp, build, selection.parts, described);
  const manifest = manifestOf(build, selection, described, contentHash(tmp, files), started);
  writeManifestAndChecksums(tmp, files, manifest);
  if (moveIntoPlace(tmp, build, folder) === 'lost the race') return folder.found();
  return { name, hash, dir, status: 'built', manifest };
}

/** Decodes the source and selects the stratified splits (plus, with keep_all_texts, the dropped train images). */
async function loadAndSelect({ cfg, opts, warn }: Build): Promise<Selection> {
  const source: SourceData = await loadSource(cfg, (n, total) => opts.onProgress?.({ stage: 'load', label: 'decoding images', done: n, total, unit: 'images' }));
  for (const s of source.skipped) warn(`warning: skipped unreadable file ${s.file}: ${s.reason}`);
  const [h, w, c] = source.shape;
  const size = h * w * c;
  const sel = selectSplits(source.train.labels, source.test.labels, source.classNames.length, cfg);
  const parts: Part[] = [
    { name: 'train', ...gather(source.train.images, source.train.labels, sel.train, size) },
    { name: 'val', ...gather(source.train.images, source.train.labels, sel.val, size) },
    { name: 'test', ...gather(source.test.images, source.test.labels, sel.test, size) },
  ];
  if (cfg.keep_all_texts) parts.push({ name: EXTRA, ...gather(source.train.images, source.train.labels, sel.dropped, size) });
  const counts = Object.fromEntries(parts.map((p) => [p.name === EXTRA ? 'extraTrainTexts' : p.name, p.labels.length])) as BuildPlan['counts'];
  counts.extraTrainTexts ??= 0;
  const toDescribe = parts.reduce((a, p) => a + p.labels.length, 0);
  return { source, parts, size, plan: { counts, toDescribe } };
}

/** The attributes describer: local, deterministic; progress every 2,000 images. */
function describeWithAttributes({ cfg, opts }: Build, { source, parts, size, plan }: Selection): Descriptions | { planned: BuildPlan } {
  if (opts.dryRun) return { planned: plan };
  const progress = (done: number) => opts.onProgress?.({ stage: 'describe', label: 'describing', done, total: plan.toDescribe, unit: 'images' });
  const texts: string[][] = [];
  const attributes: ImageAttributes[][] = [];
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
      if (++n % 2000 === 0) progress(n);
    }
    texts.push(t);
    attributes.push(a);
  }
  progress(n);
  return { texts, attributes };
}

/** The OpenAI describer (cached answers are reused); a dry run only estimates. Any failed description fails the build. */
async function describeWithLlm({ cfg, opts, log, warn, root }: Build, { source, parts, size, plan }: Selection, apiKey: string | undefined): Promise<Descriptions | { planned: BuildPlan }> {
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
    return { planned: { ...plan, llm: res.estimate } };
  }
  if (res.estimate.requests > 0 || res.usage.requests > 0) log(`usage: ${formatUsage(res.usage)}`);
  const drops = Object.entries(res.dropped).filter(([, n]) => n > 0);
  if (drops.length) log(`descriptions: dropped ${drops.map(([k, n]) => `${k} ${n}`).join(', ')} (re-asked; see runner/data/llm/filter.ts)`);
  if (res.failures.length) throw descriptionsFailed(res.failures, items.length, root);
  const texts: string[][] = [];
  let at = 0;
  for (const p of parts) {
    texts.push(res.texts.slice(at, at + p.labels.length) as string[]);
    at += p.labels.length;
  }
  return { texts, usage: res.usage, filtered: res.dropped };
}

function descriptionsFailed(failures: { index: number; reason: string }[], total: number, root: string): MmrunError {
  const list = failures.slice(0, 10).map((f) => `  item ${f.index}: ${f.reason}`).join('\n');
  return new MmrunError(
    `${failures.length} of ${total} description(s) failed; the dataset was not written:\n${list}${failures.length > 10 ? `\n  … and ${failures.length - 10} more` : ''}`,
    `The ${total - failures.length} descriptions received are cached in ${descriptionCacheFile(root)}; rerun \`mmrun dataset build\` to retry only the failed ones.`,
  );
}

/** Writes every part into a fresh `tmp` (temp folders left by a killed build are removed: we hold the lock); returns the files written. */
function writeParts(tmp: string, { root, name, hash, opts }: Build, parts: Part[], { texts, attributes }: Descriptions): string[] {
  for (const e of existsSync(root) ? readdirSync(root) : []) {
    if (e.startsWith(`.tmp-${name}-${hash}-`)) rmSync(join(root, e), { recursive: true, force: true });
  }
  try {
    mkdirLevels(tmp);
  } catch (err) {
    throw writeFailure(err, tmp, 'create');
  }
  const progress = (done: number) => opts.onProgress?.({ stage: 'write', label: 'writing', done, total: parts.length, unit: 'splits' });
  const files: string[] = [];
  parts.forEach((p, k) => {
    progress(k);
    files.push(...writeSplit(tmp, p.name, { images: p.name === EXTRA ? undefined : p.images, labels: p.labels, texts: texts[k], attributes: attributes?.[k] }));
  });
  progress(parts.length);
  return files;
}

function manifestOf({ cfg, name, hash, useLlm }: Build, { source, parts }: Selection, described: Descriptions, hashOfContent: string, started: number): DatasetManifest {
  const { texts, attributes, usage, filtered } = described;
  const numClasses = source.classNames.length;
  const extraLabels = parts.find((p) => p.name === EXTRA)?.labels ?? new Int32Array(0);
  return {
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
        { texts: texts[0], labels: parts[0].labels, attributes: attributes?.[0] },
        { texts: texts[2], labels: parts[2].labels, attributes: attributes?.[2] },
        numClasses,
      ),
      ...(usage ? { usage } : {}),
      ...(filtered ? { filtered } : {}),
    },
    contentHash: hashOfContent,
    buildSeconds: Math.round((Date.now() - started) / 100) / 10,
  };
}

/** Renames `tmp` to the dataset folder; 'lost the race' when another builder put an intact one there first. */
function moveIntoPlace(tmp: string, { dir }: Build, folder: DatasetFolder): 'moved' | 'lost the race' {
  try {
    renameSync(tmp, dir);
    return 'moved';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw writeFailure(err, dir, 'move the built dataset into');
    if (folder.intact()) return 'lost the race';
    // An incomplete or damaged folder (no manifest, or files that do not verify): replace it.
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return 'moved';
  }
}
