/**
 * Strategies as data: built from `{ name, params }`, read back with `getParams()`, copied with
 * `cloneStrategy`, named by `strategyLabel` and read from text by `parseStrategySpecs`.
 */
import { describe, expect, it } from 'vitest';
import { runComparison } from '../../../src/main/atl/comparison';
import { sampleEpisodes } from '../../../src/main/atl/episodes';
import { runEpisodes, type StrategyToRun } from '../../../src/main/atl/evaluate';
import { GROUP_LASSO_DEFAULTS } from '../../../src/main/atl/group-lasso';
import { LOGISTIC_REGRESSION_DEFAULTS } from '../../../src/main/atl/logistic-regression';
import { cloneStrategy, createStrategy, parseStrategySpecs, STRATEGY_NAMES } from '../../../src/main/atl/strategies';
import { FOLD_DEFAULTS } from '../../../src/main/atl/support-cv';
import { StrategySpec } from '../../../src/shared/contract';
import { defaultParams, strategyLabel, strategyNameOf } from '../../../src/shared/strategies';
import { split, syntheticFeatures } from './synthetic';

const CLASSES = 5;
const PER_CLASS = 12;
const { features, labels } = syntheticFeatures(
  [
    { layer: 'early', dim: 8, signal: 0.3 },
    { layer: 'middle', pooling: 'spatial', dim: 24, signal: 1 },
    { layer: 'late', dim: 8, signal: 0.5 },
    { layer: 'pooled', dim: 8, signal: 0.4, penultimate: true },
  ],
  CLASSES,
  PER_CLASS,
  4,
);
const { support, query } = split(CLASSES, PER_CLASS, 5);
const supportFeatures = features.select(support);
const supportLabels = Int32Array.from(support, (i) => labels[i]);
const queryFeatures = features.select(query);

describe('parameters', () => {
  it('the defaults are the ones the strategies have always used (known values; the maths modules agree)', () => {
    expect(defaultParams('atl')).toEqual({
      epsilon: 0,
      maxSize: 8,
      guardLevel: 0.05,
      oneShotMinLayers: 4,
      foreignMinLayers: 4,
      looMaxShots: 10,
      folds: 5,
      C: 1,
      maxIterations: 200,
      tolerance: 1e-6,
    });
    expect(defaultParams('penultimate')).toEqual(LOGISTIC_REGRESSION_DEFAULTS);
    expect(defaultParams('best-single')).toEqual({ ...FOLD_DEFAULTS, ...LOGISTIC_REGRESSION_DEFAULTS });
    const { keepFraction, alpha, lassoMaxIterations, lassoTolerance, workingSet, maxRounds } = defaultParams('head2toe');
    expect(keepFraction).toBe(0.01);
    expect({ alpha, maxIterations: lassoMaxIterations, tolerance: lassoTolerance, workingSet, maxRounds }).toEqual(GROUP_LASSO_DEFAULTS);
    expect(defaultParams('ncm')).toEqual({});
    expect(Object.keys(defaultParams('ncm-atl'))).not.toContain('C');
  });

  it('getParams gives every parameter back, defaults filled in, for a name and for a spec', () => {
    for (const name of STRATEGY_NAMES) {
      expect(createStrategy(name).getParams()).toEqual(defaultParams(name));
      expect(createStrategy({ name, params: defaultParams(name) }).getParams()).toEqual(defaultParams(name));
    }
    expect(createStrategy({ name: 'atl', params: { maxSize: 2, C: 0.5 } }).getParams()).toEqual({ ...defaultParams('atl'), maxSize: 2, C: 0.5 });
    expect(createStrategy({ name: 'ncm-atl', params: { guardLevel: 0.01 } }).getParams()).toEqual({ ...defaultParams('ncm-atl'), guardLevel: 0.01 });
  });

  it('refuses unknown parameters and bad values, naming the key', () => {
    expect(() => createStrategy({ name: 'atl', params: { maxLayers: 2 } })).toThrow(/atl has no parameter "maxLayers" \(it takes epsilon, maxSize/);
    expect(() => createStrategy({ name: 'ncm', params: { C: 1 } })).toThrow(/ncm has no parameter "C" \(it takes none\)/);
    expect(() => createStrategy({ name: 'atl', params: { maxSize: 0 } })).toThrow('atl: maxSize must be ≥ 1 (got 0)');
    expect(() => createStrategy({ name: 'atl', params: { maxSize: 2.5 } })).toThrow('atl: maxSize must be a whole number (got 2.5)');
    expect(() => createStrategy({ name: 'penultimate', params: { C: 0 } })).toThrow('penultimate: C must be > 0 (got 0)');
    expect(() => createStrategy({ name: 'head2toe', params: { keepFraction: 1.5 } })).toThrow('head2toe: keepFraction must be ≤ 1 (got 1.5)');
    expect(() => createStrategy({ name: 'atl', params: { guardLevel: Number.NaN } })).toThrow('atl: guardLevel must be a finite number (got NaN)');
    expect(() => createStrategy({ name: 'magic' as 'atl' })).toThrow(/Unknown strategy magic/);
    // The contract refuses the same, with the key in the message.
    const parsed = StrategySpec.safeParse({ name: 'best-single', params: { folds: 1, speed: 2 } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message)).toEqual([
      'best-single: folds must be ≥ 2 (got 1)',
      'best-single has no parameter "speed" (it takes looMaxShots, folds, C, maxIterations, tolerance)',
    ]);
    expect(StrategySpec.safeParse({ name: 'atl', params: { maxSize: 2 } }).success).toBe(true);
    expect(StrategySpec.safeParse({ name: 'atl', extra: 1 }).success).toBe(false);
  });

  it('a parameter changes what the strategy does: head2toe keeps keepFraction of the 48 features', () => {
    const kept = (keepFraction: number) => createStrategy({ name: 'head2toe', params: { keepFraction } }).fit(supportFeatures, supportLabels).toHead().kept?.length;
    expect(kept(0.25)).toBe(12);
    expect(kept(0.5)).toBe(24);
    expect(createStrategy('head2toe').fit(supportFeatures, supportLabels).toHead().kept?.length).toBe(1);
  });
});

describe('clone', () => {
  it('gives a fresh, unfitted strategy with the same parameters, which predicts the same once fitted', () => {
    const specs: StrategySpec[] = [
      { name: 'atl', params: { maxSize: 2, C: 0.5 } },
      { name: 'head2toe', params: { keepFraction: 0.2, alpha: 0.05 } },
      { name: 'ncm-atl', params: { epsilon: 0.01 } },
      { name: 'best-single', params: { looMaxShots: 2, folds: 3 } },
    ];
    for (const spec of specs) {
      const original = createStrategy(spec).fit(supportFeatures, supportLabels);
      const clone = cloneStrategy(original);
      expect(clone.name).toBe(spec.name);
      expect(clone.getParams()).toEqual(original.getParams());
      expect(() => clone.predict(queryFeatures)).toThrow(/Fit the/);
      expect(clone.fit(supportFeatures, supportLabels).predict(queryFeatures)).toEqual(original.predict(queryFeatures));
      expect(clone.describe()).toEqual(original.describe());
    }
  });
});

describe('labels and the text syntax', () => {
  it('a strategy with its defaults is named by its name; otherwise the parameters that differ, sorted', () => {
    expect(strategyLabel({ name: 'atl', params: defaultParams('atl') })).toBe('atl');
    expect(strategyLabel({ name: 'atl' })).toBe('atl');
    expect(strategyLabel('ncm-atl')).toBe('ncm-atl');
    expect(strategyLabel({ name: 'atl', params: { ...defaultParams('atl'), maxSize: 2, C: 0.5, epsilon: 0 } })).toBe('atl(C=0.5,maxSize=2)');
    expect(strategyLabel({ name: 'penultimate', params: { tolerance: 1e-8 } })).toBe('penultimate(tolerance=1e-8)');
    expect(strategyNameOf('atl(C=0.5,maxSize=2)')).toBe('atl');
    expect(strategyNameOf('ncm-atl')).toBe('ncm-atl');
  });

  it('parseStrategySpecs reads names, `all` and name(key=value,…), every parameter filled in; a label reads back as its spec', () => {
    expect(parseStrategySpecs('all').map((s) => s.name)).toEqual([...STRATEGY_NAMES]);
    const [penultimate, atl] = parseStrategySpecs(' penultimate , atl( maxSize = 2, C=0.5 )');
    expect(penultimate).toEqual({ name: 'penultimate', params: defaultParams('penultimate') });
    expect(atl).toEqual({ name: 'atl', params: { ...defaultParams('atl'), maxSize: 2, C: 0.5 } });
    expect(parseStrategySpecs(strategyLabel(atl))).toEqual([atl]);
    expect(parseStrategySpecs('penultimate(tolerance=1e-8)')[0].params.tolerance).toBe(1e-8);
  });

  it('parseStrategySpecs refuses what it cannot read, naming the strategy and key', () => {
    expect(() => parseStrategySpecs('atl,magic')).toThrow(/Unknown strategy magic/);
    expect(() => parseStrategySpecs('atl(maxSize=two)')).toThrow('atl: maxSize needs a number, as in maxSize=2 (got "maxSize=two")');
    expect(() => parseStrategySpecs('atl(maxSize)')).toThrow(/atl: maxSize needs a number/);
    expect(() => parseStrategySpecs('atl(maxLayers=2)')).toThrow(/atl has no parameter "maxLayers"/);
    expect(() => parseStrategySpecs('atl(maxSize=2')).toThrow(/Cannot read strategy "atl\(maxSize=2"/);
    expect(() => parseStrategySpecs(' , ')).toThrow(/No strategy given/);
  });
});

describe('evaluation with configured strategies', () => {
  const itemsByClass = Array.from({ length: CLASSES }, (_, c) => Array.from(labels.keys()).filter((i) => labels[i] === c));
  const episodes = sampleEpisodes(itemsByClass, { ways: 5, shots: 3, queries: 4 }, 4, 5);

  it('runs are labeled; a configured copy runs beside its default, and the default run is unchanged by it', () => {
    const [alone] = runEpisodes(features, episodes, ['atl']);
    const [atl, configured] = runEpisodes(features, episodes, ['atl', { name: 'atl', params: { maxSize: 1, foreignMinLayers: 0 } }]);
    expect([atl.strategy, configured.strategy]).toEqual(['atl', 'atl(foreignMinLayers=0,maxSize=1)']);
    expect(atl.accuracies).toEqual(alone.accuracies);
    expect(Math.max(...configured.chosen.values())).toBeLessThanOrEqual(episodes.length);
    expect([...configured.chosen.values()].reduce((a, b) => a + b, 0)).toBe(episodes.length);
  });

  it('a comparison adds the default penultimate, runs each label once, and names cells by label', async () => {
    const plans = [{ shots: 3, ways: 5, queries: 4, episodes }];
    const requested: StrategyToRun[] = ['atl', { name: 'penultimate', params: { C: 0.1 } }, { name: 'atl', params: defaultParams('atl') }];
    const outcome = await runComparison(features, CLASSES, plans, requested);
    expect(outcome.cells.map((c) => c.strategy)).toEqual(['penultimate', 'atl', 'penultimate(C=0.1)']);
    expect(outcome.episodeAccuracies.map((e) => e.strategy)).toEqual(['penultimate', 'atl', 'penultimate(C=0.1)']);
    expect(outcome.cells[0].delta_vs_penultimate).toBe(0);
  });
});
