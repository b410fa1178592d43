import { describe, expect, it } from 'vitest';
import { sampleEpisodes } from '../../../src/main/atl/episodes';
import { seededRandom } from '../../../src/shared/seeded-random';
import { runEpisodes, summarize, type StrategyRun } from '../../../src/main/atl/evaluate';
import { STRATEGY_NAMES } from '../../../src/main/atl/strategies';
import { syntheticFeatures } from './synthetic';

const { features, labels } = syntheticFeatures(
  [
    { layer: 'early', dim: 6, signal: 0.2 },
    { layer: 'middle', pooling: 'spatial', dim: 24, signal: 1 },
    { layer: 'pooled', dim: 6, signal: 0.3, penultimate: true },
  ],
  6,
  12,
  3,
);
const itemsByClass = Array.from({ length: 6 }, (_, c) => Array.from(labels.keys()).filter((i) => labels[i] === c));

describe('running strategies over episodes', () => {
  const episodes = sampleEpisodes(itemsByClass, { ways: 5, shots: 3, queries: 4 }, 6, 11);

  it('query labels decide nothing: shuffling them changes no choice, only the accuracies scored with them', () => {
    const random = seededRandom(99);
    const shuffled = episodes.map((e) => {
      const queryLabels = Int32Array.from(e.queryLabels);
      for (let i = queryLabels.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [queryLabels[i], queryLabels[j]] = [queryLabels[j], queryLabels[i]];
      }
      return { ...e, queryLabels };
    });
    const a = runEpisodes(features, episodes, STRATEGY_NAMES);
    const b = runEpisodes(features, shuffled, STRATEGY_NAMES);
    a.forEach((run, s) => expect([...b[s].chosen.entries()]).toEqual([...run.chosen.entries()]));
    // …while the accuracies, which do use them, move.
    expect(a.some((run, s) => run.accuracies.some((v, e) => v !== b[s].accuracies[e]))).toBe(true);
  });

  it('is deterministic for a seed: same episodes, same accuracies and choices', () => {
    const again = sampleEpisodes(itemsByClass, { ways: 5, shots: 3, queries: 4 }, 6, 11);
    const a = runEpisodes(features, episodes, ['atl', 'head2toe']);
    const b = runEpisodes(features, again, ['atl', 'head2toe']);
    expect(b.map((r) => r.accuracies)).toEqual(a.map((r) => r.accuracies));
    expect(b.map((r) => [...r.chosen])).toEqual(a.map((r) => [...r.chosen]));
  });
});

describe('summaries', () => {
  it('gives means, CIs, paired deltas to penultimate and the fraction of episodes each candidate was chosen', () => {
    const runs: StrategyRun[] = [
      { strategy: 'penultimate', accuracies: [0.5, 0.6, 0.7, 0.8], chosen: new Map([['pooled:gap', 4]]), seconds: 0.4, predictions: [] },
      {
        strategy: 'atl',
        accuracies: [0.6, 0.7, 0.8, 0.9],
        chosen: new Map([
          ['middle:spatial', 3],
          ['pooled:gap', 1],
        ]),
        seconds: 0.8,
        predictions: [],
      },
    ];
    const [penultimate, atl] = summarize(runs, 5);
    expect(penultimate).toMatchObject({ strategy: 'penultimate', shots: 5, mean: 0.65, delta_vs_penultimate: 0, delta_ci95: 0 });
    expect(atl.mean).toBeCloseTo(0.75, 12);
    expect(atl.delta_vs_penultimate).toBeCloseTo(0.1, 12);
    expect(atl.delta_ci95).toBeCloseTo(0, 12);
    expect(atl.layers_chosen).toEqual({ 'middle:spatial': 0.75, 'pooled:gap': 0.25 });
    expect(atl.fit_s).toBeCloseTo(0.2, 12);
    expect(() => summarize(runs.slice(1), 5)).toThrow(/penultimate/);
  });
});
