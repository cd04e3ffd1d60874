import { describe, expect, it } from 'vitest';
import { curveSpec, yDomain, type CurvePoint } from '../../runner/report/plots.ts';
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

  it('refuses specs that would fetch data', async () => {
    await expect(renderSvg({ data: { url: 'https://example.org/x.json' }, mark: 'point' })).rejects.toThrow(/must not load external data/);
  });
});
