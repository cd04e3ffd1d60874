/** `mmrun report`: comparison + figures + narrative → report.html and plots/*.svg|png. */
import { writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { availableMetrics, compareRuns, type RunResult } from './aggregate.ts';
import { accuracyFigure, confusionFigure, embeddingFigure, learningFigure, sharedSpaceFigure, type Figure } from './figures.ts';
import { renderPage, type RenderedFigure } from './html.ts';
import { loadRunDetails, type RunDetails } from './load.ts';
import { writeNarrative } from './narrative.ts';
import { renderSvg, svgToPng } from './render.ts';
import { requireFinished, resolveControl, type Study } from './study.ts';
import { mkdirLevels } from '../files/mkdir.ts';

export const REPORT_METRICS = [
  'image_acc',
  'text_acc',
  'modality_gap',
  'retrieval_i2t_r1',
  'retrieval_t2i_r1',
  'transfer_text_to_image_acc',
  'transfer_image_to_text_acc',
];

export interface ReportOptions {
  out?: string; // default <artifacts>/reports/<experiment>/report.html
  png?: boolean; // default true
  now?: Date;
  /** `<path>=<value>`: the control arm (default: report.control of the file, else the default rule). */
  control?: string;
  /** Show unadjusted p values beside the Holm-adjusted ones. */
  rawP?: boolean;
}

export interface ReportResult {
  html: string;
  plots: string[]; // files written
  figures: string[]; // ids drawn
  skipped: string[]; // figures that could not be drawn, and why
}

export function defaultReportPath(study: Study): string {
  return join(study.artifactsDir, 'reports', study.plan.experiment, 'report.html');
}

/** Per-run files, read once and only when a figure asks (embeddings can be large). */
/** `problems` collects the damaged files met (their figures leave that run out). */
function detailsReader(artifactsDir: string, problems: Set<string>): (id: string) => RunDetails {
  const cache = new Map<string, RunDetails>();
  const noting = (d: RunDetails) => {
    for (const p of d.problems ?? []) problems.add(p);
    return d;
  };
  return (id) => {
    let d = cache.get(id);
    if (!d) {
      const base = noting(loadRunDetails(artifactsDir, id, { metrics: true }));
      let embeddings: RunDetails['embeddings'] | null = null;
      d = Object.defineProperty(base, 'embeddings', {
        get: () => (embeddings ??= noting(loadRunDetails(artifactsDir, id, { metrics: false, embeddings: true })).embeddings),
        enumerable: true,
      });
      cache.set(id, d);
    }
    return d;
  };
}

export async function buildReport(study: Study, opts: ReportOptions = {}): Promise<ReportResult> {
  requireFinished(study);
  const found = availableMetrics(study.runs);
  const comparison = compareRuns(study.runs, { metrics: REPORT_METRICS.filter((m) => found.includes(m)), control: resolveControl(study, opts.control) });
  const runsById = new Map<string, RunResult>(study.runs.map((r) => [r.id, r]));
  const damaged = new Set<string>();
  const details = detailsReader(study.artifactsDir, damaged);
  const classNames = study.plan.runs[0]?.config.dataset.class_names ?? [];

  const candidates: [string, () => Figure | undefined, string][] = [
    ['Image accuracy vs ratio', () => accuracyFigure(comparison), 'needs a numeric grid axis (e.g. augmentation.ratio) and image_acc'],
    ['Learning curves', () => learningFigure(comparison, runsById, details), 'no metrics.jsonl lines with loss or val_image_acc in the finished runs'],
    ['Shared-space metrics vs ratio', () => sharedSpaceFigure(comparison), 'needs a numeric grid axis and modality-gap / retrieval / transfer metrics'],
    ['Confusion matrices', () => confusionFigure(comparison, runsById, details, classNames as string[]), 'no confusion matrix in the finished runs’ summary.json'],
    ['Embeddings PCA', () => embeddingFigure(comparison, runsById, details), 'no embeddings.json in the finished runs'],
  ];
  const figures: Figure[] = [];
  const skipped: string[] = [];
  for (const [name, make, why] of candidates) {
    const f = make();
    if (f) figures.push(f);
    else skipped.push(`${name}: not drawn (${why}).`);
  }
  for (const p of damaged) skipped.push(`Left out of the plots: ${p}.`);

  const out = resolve(opts.out ?? defaultReportPath(study));
  const plotsDir = join(dirname(out), 'plots');
  mkdirLevels(plotsDir);
  const rendered: RenderedFigure[] = [];
  const plots: string[] = [];
  for (const f of figures) {
    const svg = await renderSvg(f.spec);
    rendered.push({ id: f.id, title: f.title, caption: f.caption, svg });
    const svgFile = join(plotsDir, `${f.id}.svg`);
    writeFileSync(svgFile, svg);
    plots.push(svgFile);
    if (opts.png !== false) {
      const pngFile = join(plotsDir, `${f.id}.png`);
      await svgToPng(svg, pngFile);
      plots.push(pngFile);
    }
    writeFileSync(join(plotsDir, `${f.id}.vl.json`), JSON.stringify(f.spec));
  }

  const rel = relative(process.cwd(), study.plan.file);
  const file = !rel || rel.startsWith('..') ? study.plan.file : rel;
  const narrative = writeNarrative(comparison, { unfinished: comparison.unfinished, orphans: study.orphans });
  const html = renderPage({
    experiment: study.plan.experiment,
    description: study.plan.runs[0]?.config.description,
    file,
    sweepId: study.plan.sweepId,
    generatedAt: (opts.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z'),
    reproduce: [`mmrun run ${file}`, `mmrun compare ${file}${opts.control ? ` --control ${opts.control}` : ''}`, `mmrun report ${file}${opts.control ? ` --control ${opts.control}` : ''}${opts.out ? ` --out ${opts.out}` : ''}`],
    design: describeDesign(study),
    narrative,
    comparison,
    figures: rendered,
    skippedFigures: skipped,
    orphans: study.orphans,
    rawP: opts.rawP,
  });
  writeFileSync(out, html);
  return { html: out, plots, figures: figures.map((f) => f.id), skipped };
}

/** "augmentation.ratio ∈ {0, 2, 8} × dataset.image_fraction ∈ {0.01, 0.1} · ablations: baseline, no_align · seeds 0–4 · 60 runs" */
export function describeDesign(study: Study): string {
  const axes = new Map<string, unknown[]>();
  for (const r of study.plan.runs) {
    for (const [k, v] of Object.entries(r.coords)) {
      const vs = axes.get(k) ?? [];
      if (!vs.some((x) => JSON.stringify(x) === JSON.stringify(v))) vs.push(v);
      axes.set(k, vs);
    }
  }
  const parts: string[] = [];
  if (axes.size) parts.push([...axes].map(([k, vs]) => `${k} ∈ {${vs.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}}`).join(' × '));
  const ablations = [...new Set(study.plan.runs.map((r) => r.ablation))];
  if (ablations.length > 1) parts.push(`ablations: ${ablations.join(', ')}`);
  const seeds = [...new Set(study.plan.runs.map((r) => r.seed))].sort((a, b) => a - b);
  const contiguous = seeds.length > 2 && seeds.every((s, i) => i === 0 || s === seeds[i - 1] + 1);
  parts.push(`seed${seeds.length === 1 ? '' : 's'} ${contiguous ? `${seeds[0]}–${seeds[seeds.length - 1]}` : seeds.join(', ')}`);
  parts.push(`${study.plan.runs.length} runs`);
  return parts.join(' · ');
}
