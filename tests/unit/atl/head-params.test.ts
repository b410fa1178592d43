import { describe, expect, it } from 'vitest';
import { headPredict, headProbabilities } from '../../../src/main/atl/head-params';
import { createStrategy, STRATEGY_NAMES } from '../../../src/main/atl/strategies';
import { split, syntheticFeatures } from './synthetic';

const { features, labels } = syntheticFeatures(
  [
    { layer: 'early', dim: 8, signal: 0.3 },
    { layer: 'middle', pooling: 'spatial', dim: 32, signal: 1 },
    { layer: 'pooled', dim: 8, signal: 0.5, penultimate: true },
  ],
  4,
  15,
  5,
);
const { support, query } = split(4, 15, 6);
const supportLabels = Int32Array.from(support, (i) => labels[i]);

describe('a fitted strategy as portable head parameters', () => {
  for (const name of STRATEGY_NAMES) {
    it(`${name}: the parameters predict what the strategy predicts, with probabilities that sum to 1`, () => {
      const strategy = createStrategy(name).fit(features.select(support), supportLabels);
      const params = strategy.toHead();
      const queries = features.select(query);
      expect([...headPredict(params, queries)]).toEqual([...strategy.predict(queries)]);
      const p = headProbabilities(params, queries);
      for (let i = 0; i < query.length; i++) {
        const row = p.slice(i * 4, (i + 1) * 4);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        expect(Math.max(...row)).toBe(row[strategy.predict(features.select([query[i]]))[0]]);
      }
      // The head reads the candidates the strategy describes (head2toe: every candidate, of which it kept some features).
      const keys = params.blocks.map((b) => b.key);
      const described = Object.keys(strategy.describe().candidates);
      if (name === 'head2toe') {
        expect(keys).toEqual(features.keys);
        expect(params.kept!.length).toBeLessThan(features.candidates.reduce((a, c) => a + c.dim, 0));
      } else expect([...keys].sort()).toEqual([...described].sort());
    });
  }
});
