import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/shared/seeded-random';
import { matrix } from '../../../src/main/atl/matrix';
import {
  compareScores,
  greedyForwardSelection,
  heldOutDistances,
  heldOutLogLikelihoods,
  scoreDistances,
  supportFolds,
  tStatistic,
} from '../../../src/main/atl/support-cv';
import { fromRows, gaussian } from './synthetic';

/** Squared distances to class means recomputed from scratch without each row's fold. */
function bruteForce(rows: number[][], labels: Int32Array, classes: number, folds: Int32Array): Float64Array {
  const out = new Float64Array(rows.length * classes);
  rows.forEach((row, i) => {
    for (let c = 0; c < classes; c++) {
      const train = rows.filter((_, j) => labels[j] === c && folds[j] !== folds[i]);
      const mean = row.map((_, k) => train.reduce((s, r) => s + r[k], 0) / train.length);
      out[i * classes + c] = row.reduce((s, v, k) => s + (v - mean[k]) ** 2, 0);
    }
  });
  return out;
}

describe('support folds', () => {
  it('leave-one-out up to looMaxShots, stratified round-robin folds beyond, none with a single example', () => {
    const loo = supportFolds(Int32Array.from([0, 0, 1, 1]), 2);
    expect(Array.from(loo!)).toEqual([0, 1, 2, 3]);
    const labels = Int32Array.from([0, 0, 0, 1, 1, 1, 1]);
    expect(Array.from(supportFolds(labels, 2, { looMaxShots: 3, folds: 2 })!)).toEqual([0, 1, 0, 0, 1, 0, 1]);
    expect(supportFolds(Int32Array.from([0, 1, 1]), 2)).toBeNull();
  });
});

describe('held-out distances', () => {
  const normal = gaussian(seededRandom(5));
  const rows = Array.from({ length: 12 }, () => Array.from({ length: 6 }, () => normal()));
  const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);
  const z = matrix(12, 6, Float32Array.from(rows.flat()));
  const f32 = rows.map((r) => r.map((v) => Math.fround(v)));

  it('match class means recomputed without the row, for leave-one-out', () => {
    const folds = supportFolds(labels, 3)!;
    const fast = heldOutDistances(z, labels, 3, folds);
    bruteForce(f32, labels, 3, folds).forEach((v, i) => expect(fast[i]).toBeCloseTo(v, 8));
  });

  it('match class means recomputed without the fold, for k-fold', () => {
    const folds = supportFolds(labels, 3, { looMaxShots: 2, folds: 2 })!;
    const fast = heldOutDistances(z, labels, 3, folds);
    bruteForce(f32, labels, 3, folds).forEach((v, i) => expect(fast[i]).toBeCloseTo(v, 8));
  });
});

describe('scores and selection', () => {
  // 4 rows, 2 classes; tables of squared distances (rows × classes)
  const labels = Int32Array.from([0, 0, 1, 1]);
  const good = Float64Array.from([0, 4, 1, 3, 4, 0, 3, 1]);
  const weak = Float64Array.from([1, 2, 2, 1, 2, 1, 1, 2]); // right on rows 0 and 2 only

  it('counts held-out rows nearer their own class and averages the margin per block', () => {
    expect(scoreDistances(good, 1, labels, 2)).toEqual({ correct: 4, rows: 4, margin: 3 });
    expect(scoreDistances(weak, 1, labels, 2)).toEqual({ correct: 2, rows: 4, margin: 0 });
    expect(scoreDistances(good, 2, labels, 2).margin).toBe(1.5);
    expect(compareScores({ correct: 3, rows: 4, margin: 0 }, { correct: 2, rows: 4, margin: 9 })).toBeGreaterThan(0);
  });

  it('greedy forward selection starts from the best candidate and adds only what helps by ε', () => {
    const tables = new Map([
      ['weak', weak],
      ['good', good],
    ]);
    expect(greedyForwardSelection(tables, labels, 2, { epsilon: 0.01, maxSize: 4 }).chosen).toEqual(['good']);
    // ε = 0 accepts an addition that keeps accuracy (good + weak is still 4/4)
    expect(greedyForwardSelection(tables, labels, 2, { epsilon: 0, maxSize: 4 }).chosen).toEqual(['good', 'weak']);
    expect(greedyForwardSelection(tables, labels, 2, { epsilon: 0, maxSize: 1 }).chosen).toEqual(['good']);
  });

  it('calibrated held-out log-likelihoods are higher for the better-separated table', () => {
    const better = heldOutLogLikelihoods(good, 1, labels, 2);
    const worse = heldOutLogLikelihoods(weak, 1, labels, 2);
    better.forEach((v) => expect(v).toBeLessThanOrEqual(0));
    expect(better.reduce((a, b) => a + b)).toBeGreaterThan(worse.reduce((a, b) => a + b));
    // A table that tells nothing is best calibrated at β = 0: every class equally likely.
    heldOutLogLikelihoods(weak, 1, labels, 2).forEach((v) => expect(v).toBeCloseTo(Math.log(0.5), 4));
  });

  it('t statistic: known case, and infinite when all differences agree exactly', () => {
    // mean 2, sample variance 2/3, n = 4 → t = 2 / (√(2/3) / 2)
    expect(tStatistic([1, 2, 3, 2])).toBeCloseTo(2 / (Math.sqrt(2 / 3) / 2), 10);
    expect(tStatistic([0.5, 0.5, 0.5])).toBe(Infinity);
    expect(tStatistic([0, 0])).toBe(0);
  });

  it('accepts a fromRows matrix', () => {
    const d = heldOutDistances(fromRows([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]]), labels, 2, supportFolds(labels, 2)!);
    expect(scoreDistances(d, 1, labels, 2).correct).toBe(4);
  });
});
