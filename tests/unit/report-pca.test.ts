import { describe, expect, it } from 'vitest';
import { pca } from '../../runner/report/pca.ts';
import { seededRandom } from '../../runner/report/stats.ts';

describe('pca', () => {
  it('finds the axes of a known 2-D ellipse rotated into 3-D', () => {
    // Points along u = (1, 1, 0)/√2 with spread 3 and along w = (0, 0, 1) with spread 1.
    const r = seededRandom(5);
    const u = [Math.SQRT1_2, Math.SQRT1_2, 0];
    const rows = Array.from({ length: 400 }, () => {
      const a = 3 * (r() - 0.5);
      const b = 1 * (r() - 0.5);
      return [10 + a * u[0], -2 + a * u[1], 5 + b];
    });
    const p = pca(rows);
    expect(Math.abs(p.components[0][0])).toBeCloseTo(Math.SQRT1_2, 2);
    expect(Math.abs(p.components[0][1])).toBeCloseTo(Math.SQRT1_2, 2);
    expect(Math.abs(p.components[1][2])).toBeCloseTo(1, 3);
    // variance ratio 9:1 and nothing on the third axis
    expect(p.explained[0]).toBeCloseTo(0.9, 1);
    expect(p.explained[0] + p.explained[1]).toBeCloseTo(1, 6);
    // scores are centred and uncorrelated
    const m0 = p.points.reduce((s, x) => s + x[0], 0) / rows.length;
    const cross = p.points.reduce((s, x) => s + x[0] * x[1], 0) / rows.length;
    expect(m0).toBeCloseTo(0, 10);
    expect(cross).toBeCloseTo(0, 6);
  });

  it('matches a hand-computed case and fixes the signs', () => {
    // (-1,0), (1,0), (0,-0.5), (0,0.5): covariance diag(2/3, 1/6): components are the axes
    const p = pca([
      [-1, 0],
      [1, 0],
      [0, -0.5],
      [0, 0.5],
    ]);
    expect(p.components[0][0]).toBeCloseTo(1, 9);
    expect(p.components[1][1]).toBeCloseTo(1, 9);
    expect(p.explained[0]).toBeCloseTo(0.8, 9);
    expect(p.points[1][0]).toBeCloseTo(1, 9);
    expect(pca([[1, 2]]).points).toEqual([[0, 0]]);
    expect(pca([]).points).toEqual([]);
  });
});
