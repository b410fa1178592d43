import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/shared/seeded-random';
import { GroupLassoLogisticRegression, indicesOfLargest } from '../../../src/main/atl/group-lasso';
import { matrix } from '../../../src/main/atl/matrix';
import { gaussian } from './synthetic';

/** 3 classes × 10 rows; only features 0, 1, 2 depend on the class (feature j marks class j). */
function data(d: number, seed: number) {
  const normal = gaussian(seededRandom(seed));
  const n = 30;
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const means = Array.from({ length: 3 }, (_, c) => Array.from({ length: 3 }, (_, j) => (c === j ? 2 : -1)));
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = normal() + (j < 3 ? means[labels[i]][j] : 0);
  return { x: matrix(n, d, x), labels };
}

describe('group-lasso logistic regression', () => {
  it('switches on the informative features first', () => {
    const { x, labels } = data(300, 1);
    const model = new GroupLassoLogisticRegression({ alpha: 0.1, workingSet: 32 }).fit(x, labels);
    expect(Array.from(model.top(3))).toEqual([0, 1, 2]);
    // Informative groups carry weight; noise features mostly stay exactly zero.
    for (let j = 0; j < 3; j++) expect(model.groupNorms[j]).toBeGreaterThan(0);
    expect(model.groupNorms.filter((v) => v > 0).length).toBeLessThan(30);
  });

  it('a small working set grown round by round reaches the solution of solving on every feature', () => {
    const { x, labels } = data(200, 2);
    // A working set of 2 cannot hold the 3 informative features: later rounds must add them.
    const grown = new GroupLassoLogisticRegression({ alpha: 0.2, workingSet: 2, maxRounds: 5, maxIterations: 2000, tolerance: 1e-8 }).fit(x, labels);
    const full = new GroupLassoLogisticRegression({ alpha: 0.2, workingSet: 200, maxRounds: 1, maxIterations: 5000, tolerance: 1e-10 }).fit(x, labels);
    grown.groupNorms.forEach((v, j) => expect(v).toBeCloseTo(full.groupNorms[j], 3));
    // Optimality of every zero group: its gradient norm is at most λ.
    grown.gradientNorms.forEach((g, j) => {
      if (grown.groupNorms[j] === 0) expect(g).toBeLessThanOrEqual(grown.lambda * 1.001);
    });
    expect(grown.groupNorms.filter((v) => v > 0).length).toBeGreaterThan(2);
  });

  it('near λmax almost everything is zero', () => {
    const { x, labels } = data(100, 3);
    const model = new GroupLassoLogisticRegression({ alpha: 0.99 }).fit(x, labels);
    expect(model.groupNorms.filter((v) => v > 0).length).toBeLessThanOrEqual(2);
  });

  it('indicesOfLargest: the k largest in index order, ties to the lower index', () => {
    const values = Float64Array.from([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]);
    expect(Array.from(indicesOfLargest(values, 3))).toEqual([4, 5, 7]);
    // 9, 6, then two of the three 5s: the lower indices
    expect(Array.from(indicesOfLargest(values, 4))).toEqual([4, 5, 7, 8]);
    expect(Array.from(indicesOfLargest(values, 20))).toHaveLength(values.length);
    // against a sort, on random data with many ties
    const random = seededRandom(9);
    for (let t = 0; t < 200; t++) {
      const v = Float64Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 6));
      const k = Math.floor(random() * (v.length + 1));
      const expected = [...v.keys()].sort((a, b) => v[b] - v[a] || a - b).slice(0, k).sort((a, b) => a - b);
      expect(Array.from(indicesOfLargest(v, k))).toEqual(expected);
    }
  });
});
