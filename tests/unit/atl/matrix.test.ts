import { describe, expect, it } from 'vitest';
import {
  accuracy,
  addScaled,
  argmaxRows,
  classCount,
  dot,
  dot64,
  dotWeights,
  gram,
  largestEigenvalue,
  symmetricEigen,
} from '../../../src/main/atl/matrix';
import { seededRandom } from '../../../src/shared/seeded-random';
import { fromRows } from './synthetic';

describe('matrix kernels', () => {
  it('dot products handle lengths that are not a multiple of four', () => {
    for (const length of [0, 1, 3, 4, 5, 9]) {
      const a = Float32Array.from({ length: length + 2 }, (_, i) => i + 1);
      const w = Float64Array.from({ length: length + 1 }, (_, i) => 0.5 * i);
      let plain = 0;
      let weighted = 0;
      let weights = 0;
      for (let k = 0; k < length; k++) {
        plain += a[1 + k] * a[1 + k];
        weighted += a[2 + k] * w[1 + k];
        weights += w[k] * w[1 + k];
      }
      expect(dot(a, 1, a, 1, length)).toBeCloseTo(plain, 10);
      expect(dotWeights(a, 2, w, 1, length)).toBeCloseTo(weighted, 10);
      expect(dot64(w, 0, w, 1, length)).toBeCloseTo(weights, 10);
    }
    const into = new Float64Array([1, 1, 1]);
    addScaled(2, Float32Array.from([0, 1, 2, 3]), 1, into, 0, 3);
    expect(Array.from(into)).toEqual([3, 5, 7]);
  });

  it('gram is X·Xᵀ', () => {
    const g = gram(fromRows([[1, 2], [3, 4], [0, -1]]));
    expect(Array.from(g)).toEqual([5, 11, -2, 11, 25, -4, -2, -4, 1]);
  });

  it('symmetricEigen: known 2×2, and V·Λ·Vᵀ rebuilds a random matrix', () => {
    const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2);
    expect(values[0]).toBeCloseTo(3, 12);
    expect(values[1]).toBeCloseTo(1, 12);
    expect(Math.abs(vectors[0])).toBeCloseTo(Math.SQRT1_2, 12);
    const n = 7;
    const random = seededRandom(3);
    const x = fromRows(Array.from({ length: n }, () => Array.from({ length: 4 }, () => random() - 0.5)));
    const a = gram(x);
    const e = symmetricEigen(a, n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += e.vectors[i * n + k] * e.values[k] * e.vectors[j * n + k];
        expect(sum).toBeCloseTo(a[i * n + j], 5);
      }
    }
    // rank 4: the last three eigenvalues vanish, and they come sorted
    expect(Math.abs(e.values[6])).toBeLessThan(1e-6);
    for (let k = 1; k < n; k++) expect(e.values[k]).toBeLessThanOrEqual(e.values[k - 1]);
    expect(largestEigenvalue(a, n)).toBeCloseTo(e.values[0], 6);
  });

  it('labels must be 0 … K−1 with every class present', () => {
    expect(classCount(Int32Array.from([1, 0, 2, 1]))).toBe(3);
    expect(() => classCount(Int32Array.from([0, 2]))).toThrow(/K − 1|K−1/);
    expect(() => classCount(Int32Array.from([0, 0]))).toThrow();
  });

  it('argmax takes the first of tied maxima; accuracy counts matches', () => {
    expect(Array.from(argmaxRows(Float64Array.from([1, 3, 3, 0, -1, -2]), 2, 3))).toEqual([1, 0]);
    expect(accuracy(Int32Array.from([0, 1, 1]), Int32Array.from([0, 1, 0]))).toBeCloseTo(2 / 3);
  });
});
