/**
 * Vega-Lite specifications of the report's plots, from prepared data. Pure: rendering is in
 * render.ts. Every spec carries its data inline (`data.values`), so nothing is fetched.
 */

export type VegaLiteSpec = Record<string, unknown>;

export interface CurvePoint {
  x: number;
  series: string;
  mean: number;
  lo?: number; // CI bounds; absent when n < 2 (no band drawn there)
  hi?: number;
  n: number;
  metric?: string; // facet
}

const FONT = 'Helvetica, Arial, sans-serif';

export const BASE_CONFIG = {
  font: FONT,
  view: { stroke: '#dddddd' },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#eeeeee', domainColor: '#888888', tickColor: '#888888' },
  legend: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', labelLimit: 320, titleLimit: 320 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 14, fontWeight: 'normal', anchor: 'start', offset: 10 },
  range: { category: ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'] },
};

function withBase(spec: VegaLiteSpec): VegaLiteSpec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', background: 'white', padding: 8, config: BASE_CONFIG, ...spec };
}

export interface AxisInfo {
  field: string; // for the axis title
  title: string;
  shortTitle?: string; // for small panels
  values: number[]; // ticks
  format?: string; // d3 format of the tick labels
}

function xScale(values: number[]): Record<string, unknown> {
  const positive = values.filter((v) => v > 0);
  const spread = positive.length ? Math.max(...positive) / Math.min(...positive) : 1;
  return spread >= 16 ? { type: 'symlog' } : { type: 'linear' };
}

/**
 * Tick labels that show the grid values as written (32, 128, 0.25), never "3e+1": an axis'
 * own format is re-derived from the tick step, which rounds values that are not on a decimal
 * step. A d3 format (e.g. '~%') is applied as given.
 */
export function tickLabel(format?: string): string {
  return format ? `format(datum.value, '${format}')` : "'' + datum.value";
}

function bandAndLine(
  x: AxisInfo,
  yTitle: string,
  yFormat: string,
  zero: boolean,
  seriesTitle: string,
  legend: 'right' | 'bottom' | 'none' = 'right',
  domain?: [number, number],
  seriesOrder?: string[],
): VegaLiteSpec[] {
  const xEnc = { field: 'x', type: 'quantitative', title: x.title, scale: xScale(x.values), axis: { values: x.values, grid: false, labelExpr: tickLabel(x.format) } };
  const color = { field: 'series', type: 'nominal', title: seriesTitle, ...(seriesOrder ? { sort: seriesOrder } : {}), legend: legend === 'none' ? null : { symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3, ...(legend === 'right' ? { orient: 'right' } : { orient: 'bottom', direction: 'horizontal', columns: 4 }) } };
  return [
    {
      transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
      mark: { type: 'area', opacity: 0.16, interpolate: 'linear', clip: true },
      encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
    },
    {
      mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2 },
      encoding: {
        x: xEnc,
        y: { field: 'mean', type: 'quantitative', title: yTitle || null, scale: domain ? { zero, domain, nice: false } : { zero }, axis: { format: yFormat } },
        color,
        tooltip: [
          { field: 'series', title: seriesTitle },
          { field: 'x', title: x.title },
          { field: 'mean', format: yFormat },
          { field: 'lo', format: yFormat, title: 'CI low' },
          { field: 'hi', format: yFormat, title: 'CI high' },
          { field: 'n' },
        ],
      },
    },
  ];
}

/** Series in order of first appearance (the caller's order: numbers ascending, baseline first). */
function seriesOrder(points: CurvePoint[]): string[] {
  return [...new Set(points.map((p) => p.series))];
}

function seriesCount(points: CurvePoint[]): number {
  return new Set(points.map((p) => p.series)).size;
}

/**
 * The y range of a curve plot: every mean, and the CI bands as far as they stay readable. With
 * two seeds a t interval is ±12.7 standard errors and would flatten every line, so bands reach
 * at most one spread of the means beyond them (and are cut at the edge: `clipped`). The range
 * is at least `minSpan` wide, so that noise of a few tenths of a point does not look like a trend.
 */
export function yDomain(points: CurvePoint[], minSpan: number, bounds?: [number, number]): { domain: [number, number]; clipped: boolean } | undefined {
  const means = points.map((p) => p.mean).filter(Number.isFinite);
  if (means.length === 0) return undefined;
  const mLo = Math.min(...means);
  const mHi = Math.max(...means);
  const spread = Math.max(mHi - mLo, minSpan);
  const ciLo = Math.min(mLo, ...points.map((p) => p.lo ?? p.mean));
  const ciHi = Math.max(mHi, ...points.map((p) => p.hi ?? p.mean));
  let lo = Math.max(ciLo, mLo - spread);
  let hi = Math.min(ciHi, mHi + spread);
  const clipped = lo > ciLo || hi < ciHi;
  if (hi - lo < minSpan) {
    const mid = (lo + hi) / 2;
    lo = mid - minSpan / 2;
    hi = mid + minSpan / 2;
  }
  if (bounds) {
    if (lo < bounds[0]) [lo, hi] = [bounds[0], Math.max(hi, bounds[0] + minSpan)];
    if (hi > bounds[1]) [lo, hi] = [Math.min(lo, bounds[1] - minSpan), bounds[1]];
  }
  return { domain: [lo, hi], clipped };
}

/**
 * Percent tick labels with the decimals the tick step needs: whole percents on wide ranges, one
 * decimal (trailing zero trimmed: 90%, 90.5%) on ranges under 20 points, where ticks fall on
 * half points and whole percents would print "90%" twice.
 */
export function percentFormat(domain: [number, number] | undefined): string {
  return domain && domain[1] - domain[0] < 0.2 ? '.1~%' : '.0%';
}

export interface CurvePanel {
  metric: string;
  title: string;
  proportion: boolean;
  bounds?: [number, number];
}

function minSpanOf(panel: { proportion: boolean }, points: CurvePoint[]): number {
  if (panel.proportion) return 0.02;
  const scale = Math.max(...points.map((p) => Math.abs(p.mean)).filter(Number.isFinite), 0);
  return Math.max(0.02 * scale, 1e-6);
}

/** One metric against the sweep axis (e.g. image accuracy vs augmentation ratio), CI bands. */
export function curveSpec(o: { title: string; points: CurvePoint[]; x: AxisInfo; yTitle: string; proportion: boolean; seriesTitle: string; bounds?: [number, number] }): VegaLiteSpec & { clipped: boolean } {
  const y = yDomain(o.points, minSpanOf(o, o.points), o.bounds);
  const format = o.proportion ? percentFormat(y?.domain) : '.3~f';
  const spec = withBase({
    title: o.title,
    width: 520,
    height: 300,
    data: { values: o.points },
    layer: bandAndLine(o.x, o.yTitle, format, false, o.seriesTitle, seriesCount(o.points) > 1 ? 'right' : 'none', y?.domain, seriesOrder(o.points)),
  });
  return Object.defineProperty(spec, 'clipped', { value: y?.clipped ?? false, enumerable: false }) as VegaLiteSpec & { clipped: boolean };
}

/** Several metrics against the sweep axis, one small panel each with its own y range. */
export function panelCurveSpec(o: { title: string; points: CurvePoint[]; x: AxisInfo; seriesTitle: string; panels: CurvePanel[]; columns?: number }): VegaLiteSpec & { clipped: boolean } {
  let clipped = false;
  const legend = seriesCount(o.points) > 1 ? 'bottom' : 'none';
  const charts = o.panels.map((p) => {
    const pts = o.points.filter((q) => q.metric === p.metric);
    const y = yDomain(pts, minSpanOf(p, pts), p.bounds);
    clipped ||= y?.clipped ?? false;
    return {
      width: 230,
      height: 150,
      title: { text: p.title, fontSize: 12 },
      transform: [{ filter: { field: 'metric', equal: p.metric } }],
      layer: bandAndLine({ ...o.x, title: o.x.shortTitle ?? o.x.title }, '', p.proportion ? percentFormat(y?.domain) : '.3~f', false, o.seriesTitle, legend, y?.domain, seriesOrder(o.points)),
    };
  });
  const spec = withBase({ title: o.title, data: { values: o.points }, concat: charts, columns: o.columns ?? 3, spacing: 24, resolve: { scale: { color: 'shared' } } });
  return Object.defineProperty(spec, 'clipped', { value: clipped, enumerable: false }) as VegaLiteSpec & { clipped: boolean };
}

export interface LearningPoint {
  x: number; // global step (joint steps, then retrain steps after them)
  series: string;
  value: number;
  chart: string; // which panel: "Training loss" / "Validation image accuracy"
}

export function learningCurveSpec(o: { title: string; points: LearningPoint[]; phaseBoundary?: number; seriesTitle: string; percentCharts?: string[] }): VegaLiteSpec {
  const charts = [...new Set(o.points.map((p) => p.chart))];
  const panel = (chart: string): VegaLiteSpec => ({
    width: 330,
    height: 220,
    title: { text: chart, fontSize: 12 },
    layer: [
      {
        transform: [{ filter: { field: 'chart', equal: chart } }],
        mark: { type: 'line', strokeWidth: 1.6, point: chart.toLowerCase().includes('validation') ? { size: 16, filled: true } : false },
        encoding: {
          x: { field: 'x', type: 'quantitative', title: 'training step (joint, then retrain)' },
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false }, ...(o.percentCharts?.includes(chart) ? { axis: { format: '.0%' } } : {}) },
          color: { field: 'series', type: 'nominal', title: o.seriesTitle, legend: { orient: 'bottom', columns: 2, symbolType: 'stroke', symbolStrokeWidth: 3 } },
        },
      },
      ...(o.phaseBoundary !== undefined
        ? [
            {
              data: { values: [{ x: o.phaseBoundary, label: 'retrain →' }] },
              layer: [
                { mark: { type: 'rule', strokeDash: [4, 3], color: '#888888' }, encoding: { x: { field: 'x', type: 'quantitative' } } },
                { mark: { type: 'text', align: 'left', dx: 4, dy: -4, baseline: 'top', color: '#666666', fontSize: 10 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } } },
              ],
            },
          ]
        : []),
    ],
  });
  return withBase({ title: o.title, data: { values: o.points }, hconcat: charts.map(panel), resolve: { scale: { color: 'shared' } } });
}

export interface ConfusionCell {
  panel: string;
  actual: string;
  predicted: string;
  share: number; // row-normalised
  order: number; // class index, for axis order
}

export function confusionSpec(o: { title: string; cells: ConfusionCell[]; classes: string[] }): VegaLiteSpec {
  const size = Math.max(160, Math.min(300, o.classes.length * 24));
  return withBase({
    title: o.title,
    data: { values: o.cells },
    facet: { column: { field: 'panel', type: 'nominal', title: null, header: { labelFontSize: 12, labelAnchor: 'start' } } },
    spec: {
      width: size,
      height: size,
      layer: [
        {
          mark: { type: 'rect' },
          encoding: {
            x: { field: 'predicted', type: 'ordinal', sort: o.classes, title: 'predicted' },
            y: { field: 'actual', type: 'ordinal', sort: o.classes, title: 'true class' },
            color: { field: 'share', type: 'quantitative', title: 'share of row', scale: { domain: [0, 1], range: ['#f7fbff', '#08519c'] }, legend: { format: '.0%' } },
            tooltip: [{ field: 'actual' }, { field: 'predicted' }, { field: 'share', format: '.1%' }],
          },
        },
        {
          transform: [{ filter: 'datum.share >= 0.005' }],
          mark: { type: 'text', fontSize: o.classes.length > 12 ? 7 : 9 },
          encoding: {
            x: { field: 'predicted', type: 'ordinal', sort: o.classes },
            y: { field: 'actual', type: 'ordinal', sort: o.classes },
            text: { field: 'share', type: 'quantitative', format: '.0%' },
            color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: '#333333' },
          },
        },
      ],
    },
  });
}

export interface EmbeddingPoint {
  panel: string;
  pc1: number;
  pc2: number;
  class: string;
  modality: 'image' | 'text';
}

export function embeddingSpec(o: { title: string; points: EmbeddingPoint[]; classes: string[]; panels: { name: string; title: string[] }[] }): VegaLiteSpec {
  const panel = (p: { name: string; title: string[] }): VegaLiteSpec => ({
    width: 300,
    height: 270,
    title: { text: p.title, fontSize: 12 },
    transform: [{ filter: { field: 'panel', equal: p.name } }],
    mark: { type: 'point', filled: true, size: 34, opacity: 0.75 },
    encoding: {
      x: { field: 'pc1', type: 'quantitative', title: 'PC 1', axis: { labels: false, ticks: false } },
      y: { field: 'pc2', type: 'quantitative', title: 'PC 2', axis: { labels: false, ticks: false } },
      color: { field: 'class', type: 'nominal', title: 'class', sort: o.classes, scale: { scheme: o.classes.length > 10 ? 'category20' : 'tableau10' } },
      shape: { field: 'modality', type: 'nominal', title: 'modality', scale: { domain: ['image', 'text'], range: ['circle', 'triangle-up'] } },
      tooltip: [{ field: 'class' }, { field: 'modality' }],
    },
  });
  return withBase({
    title: o.title,
    data: { values: o.points },
    hconcat: o.panels.map(panel),
    resolve: { scale: { x: 'independent', y: 'independent', color: 'shared', shape: 'shared' } },
  });
}
