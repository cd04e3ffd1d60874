import { describe, expect, it } from 'vitest';
import { curveSpec, learningCurveSpec, yDomain, type CurvePoint } from '../../runner/report/plots.ts';
import { renderSvg } from '../../runner/report/render.ts';

const pt = (x: number, mean: number, half?: number, series = 'a'): CurvePoint => ({ x, series, mean, lo: half === undefined ? undefined : mean - half, hi: half === undefined ? undefined : mean + half, n: 2 });

describe('y range of curve plots', () => {
  it('keeps bands that stay readable', () => {
    const y = yDomain([pt(0, 0.6, 0.01), pt(4, 0.7, 0.02)], 0.02)!;
    expect(y.domain[0]).toBeCloseTo(0.59, 12);
    expect(y.domain[1]).toBeCloseTo(0.72, 12);
    expect(y.clipped).toBe(false);
  });

  it('cuts very wide bands one spread of the means beyond them', () => {
    const y = yDomain([pt(0, 0.6, 0.5), pt(4, 0.7, 0.5)], 0.02)!;
    expect(y.domain[0]).toBeCloseTo(0.5, 12);
    expect(y.domain[1]).toBeCloseTo(0.8, 12);
    expect(y.clipped).toBe(true);
  });

  it('is at least minSpan wide and stays within the metric bounds', () => {
    const flat = yDomain([pt(0, 0.904), pt(4, 0.9055)], 0.02)!;
    expect(flat.domain[1] - flat.domain[0]).toBeCloseTo(0.02, 12);
    const top = yDomain([pt(0, 0.995, 0.03), pt(4, 0.999, 0.03)], 0.02, [0, 1])!;
    expect(top.domain[1]).toBe(1);
    expect(top.domain[0]).toBeLessThanOrEqual(0.98);
  });
});

describe('rendering', () => {
  it('renders a curve spec to an SVG with its line, points and band', async () => {
    const spec = curveSpec({ title: 't', points: [pt(0, 0.6, 0.01), pt(4, 0.7, 0.02)], x: { field: 'x', title: 'ratio', values: [0, 4] }, yTitle: 'acc', proportion: true, seriesTitle: 's' });
    const svg = await renderSvg(spec);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('mark-line');
    expect(svg).toContain('mark-area');
    expect(svg).toContain('mark-symbol');
    expect(svg).toContain('60%');
  });

  it('labels the x axis with the grid values as written (32 and 128, never "3e+1")', async () => {
    const spec = curveSpec({ title: '', points: [pt(32, 0.6, 0.01), pt(128, 0.62, 0.01)], x: { field: 'x', title: 'model.projection.dim', values: [32, 128] }, yTitle: 'acc', proportion: true, seriesTitle: 's' });
    const svg = await renderSvg(spec);
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toContain('32');
    expect(labels).toContain('128');
    expect(labels.join(' ')).not.toMatch(/e\+/);
    // fractions keep their percent format; small ratios their decimals
    const frac = await renderSvg(curveSpec({ title: '', points: [pt(0.01, 0.6), pt(0.1, 0.7)], x: { field: 'x', title: 'f', values: [0.01, 0.1], format: '~%' }, yTitle: 'acc', proportion: true, seriesTitle: 's' }));
    expect(frac).toMatch(/>1%</);
    expect(frac).toMatch(/>10%</);
    const ratio = await renderSvg(curveSpec({ title: '', points: [pt(0, 0.6), pt(0.5, 0.65), pt(2, 0.7)], x: { field: 'x', title: 'r', values: [0, 0.5, 2] }, yTitle: 'acc', proportion: true, seriesTitle: 's' }));
    expect(ratio).toMatch(/>0\.5</);
  });

  it('never prints the same percent twice on the y axis, and draws accuracies in percent everywhere', async () => {
    const spec = curveSpec({ title: '', points: [pt(32, 0.882, 0.03), pt(128, 0.895, 0.03)], x: { field: 'x', title: 'dim', values: [32, 128] }, yTitle: 'acc', proportion: true, seriesTitle: 's' });
    const labels = [...(await renderSvg(spec)).matchAll(/<text[^>]*>([^<]*%)<\/text>/g)].map((m) => m[1]);
    expect(labels.length).toBeGreaterThan(3);
    expect(new Set(labels).size).toBe(labels.length);
    const learning = learningCurveSpec({ title: '', seriesTitle: 'arm', percentCharts: ['Validation image accuracy'], points: [0, 1, 2].flatMap((k) => [{ x: k * 10, series: 'a', value: 0.5 + k * 0.1, chart: 'Validation image accuracy' }, { x: k * 10, series: 'a', value: 2 - k * 0.5, chart: 'Training loss' }]) });
    const svg = await renderSvg(learning);
    expect(svg).toMatch(/>60%</);
    expect(svg).not.toMatch(/>0\.6</);
    expect(svg).toMatch(/>1\.[0-9]</); // the loss stays a number
  });

  it('refuses specs that would fetch data', async () => {
    await expect(renderSvg({ data: { url: 'https://example.org/x.json' }, mark: 'point' })).rejects.toThrow(/must not load external data/);
  });
});
