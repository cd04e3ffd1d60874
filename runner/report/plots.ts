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
  values: number[]; // ticks
}

function xScale(values: number[]): Record<string, unknown> {
  const positive = values.filter((v) => v > 0);
  const spread = positive.length ? Math.max(...positive) / Math.min(...positive) : 1;
  return spread >= 16 ? { type: 'symlog' } : { type: 'linear' };
}

function bandAndLine(
  x: AxisInfo,
  yTitle: string,
  yFormat: string,
  zero: boolean,
  seriesTitle: string,
  legend: 'right' | 'bottom' | 'none' = 'right',
  domain?: [number, number],
): VegaLiteSpec[] {
  const xEnc = { field: 'x', type: 'quantitative', title: x.title, scale: xScale(x.values), axis: { values: x.values, grid: false } };
  const color = { field: 'series', type: 'nominal', title: seriesTitle, legend: legend === 'none' ? null : { symbolOpacity: 1, symbolType: 'stroke', symbolStrokeWidth: 3, ...(legend === 'right' ? { orient: 'right' } : { orient: 'bottom', direction: 'horizontal', columns: 4 }) } };
  return [
    {
      transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
      mark: { type: 'area', opacity: 0.16, interpolate: 'linear' },
      encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color },
    },
    {
      mark: { type: 'line', point: { filled: true, size: 45 }, strokeWidth: 2 },
      encoding: {
        x: xEnc,
        y: { field: 'mean', type: 'quantitative', title: yTitle || null, scale: domain ? { zero, domain, nice: true } : { zero }, axis: { format: yFormat } },
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

function seriesCount(points: CurvePoint[]): number {
  return new Set(points.map((p) => p.series)).size;
}

/** A y domain at least `span` wide, so that noise of a few tenths of a point does not look like a trend. */
function minimumDomain(points: CurvePoint[], span: number): [number, number] | undefined {
  const ys = points.flatMap((p) => [p.mean, p.lo, p.hi]).filter((v): v is number => typeof v === 'number');
  if (ys.length === 0) return undefined;
  const lo = Math.min(...ys);
  const hi = Math.max(...ys);
  if (hi - lo >= span) return undefined;
  const mid = (lo + hi) / 2;
  return [mid - span / 2, mid + span / 2];
}

/** Whole percents unless the values span so little that ticks would repeat. */
function percentFormat(points: CurvePoint[]): string {
  const ys = points.flatMap((p) => [p.mean, p.lo, p.hi]).filter((v): v is number => typeof v === 'number');
  const span = Math.max(...ys) - Math.min(...ys); // the domain is at least 0.02 wide (minimumDomain)
  return span < 0.05 ? '.1%' : '.0%';
}

/** One metric against the sweep axis (e.g. image accuracy vs augmentation ratio), CI bands. */
export function curveSpec(o: { title: string; points: CurvePoint[]; x: AxisInfo; yTitle: string; proportion: boolean; seriesTitle: string }): VegaLiteSpec {
  return withBase({
    title: o.title,
    width: 520,
    height: 300,
    data: { values: o.points },
    layer: bandAndLine(o.x, o.yTitle, o.proportion ? percentFormat(o.points) : '.2f', false, o.seriesTitle, seriesCount(o.points) > 1 ? 'right' : 'none', o.proportion ? minimumDomain(o.points, 0.02) : undefined),
  });
}

/** Several metrics against the sweep axis, one small panel each (independent y scales). */
export function facetCurveSpec(o: { title: string; points: CurvePoint[]; x: AxisInfo; seriesTitle: string; metricTitles: Record<string, string>; columns?: number }): VegaLiteSpec {
  const points = o.points.map((p) => ({ ...p, panel: o.metricTitles[p.metric ?? ''] ?? p.metric }));
  return withBase({
    title: o.title,
    data: { values: points },
    facet: { field: 'panel', type: 'nominal', title: null, sort: Object.values(o.metricTitles), header: { labelFontSize: 12, labelAnchor: 'start' } },
    columns: o.columns ?? 3,
    spec: { width: 230, height: 160, layer: bandAndLine(o.x, '', '.3~f', false, o.seriesTitle, seriesCount(o.points) > 1 ? 'bottom' : 'none') },
    resolve: { scale: { y: 'independent' } },
  });
}

export interface LearningPoint {
  x: number; // global step (joint steps, then retrain steps after them)
  series: string;
  value: number;
  chart: string; // which panel: "Training loss" / "Validation image accuracy"
}

export function learningCurveSpec(o: { title: string; points: LearningPoint[]; phaseBoundary?: number; seriesTitle: string }): VegaLiteSpec {
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
          y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
          color: { field: 'series', type: 'nominal', title: o.seriesTitle, legend: { orient: 'bottom', columns: 2 } },
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
