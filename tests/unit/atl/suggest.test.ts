import { describe, expect, it } from 'vitest';
import { matrix } from '../../../src/main/atl/matrix';
import { marginUncertainty, percentileRanks, suggestOrder, typicality } from '../../../src/main/atl/suggest';

/** Points on a line (1-D features): row i sits at xs[i]. */
const line = (xs: number[]) => matrix(xs.length, 1, Float32Array.from(xs));

describe('label next', () => {
  it('margin uncertainty is 1 when the top two classes tie and 0 when the head is sure', () => {
    const u = marginUncertainty(Float64Array.from([0.5, 0.5, 0, 1, 0, 0, 0.6, 0.3, 0.1]), 3);
    expect([...u].map((v) => +v.toFixed(12))).toEqual([1, 0, 0.7]);
  });

  it('without a head, picks the farthest image from everything labeled or picked so far (k-center)', () => {
    // Labeled: row 0 at 0. Pool: 1, 2, 5, 9, 10.
    const x = line([0, 1, 2, 5, 9, 10]);
    const order = suggestOrder(x, [0], [1, 2, 3, 4, 5], null, { count: 3, typicalityPower: 0 });
    // 10 is farthest from 0; then 5 (5 from both); then 2 (2 from 0 and 3 from 5) over 9 (1 from 10) and 1.
    expect(order.map((s) => s.row)).toEqual([5, 3, 2]);
    expect(order[0].novelty).toBe(1);
  });

  it('with uncertainty only, picks the most uncertain first; never picks twice or outside the pool', () => {
    const x = line([0, 1, 2, 3, 4]);
    const order = suggestOrder(x, [0], [1, 2, 3, 4], Float64Array.from([0.1, 0.9, 0.5, 0.3]), { count: 10, uncertaintyWeight: 1, typicalityPower: 0 });
    expect(order.map((s) => s.row)).toEqual([2, 3, 4, 1]);
  });

  it('typicality is low for an outlier and high inside a cluster', () => {
    const x = line([0, 0.1, 0.2, 0.3, 3]);
    const t = typicality(x, [0, 1, 2, 3, 4], 2);
    expect(Math.max(...t)).toBe(1);
    expect(t[4]).toBeLessThan(0.1);
    expect(Math.min(t[0], t[1], t[2], t[3])).toBeGreaterThan(0.9);
  });

  it('ranks uncertainties from 0 to 1, ties sharing their mean rank', () => {
    expect([...percentileRanks(Float64Array.from([0.99, 0.5, 0.99, 0.7, 0.1]))]).toEqual([0.875, 0.25, 0.875, 0.5, 0]);
  });
});
