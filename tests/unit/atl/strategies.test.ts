import { describe, expect, it } from 'vitest';
import { accuracy } from '../../../src/main/atl/matrix';
import { meanPairwiseCosine } from '../../../src/main/atl/support-cv';
import { createStrategy, parseStrategyNames, STRATEGY_NAMES } from '../../../src/main/atl/strategies';
import { AtlStrategy } from '../../../src/main/atl/strategies/atl';
import { BlockHead } from '../../../src/main/atl/strategies/strategy';
import { Head2ToeStrategy } from '../../../src/main/atl/strategies/head2toe';
import { fromRows, split, syntheticFeatures, type SyntheticCandidate } from './synthetic';

const CLASSES = 5;
const PER_CLASS = 20;

/** The class signal lives only in layer 3 (spatially pooled); the penultimate is noise. */
const SIGNAL_IN_LAYER3: SyntheticCandidate[] = [
  { layer: 'layer0', dim: 8, signal: 0 },
  { layer: 'layer1', dim: 8, signal: 0 },
  { layer: 'layer2', dim: 16, signal: 0 },
  { layer: 'layer3', pooling: 'spatial', dim: 32, signal: 1.2 },
  { layer: 'layer4', dim: 8, signal: 0 },
  { layer: 'pooled', dim: 8, signal: 0, penultimate: true },
];

/** In the teacher's own domain: the penultimate is the informative layer. */
const SIGNAL_IN_PENULTIMATE: SyntheticCandidate[] = SIGNAL_IN_LAYER3.map((c) =>
  c.penultimate ? { ...c, dim: 32, signal: 1.2 } : { ...c, signal: c.layer === 'layer3' ? 0.15 : 0 },
);

/**
 * One shot, in the teacher's domain: the penultimate separates the classes; hidden layers carry
 * little (their raw rows stay alike: the shared offset dominates them).
 */
const IN_DOMAIN: SyntheticCandidate[] = [
  ...['layer0', 'layer1', 'layer2', 'layer3', 'layer4', 'layer5'].map((layer, i) => ({ layer, pooling: i % 2 ? ('spatial' as const) : ('gap' as const), dim: 32, signal: 0.2 })),
  { layer: 'pooled', dim: 32, signal: 1.5, penultimate: true },
];

/**
 * One shot, in a foreign domain: the penultimate collapses every image onto nearly the same vector
 * (no class signal, a large shared offset); five hidden candidates still tell the classes apart,
 * and one collapses them even more than the penultimate.
 */
const FOREIGN_DOMAIN: SyntheticCandidate[] = [
  { layer: 'layer0', dim: 32, signal: 0, offset: 20 },
  ...['layer1', 'layer2', 'layer3', 'layer4', 'layer5'].map((layer) => ({ layer, pooling: 'spatial' as const, dim: 32, signal: 1.5 })),
  { layer: 'pooled', dim: 32, signal: 0, offset: 10, penultimate: true },
];

/**
 * One shot: only layer 3 keeps the classes further apart than the (weakly informative) penultimate;
 * one candidate is too few to call the domain foreign.
 */
const ONE_LAYER_APART: SyntheticCandidate[] = [
  ...['layer0', 'layer1', 'layer2', 'layer4'].map((layer) => ({ layer, dim: 32, signal: 0 })),
  { layer: 'layer3', pooling: 'spatial', dim: 32, signal: 1.5 },
  { layer: 'pooled', dim: 32, signal: 1, penultimate: true },
];

function episode(candidates: SyntheticCandidate[], shots: number, seed: number) {
  const { features, labels } = syntheticFeatures(candidates, CLASSES, PER_CLASS, seed);
  const { support, query } = split(CLASSES, PER_CLASS, shots);
  return {
    support: features.select(support),
    supportLabels: Int32Array.from(support, (i) => labels[i]),
    query: features.select(query),
    queryLabels: Int32Array.from(query, (i) => labels[i]),
  };
}

describe('strategies on features whose class signal is only in layer 3', () => {
  const e = episode(SIGNAL_IN_LAYER3, 5, 1);

  it('best-single picks layer 3', () => {
    const model = createStrategy('best-single').fit(e.support, e.supportLabels);
    expect(model.describe().candidates).toEqual({ 'layer3:spatial': 1 });
    expect(model.score(e.query, e.queryLabels)).toBeGreaterThan(0.8);
  });

  it('atl (and ncm-atl) choose a set with layer 3 and the guard lets it replace the penultimate', () => {
    for (const name of ['atl', 'ncm-atl'] as const) {
      const model = createStrategy(name).fit(e.support, e.supportLabels);
      const { candidates, fallback } = model.describe();
      expect(fallback).toBeUndefined();
      expect(candidates['layer3:spatial']).toBe(1);
      expect(model.score(e.query, e.queryLabels)).toBeGreaterThan(0.8);
    }
    const penultimate = createStrategy('penultimate').fit(e.support, e.supportLabels);
    expect(penultimate.score(e.query, e.queryLabels)).toBeLessThan(0.45);
  });

  it("head2toe keeps mostly layer 3's features", () => {
    const model = new Head2ToeStrategy({ keepFraction: 0.2 }).fit(e.support, e.supportLabels);
    const shares = model.describe().candidates;
    expect(Object.values(shares).reduce((a, b) => a + b)).toBeCloseTo(1, 10);
    expect(shares['layer3:spatial']).toBeGreaterThan(0.6);
    expect(model.score(e.query, e.queryLabels)).toBeGreaterThan(0.7);
  });

  it('all-layers uses every candidate', () => {
    const model = createStrategy('all-layers').fit(e.support, e.supportLabels);
    expect(Object.keys(model.describe().candidates)).toHaveLength(SIGNAL_IN_LAYER3.length);
    expect(model.score(e.query, e.queryLabels)).toBeGreaterThan(0.4);
  });
});

describe('the guard and the one-shot fallback', () => {
  it('keeps the penultimate when it is the informative layer', () => {
    for (const seed of [2, 3, 4]) {
      const e = episode(SIGNAL_IN_PENULTIMATE, 5, seed);
      const atl = new AtlStrategy().fit(e.support, e.supportLabels);
      expect(atl.describe().candidates['pooled:gap']).toBe(1);
      const penultimate = createStrategy('penultimate').fit(e.support, e.supportLabels);
      expect(atl.score(e.query, e.queryLabels)).toBeGreaterThanOrEqual(penultimate.score(e.query, e.queryLabels) - 0.02);
    }
  });

  it('falls back to the guard when the gain is not clear, whatever the greedy choice', () => {
    const e = episode(SIGNAL_IN_LAYER3, 5, 1);
    const strict = new AtlStrategy({ guardLevel: 1e-300 }).fit(e.support, e.supportLabels);
    expect(strict.describe()).toEqual({ strategy: 'atl', candidates: { 'pooled:gap': 1 }, fallback: 'guard' });
  });

  it('with one example per class and fewer than 4 hidden candidates keeping the support apart, keeps the penultimate', () => {
    for (const seed of [5, 6, 7]) {
      const e = episode(ONE_LAYER_APART, 1, seed);
      for (const name of ['atl', 'ncm-atl', 'best-single'] as const) {
        expect(createStrategy(name).fit(e.support, e.supportLabels).describe()).toMatchObject({ candidates: { 'pooled:gap': 1 }, fallback: 'one-shot' });
      }
    }
  });

  it('meanPairwiseCosine: the mean cosine over pairs of raw rows (not centered; a zero row counts as orthogonal)', () => {
    // Pairs: (1,0)·(0,1) = 0, (1,0)·(1,1)/√2 = 1/√2, (0,1)·(1,1)/√2 = 1/√2.
    expect(meanPairwiseCosine(fromRows([[1, 0], [0, 1], [1, 1]]))).toBeCloseTo(Math.SQRT2 / 3, 12);
    expect(meanPairwiseCosine(fromRows([[2, 2], [1, 1]]))).toBeCloseTo(1, 12);
    expect(meanPairwiseCosine(fromRows([[1, 0], [0, 0], [3, 0]]))).toBeCloseTo(1 / 3, 12);
  });

  it('one shot in the domain: the penultimate keeps the support apart best, so it is kept', () => {
    for (const seed of [2, 3, 4, 5, 6]) {
      const e = episode(IN_DOMAIN, 1, seed);
      for (const name of ['atl', 'ncm-atl'] as const) {
        expect(createStrategy(name).fit(e.support, e.supportLabels).describe()).toMatchObject({ candidates: { 'pooled:gap': 1 }, fallback: 'one-shot' });
      }
    }
  });

  it('one shot in a foreign domain: the penultimate collapses the support, so the hidden candidates that keep it apart are used', () => {
    const informative = FOREIGN_DOMAIN.filter((c) => c.signal > 0).map((c) => `${c.layer}:${c.pooling ?? 'gap'}`);
    let gain = 0;
    for (const seed of [2, 3, 4, 5, 6]) {
      const e = episode(FOREIGN_DOMAIN, 1, seed);
      const atl = new AtlStrategy().fit(e.support, e.supportLabels);
      const { candidates, fallback } = atl.describe();
      expect(fallback).toBe('one-shot-hidden');
      expect(Object.keys(candidates).sort()).toEqual([...informative].sort());
      gain += atl.score(e.query, e.queryLabels) - createStrategy('penultimate').fit(e.support, e.supportLabels).score(e.query, e.queryLabels);
    }
    expect(gain / 5).toBeGreaterThan(0.2);
    // The count is a threshold: asking for more such candidates than there are keeps the penultimate.
    const e = episode(FOREIGN_DOMAIN, 1, 2);
    const strict = new AtlStrategy({ oneShotMinLayers: informative.length + 1 }).fit(e.support, e.supportLabels);
    expect(strict.describe()).toEqual({ strategy: 'atl', candidates: { 'pooled:gap': 1 }, fallback: 'one-shot' });
  });
});

describe('five shots in a foreign domain', () => {
  const informative = FOREIGN_DOMAIN.filter((c) => c.signal > 0).map((c) => `${c.layer}:${c.pooling ?? 'gap'}`);

  it('the domain check skips the guard: the greedy set is used even when the guard could never pass', () => {
    const e = episode(FOREIGN_DOMAIN, 5, 2);
    for (const name of ['atl', 'ncm-atl'] as const) {
      const model = new AtlStrategy({ head: name === 'atl' ? 'logistic' : 'ncm', guardLevel: 1e-300 }).fit(e.support, e.supportLabels);
      const { candidates, fallback } = model.describe();
      expect(fallback).toBeUndefined();
      // Greedy starts from the best single candidate, an informative one (with ε = 0 it may add others).
      expect(informative).toContain(Object.keys(candidates)[0]);
      expect(model.score(e.query, e.queryLabels)).toBeGreaterThan(0.9);
    }
    // The count is a threshold: asking for more such candidates than there are leaves it to the guard.
    const strict = new AtlStrategy({ guardLevel: 1e-300, foreignMinLayers: informative.length + 1 }).fit(e.support, e.supportLabels);
    expect(strict.describe()).toEqual({ strategy: 'atl', candidates: { 'pooled:gap': 1 }, fallback: 'guard' });
  });

  it('the logistic head on a set of b candidates uses C·b (each block is scaled by 1/√b); the penultimate alone keeps C', () => {
    const e = episode(FOREIGN_DOMAIN, 5, 3);
    const atl = new AtlStrategy({ C: 0.5 }).fit(e.support, e.supportLabels);
    const keys = Object.keys(atl.describe().candidates);
    expect(keys.length).toBeGreaterThan(1);
    expect(atl.toHead()).toEqual(new BlockHead(keys, 'logistic', { C: 0.5 * keys.length }).fit(e.support, e.supportLabels).toHead());
    const inDomain = episode(SIGNAL_IN_PENULTIMATE, 5, 2);
    const kept = new AtlStrategy().fit(inDomain.support, inDomain.supportLabels);
    expect(kept.describe().candidates).toEqual({ 'pooled:gap': 1 });
    expect(kept.toHead()).toEqual(createStrategy('penultimate').fit(inDomain.support, inDomain.supportLabels).toHead());
  });
});

describe('no leakage, determinism', () => {
  const e = episode(SIGNAL_IN_LAYER3, 5, 7);

  it('predictions of a query do not depend on the other queries (no query statistics)', () => {
    for (const name of STRATEGY_NAMES) {
      const model = createStrategy(name).fit(e.support, e.supportLabels);
      const all = model.predict(e.query);
      for (const row of [0, 17, 74]) expect(model.predict(e.query.select([row]))[0]).toBe(all[row]);
    }
  });

  it('every strategy is deterministic: refitting gives the same choices and predictions', () => {
    for (const name of STRATEGY_NAMES) {
      const a = createStrategy(name).fit(e.support, e.supportLabels);
      const b = createStrategy(name).fit(e.support, e.supportLabels);
      expect(b.describe()).toEqual(a.describe());
      expect(Array.from(b.predict(e.query))).toEqual(Array.from(a.predict(e.query)));
    }
  });

  it('ncm on the penultimate is SimpleShot: accuracy of nearest centered, normalized mean', () => {
    const good = episode(SIGNAL_IN_PENULTIMATE, 5, 8);
    const model = createStrategy('ncm').fit(good.support, good.supportLabels);
    expect(accuracy(model.predict(good.query), good.queryLabels)).toBeGreaterThan(0.8);
  });
});

describe('strategy names', () => {
  it("parses 'all' and lists, and refuses unknown names", () => {
    expect(parseStrategyNames('all')).toEqual([...STRATEGY_NAMES]);
    expect(parseStrategyNames('atl, ncm,atl')).toEqual(['atl', 'ncm']);
    expect(() => parseStrategyNames('atl,magic')).toThrow(/Unknown strategy magic/);
  });
});
