/**
 * Label-next over large pools: the cell index (suggest.ts) finds what an exact search finds on
 * clustered data, within a stated tolerance, at n·√n cost instead of n².
 */
import { describe, expect, it } from 'vitest';
import { matrix } from '../../../src/main/atl/matrix';
import { CellIndex, nearestDistances, typicality } from '../../../src/main/atl/suggest';
import { seededRandom } from '../../../src/shared/seeded-random';

/** `n` rows in `d` dimensions around `clusters` centres (spread 1 apart on average, each row at noise σ). */
function clustered(n: number, d: number, clusters: number, sigma: number, seed = 1) {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: clusters }, () => Array.from({ length: d }, () => gauss() / Math.sqrt(2)));
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = centres[i % clusters][j] + sigma * gauss();
  return matrix(n, d, data);
}

describe('label next over large pools', () => {
  const x = clustered(3000, 16, 30, 0.15);
  const pool = Array.from({ length: 2500 }, (_, i) => i + 500);
  const labeled = Array.from({ length: 500 }, (_, i) => i);

  it('typicality through cells matches the exact search for nearly every row', () => {
    const exact = typicality(x, pool, 10, Infinity);
    const cells = typicality(x, pool, 10, 1000);
    // Measured: 186 of 2,500 rows differ (a neighbour filed beyond the three cells visited), at most by 0.27.
    expect(exact.filter((v, i) => Math.abs(v - cells[i]) > 1e-9).length / pool.length).toBeLessThan(0.1);
    expect(Math.max(...exact.map((v, i) => Math.abs(v - cells[i])))).toBeLessThan(0.3);
    // Missing a neighbour can only make a row look less typical.
    expect(cells.every((v, i) => v <= exact[i] + 1e-12)).toBe(true);
  });

  it('the nearest labeled row through cells is the exact one for nearly every query, never nearer', () => {
    const exact = nearestDistances(x, pool, labeled, Infinity);
    const cells = nearestDistances(x, pool, labeled, 100);
    expect(exact.filter((v, i) => cells[i] !== v).length / pool.length).toBeLessThan(0.05);
    expect(cells.every((v, i) => v >= exact[i])).toBe(true);
  });

  it('a query visits about 3√n rows, never more than 16 √n', () => {
    const rows = Array.from({ length: 3000 }, (_, i) => i);
    const index = new CellIndex(x, rows);
    let visits = 0;
    for (const row of rows.slice(0, 100)) index.forCandidates(row, () => visits++);
    expect(visits / 100).toBeLessThan(16 * Math.ceil(Math.sqrt(3000)));
    expect(visits / 100).toBeGreaterThan(Math.sqrt(3000));
  });
});
