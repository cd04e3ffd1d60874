/**
 * The report's figures: data prepared from the comparison and the run files, as Vega-Lite
 * specs. Pure given `details` (the caller reads the files).
 */
import { ABLATION_KEY, BASELINE, RATIO_PATH, shortKey, formatValue, type Comparison, type Row, type RunResult } from './aggregate.ts';
import type { EmbeddingsFile, RunDetails } from './load.ts';
import { isProportion, metricRange } from './metrics.ts';
import { pca } from './pca.ts';
import {
  confusionSpec,
  curveSpec,
  embeddingSpec,
  panelCurveSpec,
  learningCurveSpec,
  type AxisInfo,
  type ConfusionCell,
  type CurvePoint,
  type EmbeddingPoint,
  type LearningPoint,
  type VegaLiteSpec,
} from './plots.ts';

export interface Figure {
  id: string; // file name of plots/<id>.svg
  title: string;
  caption: string;
  spec: VegaLiteSpec;
}

export const METRIC_TITLES: Record<string, string> = {
  image_acc: 'image accuracy',
  text_acc: 'text accuracy',
  modality_gap: 'modality gap (lower = closer)',
  retrieval_i2t_r1: 'retrieval image→text R@1',
  retrieval_i2t_r5: 'retrieval image→text R@5',
  retrieval_t2i_r1: 'retrieval text→image R@1',
  retrieval_t2i_r5: 'retrieval text→image R@5',
  transfer_text_to_image_acc: 'transfer text→image accuracy',
  transfer_image_to_text_acc: 'transfer image→text accuracy',
  val_image_acc: 'validation image accuracy',
  val_text_acc: 'validation text accuracy',
};

export const SHARED_SPACE_METRICS = ['modality_gap', 'retrieval_i2t_r1', 'retrieval_t2i_r1', 'transfer_text_to_image_acc', 'transfer_image_to_text_acc', 'text_acc'];

export function metricTitle(m: string): string {
  return METRIC_TITLES[m] ?? m;
}

/** Human phrase for one coordinate: "1% images", "no_align", "dim=64". */
export function describeValue(key: string, value: unknown): string {
  if (key === ABLATION_KEY) return formatValue(value);
  if (key.endsWith('image_fraction') && typeof value === 'number') return `${+(value * 100).toPrecision(3)}% images`;
  if (key === RATIO_PATH) return `ratio ${formatValue(value)}`;
  return `${shortKey(key)}=${formatValue(value)}`;
}

/** The numeric axis plots are drawn against: the augmentation ratio, else the first numeric grid axis. */
export function xAxisKey(c: Comparison): string | undefined {
  if (c.by.includes(RATIO_PATH)) return RATIO_PATH;
  return c.by.find((k) => k !== ABLATION_KEY && c.rows.every((r) => typeof r.values[k] === 'number'));
}

export function seriesOf(c: Comparison, row: Row, x: string | undefined): string {
  const parts = c.by.filter((k) => k !== x).map((k) => describeValue(k, row.values[k]));
  return parts.length ? parts.join(' · ') : 'all runs';
}

/** "ratio 8 · 1% images · no_align": the sweep axis first, then the other keys. */
export function armLabel(c: Comparison, row: Row): string {
  const x = xAxisKey(c);
  const keys = x ? [x, ...c.by.filter((k) => k !== x)] : c.by;
  return keys.map((k) => describeValue(k, row.values[k])).join(' · ') || 'all runs';
}

function hasAblations(c: Comparison): boolean {
  return new Set(c.rows.map((r) => r.values[ABLATION_KEY])).size > 1;
}

function seriesTitle(c: Comparison, x: string | undefined): string {
  const keys = c.by.filter((k) => k !== x);
  return keys.length ? keys.map((k) => (k === ABLATION_KEY ? 'ablation' : shortKey(k) === 'frac' ? 'image fraction' : shortKey(k))).join(' · ') : 'runs';
}

function axisInfo(c: Comparison, x: string): AxisInfo {
  const values = [...new Set(c.rows.map((r) => r.values[x]).filter((v): v is number => typeof v === 'number'))].sort((a, b) => a - b);
  if (x === RATIO_PATH) return { field: x, title: 'augmentation ratio (augmented texts per original text)', shortTitle: 'augmentation ratio', values };
  if (x.endsWith('image_fraction')) return { field: x, title: 'fraction of training images kept', shortTitle: 'image fraction', values, format: '~%' };
  return { field: x, title: x, shortTitle: shortKey(x), values };
}

function curvePoints(c: Comparison, metric: string, x: string): CurvePoint[] {
  const points: CurvePoint[] = [];
  for (const row of c.rows) {
    const s = row.stats[metric];
    const xv = row.values[x];
    if (!s || s.n === 0 || typeof xv !== 'number') continue;
    points.push({ x: xv, series: seriesOf(c, row, x), mean: s.mean, lo: s.ci?.[0], hi: s.ci?.[1], n: s.n, metric });
  }
  return points.sort((a, b) => a.x - b.x);
}

const CLIPPED_NOTE = ' Bands wider than the plot are cut at its edge (with two seeds a 95% t interval is ±12.7 standard errors); the tables give them in full.';

export function accuracyFigure(c: Comparison): Figure | undefined {
  const x = xAxisKey(c);
  if (!x || !c.metrics.includes('image_acc')) return undefined;
  const points = curvePoints(c, 'image_acc', x);
  if (points.length === 0) return undefined;
  const spec = curveSpec({ title: '', points, x: axisInfo(c, x), yTitle: 'test image accuracy', proportion: true, seriesTitle: seriesTitle(c, x), bounds: metricRange('image_acc') });
  return {
    id: 'image-accuracy',
    title: `Image accuracy vs ${x === RATIO_PATH ? 'augmentation ratio' : x}`,
    caption: `Test image accuracy, mean over seeds; the band is the 95% Student-t confidence interval of the mean (absent where only one seed finished).${spec.clipped ? CLIPPED_NOTE : ''}`,
    spec,
  };
}

export function sharedSpaceFigure(c: Comparison): Figure | undefined {
  const x = xAxisKey(c);
  const metrics = SHARED_SPACE_METRICS.filter((m) => c.metrics.includes(m));
  if (!x || metrics.length === 0) return undefined;
  const points = metrics.flatMap((m) => curvePoints(c, m, x));
  if (points.length === 0) return undefined;
  const panels = metrics.map((m) => ({ metric: m, title: metricTitle(m), proportion: isProportion(m), bounds: metricRange(m) }));
  const spec = panelCurveSpec({ title: '', points, x: axisInfo(c, x), seriesTitle: seriesTitle(c, x), panels });
  return {
    id: 'shared-space',
    title: 'Is the space shared? Modality gap, retrieval and cross-modal transfer',
    caption:
      `Modality gap: distance between the image and text centroids of normalised embeddings (lower: the modalities overlap). Retrieval R@1 on held-out pairs. Transfer: a linear classifier fit on one modality’s embeddings, scored on the other’s. Mean over seeds with 95% CI bands.${spec.clipped ? CLIPPED_NOTE : ''}`,
    spec,
  };
}

const LEARNING_CHARTS: [chart: string, metric: string, kinds: string[]][] = [
  ['Training loss (weighted sum of the terms)', 'loss', ['step']],
  ['Validation image accuracy', 'val_image_acc', ['epoch', 'eval']],
];

/** Mean learning curves per series over the finished runs; phases laid end to end. */
export function learningFigure(c: Comparison, runsById: Map<string, RunResult>, details: (id: string) => RunDetails): Figure | undefined {
  let rows = c.rows;
  // Many lines are unreadable: keep the baseline arms, then at most 8 series.
  if (rows.length > 8 && hasAblations(c)) rows = rows.filter((r) => r.values[ABLATION_KEY] === BASELINE);
  if (rows.length > 8) {
    const fracKey = c.by.find((k) => k.endsWith('image_fraction'));
    if (fracKey) {
      const smallest = Math.min(...rows.map((r) => Number(r.values[fracKey])));
      rows = rows.filter((r) => r.values[fracKey] === smallest);
    }
    rows = rows.slice(0, 8);
  }
  const points: LearningPoint[] = [];
  const boundaries: number[] = [];
  for (const row of rows) {
    const acc = new Map<string, { sum: number; n: number; x: number; chart: string }>();
    for (const id of row.runIds) {
      const run = runsById.get(id);
      if (!run || run.state !== 'finished') continue;
      const lines = details(id).metrics;
      const phaseOrder: string[] = [];
      const phaseEnd = new Map<string, number>();
      for (const l of lines) {
        if (!phaseOrder.includes(l.phase)) phaseOrder.push(l.phase);
        phaseEnd.set(l.phase, Math.max(phaseEnd.get(l.phase) ?? 0, l.step));
      }
      const offset = new Map<string, number>();
      let total = 0;
      for (const p of phaseOrder) {
        offset.set(p, total);
        total += phaseEnd.get(p) ?? 0;
      }
      if (phaseOrder.length > 1) boundaries.push(offset.get(phaseOrder[1])!);
      for (const l of lines) {
        for (const [chart, metric, kinds] of LEARNING_CHARTS) {
          const v = l.metrics[metric];
          if (!kinds.includes(l.kind) || typeof v !== 'number' || !Number.isFinite(v)) continue;
          const gx = l.step + (offset.get(l.phase) ?? 0);
          const key = `${chart}|${gx}`;
          const a = acc.get(key) ?? { sum: 0, n: 0, x: gx, chart };
          a.sum += v;
          a.n++;
          acc.set(key, a);
        }
      }
    }
    for (const a of acc.values()) points.push({ x: a.x, series: armLabel(c, row), value: a.sum / a.n, chart: a.chart });
  }
  if (points.length === 0) return undefined;
  points.sort((p, q) => p.x - q.x);
  const boundary = boundaries.length ? boundaries.reduce((s, b) => s + b, 0) / boundaries.length : undefined;
  return {
    id: 'learning-curves',
    title: 'Learning curves',
    caption: `Mean over the finished seeds of each arm${rows.length < c.rows.length ? ` (${rows.length} of ${c.rows.length} arms shown)` : ''}: training loss per logged step and validation image accuracy per epoch; the retrain phase follows the joint phase.`,
    spec: learningCurveSpec({ title: '', points, phaseBoundary: boundary, seriesTitle: 'arm', percentCharts: LEARNING_CHARTS.filter(([, m]) => isProportion(m)).map(([chart]) => chart) }),
  };
}

/** The two arms the detail plots contrast: the control and the treated arm with the largest image-accuracy gain. */
export function contrastRows(c: Comparison): { control?: Row; treated?: Row } {
  const treated = c.rows
    .filter((r) => r.role === 'treated' && r.deltas.image_acc && r.deltas.image_acc.n > 0)
    .sort((a, b) => b.deltas.image_acc.meanDiff - a.deltas.image_acc.meanDiff)[0];
  if (treated) {
    const control = c.rows.find((r) => r.label === treated.controlLabel);
    return { control, treated };
  }
  const best = c.rows.filter((r) => r.stats.image_acc?.n > 0).sort((a, b) => b.stats.image_acc.mean - a.stats.image_acc.mean)[0];
  return { treated: best };
}

function armName(c: Comparison, row: Row, role: 'control' | 'treated'): string {
  return `${role}: ${armLabel(c, row)}`;
}

export function confusionFigure(c: Comparison, runsById: Map<string, RunResult>, details: (id: string) => RunDetails, classNames: string[]): Figure | undefined {
  const { control, treated } = contrastRows(c);
  const cells: ConfusionCell[] = [];
  let classes = classNames;
  for (const [row, role] of [
    [control, 'control'],
    [treated, 'treated'],
  ] as const) {
    if (!row) continue;
    let sum: number[][] | undefined;
    for (const id of row.runIds) {
      if (runsById.get(id)?.state !== 'finished') continue;
      const m = details(id).summary?.confusion?.image;
      if (!m?.length) continue;
      sum ??= m.map((r) => r.map(() => 0));
      m.forEach((r, i) => r.forEach((v, j) => (sum![i][j] += v)));
    }
    if (!sum) continue;
    if (classes.length !== sum.length) classes = sum.map((_, i) => String(i));
    const panel = armName(c, row, role);
    sum.forEach((r, i) => {
      const total = r.reduce((a, b) => a + b, 0) || 1;
      r.forEach((v, j) => cells.push({ panel, actual: classes[i], predicted: classes[j], share: v / total, order: i }));
    });
  }
  if (cells.length === 0) return undefined;
  return {
    id: 'confusion',
    title: 'Image confusion matrices',
    caption: 'Test images, summed over the finished seeds of each arm and normalised per true class. Left: the control arm; right: the arm with the largest image-accuracy gain over it.',
    spec: confusionSpec({ title: '', cells, classes }),
  };
}

export function embeddingFigure(c: Comparison, runsById: Map<string, RunResult>, details: (id: string) => RunDetails): Figure | undefined {
  const { control, treated } = contrastRows(c);
  const arms = [
    [control, 'control'],
    [treated, 'treated'],
  ] as const;
  // The same seed in both panels, so the two pictures differ by the arm only.
  const seedsWith = (row: Row | undefined) => new Set((row?.runIds ?? []).map((id) => runsById.get(id)).filter((r) => r?.state === 'finished').map((r) => r!.seed));
  const common = [...seedsWith(treated)].filter((s) => !control || seedsWith(control).has(s)).sort((a, b) => a - b);
  const points: EmbeddingPoint[] = [];
  const panels: { name: string; title: string[] }[] = [];
  let classes: string[] = [];
  for (const [row, role] of arms) {
    if (!row) continue;
    const run = row.runIds.map((id) => runsById.get(id)).find((r) => r?.state === 'finished' && (common.length === 0 || r.seed === common[0]));
    if (!run) continue;
    const emb: EmbeddingsFile | undefined = details(run.id).embeddings;
    if (!emb || emb.image.length + emb.text.length < 3) continue;
    classes = emb.classes;
    const all = [...emb.image.map((e) => ({ ...e, modality: 'image' as const })), ...emb.text.map((e) => ({ ...e, modality: 'text' as const }))];
    const projected = pca(all.map((e) => e.v));
    const share = projected.explained.reduce((a, b) => a + b, 0);
    const panel = armName(c, row, role);
    panels.push({ name: panel, title: [panel, `seed ${run.seed} · PC 1–2 explain ${(share * 100).toFixed(0)}% of the variance`] });
    all.forEach((e, i) => points.push({ panel, pc1: projected.points[i][0], pc2: projected.points[i][1] ?? 0, class: emb.classes[e.label] ?? String(e.label), modality: e.modality }));
  }
  if (points.length === 0) return undefined;
  return {
    id: 'embeddings',
    title: 'Shared space, 2-D PCA',
    caption: 'Test embeddings in the shared space projected on their first two principal components (fit per panel on images and texts together). Colour: class; circle: image, triangle: text. In a truly shared space the two shapes of one colour overlap.',
    spec: embeddingSpec({ title: '', points, classes, panels }),
  };
}
