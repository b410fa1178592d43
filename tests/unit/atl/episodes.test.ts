import { describe, expect, it } from 'vitest';
import { meanCi95, mixSeed, pairedDifference, sampleEpisodes } from '../../../src/main/atl/episodes';
import { seededRandom } from '../../../src/shared/seeded-random';

/** 8 classes of 10 items (item = class·10 + k); class 7 has only 4. */
const ITEMS = Array.from({ length: 8 }, (_, c) => Array.from({ length: c === 7 ? 4 : 10 }, (_, k) => c * 10 + k));

describe('episode sampler', () => {
  it('draws distinct classes and distinct items, support before queries, labels by class position', () => {
    const episodes = sampleEpisodes(ITEMS, { ways: 5, shots: 2, queries: 3 }, 50, 1);
    for (const e of episodes) {
      expect(new Set(e.classes).size).toBe(5);
      expect(e.classes).not.toContain(7); // too few items for 2 + 3
      const items = [...e.support, ...e.query];
      expect(new Set(items).size).toBe(25);
      e.support.forEach((item, i) => expect(Math.floor(item / 10)).toBe(e.classes[e.supportLabels[i]]));
      e.query.forEach((item, i) => expect(Math.floor(item / 10)).toBe(e.classes[e.queryLabels[i]]));
      expect(Array.from(e.supportLabels)).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    }
  });

  it('is deterministic given the seed, and different for another seed', () => {
    const spec = { ways: 3, shots: 1, queries: 2 };
    expect(sampleEpisodes(ITEMS, spec, 5, 42)).toEqual(sampleEpisodes(ITEMS, spec, 5, 42));
    expect(sampleEpisodes(ITEMS, spec, 5, 42)).not.toEqual(sampleEpisodes(ITEMS, spec, 5, 43));
    expect(mixSeed(1, 5)).not.toBe(mixSeed(1, 1));
    const random = seededRandom(7);
    const values = Array.from({ length: 1000 }, random);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
  });

  it('refuses more ways than classes with enough items', () => {
    expect(() => sampleEpisodes(ITEMS, { ways: 8, shots: 1, queries: 1 }, 1, 1)).not.toThrow();
    expect(() => sampleEpisodes(ITEMS, { ways: 8, shots: 5, queries: 1 }, 1, 1)).toThrow(/only 7 have/);
  });
});

describe('confidence intervals', () => {
  it('mean ± 1.96·s/√n on a known case', () => {
    // [1, 2, 3, 4]: mean 2.5, s = √(5/3)
    const { mean, ci95 } = meanCi95([1, 2, 3, 4]);
    expect(mean).toBe(2.5);
    expect(ci95).toBeCloseTo((1.96 * Math.sqrt(5 / 3)) / 2, 12);
    expect(meanCi95([0.7])).toEqual({ mean: 0.7, ci95: 0 });
  });

  it('paired differences cancel what the two runs share', () => {
    // Episodes of very different difficulty, one strategy always 0.1 better: the paired CI is 0.
    const baseline = [0.2, 0.9, 0.5, 0.7];
    const better = baseline.map((v) => v + 0.1);
    const d = pairedDifference(better, baseline);
    expect(d.mean).toBeCloseTo(0.1, 12);
    expect(d.ci95).toBeCloseTo(0, 12);
    expect(meanCi95(better).ci95).toBeGreaterThan(0.2);
    expect(() => pairedDifference([1], [1, 2])).toThrow();
  });
});
