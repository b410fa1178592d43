import { describe, expect, it } from 'vitest';
import { LogisticRegression, SPAN_REDUCTION_LIMIT } from '../../../src/main/atl/logistic-regression';
import { matrix } from '../../../src/main/atl/matrix';
import { NearestClassMean } from '../../../src/main/atl/nearest-class-mean';
import { seededRandom } from '../../../src/shared/seeded-random';
import { fromRows, gaussian } from './synthetic';

/** (P − Y)ᵀ·X, k × d: the loss gradient that C·it + W must cancel at the optimum. */
function lossGradient(model: LogisticRegression, x: ReturnType<typeof fromRows>, labels: Int32Array): { w: Float64Array; b: Float64Array } {
  const k = model.classes;
  const scores = model.decisionFunction(x);
  const w = new Float64Array(k * x.cols);
  const b = new Float64Array(k);
  for (let i = 0; i < x.rows; i++) {
    const max = Math.max(...scores.subarray(i * k, (i + 1) * k));
    const e = Array.from(scores.subarray(i * k, (i + 1) * k), (s) => Math.exp(s - max));
    const total = e.reduce((a, v) => a + v, 0);
    for (let c = 0; c < k; c++) {
      const r = e[c] / total - (labels[i] === c ? 1 : 0);
      b[c] += r;
      for (let j = 0; j < x.cols; j++) w[c * x.cols + j] += r * x.data[i * x.cols + j];
    }
  }
  return { w, b };
}

describe('logistic regression', () => {
  it('matches the closed-form optimum of a symmetric two-point problem', () => {
    // x = −1 → class 0, x = +1 → class 1. By symmetry b = 0 and W = [−w, w], and the objective
    // C·2·log(1 + e^(−2w)) + w² is stationary where w = 2C·σ(−2w).
    for (const C of [0.5, 1, 4]) {
      const model = new LogisticRegression({ C }).fit(fromRows([[-1], [1]]), Int32Array.from([0, 1]));
      const w = model.coef[1];
      expect(model.coef[0]).toBeCloseTo(-w, 6);
      expect(model.intercept[0]).toBeCloseTo(0, 6);
      expect(w).toBeCloseTo((2 * C) / (1 + Math.exp(2 * w)), 6);
    }
  });

  it('classifies a separable toy problem and scores it', () => {
    const x = fromRows([[0, 0], [0.2, 0.1], [3, 3], [3.1, 2.8], [0, 3], [0.2, 3.1]]);
    const y = Int32Array.from([0, 0, 1, 1, 2, 2]);
    const model = new LogisticRegression().fit(x, y);
    expect(Array.from(model.predict(fromRows([[0.1, -0.1], [2.9, 3.2], [-0.1, 2.9]])))).toEqual([0, 1, 2]);
    expect(model.score(x, y)).toBe(1);
    expect(model.converged).toBe(true);
  });

  it('with more features than rows, fits in the span of the rows and still solves the full problem', () => {
    const normal = gaussian(seededRandom(11));
    const n = 12;
    const d = 40;
    const x = matrix(n, d, Float32Array.from({ length: n * d }, () => normal()));
    const y = Int32Array.from({ length: n }, (_, i) => i % 3);
    const C = 2;
    const model = new LogisticRegression({ C, tolerance: 1e-9 }).fit(x, y);
    // Optimality in the full space: C·(P − Y)ᵀX + W = 0 and Σ(P − Y) = 0.
    const { w, b } = lossGradient(model, x, y);
    const scale = Math.max(...model.coef.map(Math.abs));
    for (let i = 0; i < w.length; i++) expect(Math.abs(C * w[i] + model.coef[i])).toBeLessThan(1e-5 * Math.max(1, scale));
    for (const v of b) expect(Math.abs(v)).toBeLessThan(1e-5);
  });

  it('with more features than rows but too many rows for the span (n² > SPAN_REDUCTION_LIMIT·d·k), fits in the full space to the same optimum', () => {
    const normal = gaussian(seededRandom(12));
    const n = 60;
    const d = 80;
    const k = 2;
    expect(n * n).toBeGreaterThan(SPAN_REDUCTION_LIMIT * d * k);
    const x = matrix(n, d, Float32Array.from({ length: n * d }, () => normal()));
    const y = Int32Array.from({ length: n }, (_, i) => i % k);
    const C = 2;
    const model = new LogisticRegression({ C, tolerance: 1e-9 }).fit(x, y);
    const { w, b } = lossGradient(model, x, y);
    const scale = Math.max(...model.coef.map(Math.abs));
    for (let i = 0; i < w.length; i++) expect(Math.abs(C * w[i] + model.coef[i])).toBeLessThan(1e-5 * Math.max(1, scale));
    for (const v of b) expect(Math.abs(v)).toBeLessThan(1e-5);
  });

  it('handles a rank-deficient Gram matrix (duplicate rows)', () => {
    const x = fromRows([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1]]);
    const y = Int32Array.from([0, 0, 1, 1]);
    const model = new LogisticRegression().fit(x, y);
    expect(model.coef.every(Number.isFinite)).toBe(true);
    expect(model.score(x, y)).toBe(1);
  });
});

describe('nearest class mean', () => {
  it('assigns each row to the class whose mean is nearest', () => {
    const model = new NearestClassMean().fit(fromRows([[0, 0], [2, 0], [10, 10], [10, 12]]), Int32Array.from([0, 0, 1, 1]));
    expect(Array.from(model.means)).toEqual([1, 0, 10, 11]);
    const scores = model.decisionFunction(fromRows([[1, 1]]));
    expect(scores[0]).toBeCloseTo(-1, 10); // ‖(1,1) − (1,0)‖²
    expect(scores[1]).toBeCloseTo(-(81 + 100), 10);
    expect(Array.from(model.predict(fromRows([[7, 7], [4, 4]])))).toEqual([1, 0]);
  });
});
