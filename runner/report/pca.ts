/** Principal component analysis for 2-D views of embeddings. Pure. */

export interface Pca {
  /** Coordinates of each input row on the first `k` components. */
  points: number[][];
  /** Unit principal directions (k × d). */
  components: number[][];
  /** Fraction of the total variance each component explains. */
  explained: number[];
}

/**
 * Top-k PCA by power iteration with deflation on the covariance matrix. Signs are fixed
 * (largest-magnitude loading positive) so the same data always gives the same picture.
 */
export function pca(rows: readonly (readonly number[])[], k = 2, opts: { iterations?: number } = {}): Pca {
  const n = rows.length;
  if (n === 0) return { points: [], components: [], explained: [] };
  const d = rows[0].length;
  const centre = new Array<number>(d).fill(0);
  for (const r of rows) {
    if (r.length !== d) throw new RangeError(`pca: row of length ${r.length}, expected ${d}`);
    for (let j = 0; j < d; j++) centre[j] += r[j] / n;
  }
  const x = rows.map((r) => r.map((v, j) => v - centre[j]));
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (const r of x) for (let i = 0; i < d; i++) for (let j = i; j < d; j++) cov[i][j] += (r[i] * r[j]) / Math.max(1, n - 1);
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) cov[i][j] = cov[j][i];
  const total = cov.reduce((s, row, i) => s + row[i], 0);

  const components: number[][] = [];
  const eigenvalues: number[] = [];
  const iterations = opts.iterations ?? 500;
  for (let c = 0; c < Math.min(k, d); c++) {
    // Deterministic start that is not orthogonal to typical leading directions.
    let v = Array.from({ length: d }, (_, j) => 1 + j / d);
    v = normalise(orthogonalise(v, components));
    let lambda = 0;
    for (let it = 0; it < iterations; it++) {
      let w = cov.map((row) => dot(row, v));
      w = orthogonalise(w, components);
      const norm = Math.hypot(...w);
      if (norm < 1e-300) break;
      const next = w.map((x2) => x2 / norm);
      const change = Math.hypot(...next.map((x2, j) => x2 - v[j]));
      v = next;
      lambda = norm;
      if (change < 1e-12) break;
    }
    let big = 0;
    for (let j = 1; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[big])) big = j;
    if (v[big] < 0) v = v.map((x2) => -x2);
    components.push(v);
    eigenvalues.push(lambda);
  }
  return {
    points: x.map((r) => components.map((v) => dot(r, v))),
    components,
    explained: eigenvalues.map((l) => (total > 0 ? l / total : 0)),
  };
}

function dot(a: readonly number[], b: readonly number[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function orthogonalise(v: number[], basis: readonly number[][]): number[] {
  let out = v;
  for (const b of basis) {
    const p = dot(out, b);
    out = out.map((x, i) => x - p * b[i]);
  }
  return out;
}

function normalise(v: number[]): number[] {
  const n = Math.hypot(...v);
  return n > 0 ? v.map((x) => x / n) : v;
}
