/**
 * `atl-teachers` and the merged features it reads, on synthetic teachers with a known answer:
 * which teacher carries the classes is set by construction (signal > 0), and whether a
 * penultimate collapses the support is set by its shared offset (raw rows alike).
 */
import { describe, expect, it } from 'vitest';
import { FeatureSet, mergeTeacherFeatures } from '../../../src/main/atl/features';
import { createStrategy } from '../../../src/main/atl/strategies';
import { AtlStrategy } from '../../../src/main/atl/strategies/atl';
import { AtlTeachersStrategy, meanPairwiseCorrelation } from '../../../src/main/atl/strategies/atl-teachers';
import { accuracy } from '../../../src/main/atl/matrix';
import { fromRows, split, syntheticFeatures, type SyntheticCandidate } from './synthetic';

const CLASSES = 5;
const PER_CLASS = 20;

/** Two teachers' synthetic features of the same rows (same labels), merged. */
function twoTeachers(a: SyntheticCandidate[], b: SyntheticCandidate[], seed: number) {
  const first = syntheticFeatures(a, CLASSES, PER_CLASS, seed);
  const second = syntheticFeatures(b, CLASSES, PER_CLASS, seed + 1000);
  const features = mergeTeacherFeatures([
    { teacher: 'a', features: first.features },
    { teacher: 'b', features: second.features },
  ]);
  return { features, labels: first.labels };
}

function episode(features: FeatureSet, labels: Int32Array, shots: number) {
  const { support, query } = split(CLASSES, PER_CLASS, shots);
  return {
    support: features.select(support),
    supportLabels: labels.filter((_, i) => support.includes(i)),
    query: features.select(query),
    queryLabels: Int32Array.from(query, (i) => labels[i]),
  };
}

const noise = (layer: string, extra: Partial<SyntheticCandidate> = {}): SyntheticCandidate => ({ layer, dim: 16, signal: 0, ...extra });
const informative = (layer: string, signal: number, extra: Partial<SyntheticCandidate> = {}): SyntheticCandidate => ({ layer, dim: 16, signal, ...extra });

describe('mergeTeacherFeatures', () => {
  const { features } = twoTeachers([noise('h1'), noise('pooled', { penultimate: true })], [noise('h1'), noise('pooled', { penultimate: true })], 1);

  it('prefixes every key with its teacher, records the teacher, and keeps each teacher’s penultimate', () => {
    expect(features.keys).toEqual(['a/h1:gap', 'a/pooled:gap', 'b/h1:gap', 'b/pooled:gap']);
    expect(features.teachers).toEqual(['a', 'b']);
    expect(features.candidatesOf('b').map((c) => c.key)).toEqual(['b/h1:gap', 'b/pooled:gap']);
    expect(features.penultimate.key).toBe('a/pooled:gap'); // the first teacher's: the baseline
    expect(features.candidates.filter((c) => c.penultimate).map((c) => c.key)).toEqual(['a/pooled:gap', 'b/pooled:gap']);
  });

  it('keeps the teachers through select, and refuses teachers of different rows or two penultimates of one teacher', () => {
    expect(features.select([0, 1]).teachers).toEqual(['a', 'b']);
    const other = syntheticFeatures([noise('pooled', { penultimate: true })], CLASSES, 3, 2).features;
    expect(() => mergeTeacherFeatures([{ teacher: 'a', features }, { teacher: 'b', features: other }])).toThrow(/rows/);
    const twice = features.candidates.map((c) => ({ ...c, teacher: 'a' }));
    expect(() => new FeatureSet(twice, features.rows, new Map(features.keys.map((k) => [k, features.block(k).data])))).toThrow(/per teacher/);
  });
});

describe('atl-teachers', () => {
  it('is atl, exactly, with one teacher (merged or not)', () => {
    const single = syntheticFeatures([noise('h1'), informative('h2', 1.5), informative('pooled', 0.4, { penultimate: true })], CLASSES, PER_CLASS, 3);
    for (const features of [single.features, mergeTeacherFeatures([{ teacher: 'a', features: single.features }])]) {
      for (const shots of [1, 5]) {
        const e = episode(features, single.labels, shots);
        const atl = new AtlStrategy().fit(e.support, e.supportLabels);
        const teachers = createStrategy('atl-teachers').fit(e.support, e.supportLabels);
        expect(teachers.describe()).toEqual({ ...atl.describe(), strategy: 'atl-teachers' });
        expect(teachers.predict(e.query)).toEqual(atl.predict(e.query));
      }
    }
  });

  it('with 5 shots takes the teacher whose penultimate carries the classes, not the first one', () => {
    const { features, labels } = twoTeachers(
      [noise('h1'), noise('h2'), noise('pooled', { penultimate: true })],
      [noise('h1'), noise('h2'), informative('pooled', 1.5, { penultimate: true })],
      4,
    );
    const e = episode(features, labels, 5);
    const strategy = new AtlTeachersStrategy().fit(e.support, e.supportLabels);
    expect(Object.keys(strategy.describe().candidates)).toEqual(['b/pooled:gap']);
    expect(accuracy(strategy.predict(e.query), e.queryLabels)).toBeGreaterThan(0.9);
  });

  it('with 5 shots concatenates blocks of different teachers when each carries part of the classes', () => {
    const { features, labels } = twoTeachers(
      [informative('h1', 0.5, { dim: 64 }), noise('pooled', { penultimate: true, offset: 20 })],
      [informative('h1', 0.5, { dim: 64 }), noise('pooled', { penultimate: true, offset: 20 })],
      5,
    );
    const e = episode(features, labels, 5);
    const strategy = new AtlTeachersStrategy().fit(e.support, e.supportLabels);
    expect(Object.keys(strategy.describe().candidates).sort()).toEqual(['a/h1:gap', 'b/h1:gap']);
  });

  it('with 1 shot leaves out a teacher whose penultimate keeps the support far more correlated than another’s', () => {
    // a: its penultimate carries no class (its rows share one pattern); b: its penultimate spreads the classes.
    const hidden = [informative('h1', 1), informative('h2', 1)];
    const { features, labels } = twoTeachers(
      [...hidden, noise('pooled', { penultimate: true })],
      [...hidden, informative('pooled', 3, { penultimate: true })],
      6,
    );
    const e = episode(features, labels, 1);
    const strategy = new AtlTeachersStrategy().fit(e.support, e.supportLabels);
    expect(strategy.describe()).toEqual({ strategy: 'atl-teachers', candidates: { 'b/pooled:gap': 1 }, fallback: 'one-shot' });
  });

  it('with 1 shot keeps a teacher whose own hidden layers say the domain is foreign by its hidden choice, beside the other’s penultimate', () => {
    const { features, labels } = twoTeachers(
      [informative('h1', 1, { offset: 30 }), informative('pooled', 1, { penultimate: true, offset: 10 })],
      // b's penultimate spreads the support more than a's, but so do 4 of its hidden layers, and more.
      [...['h1', 'h2', 'h3', 'h4'].map((layer) => informative(layer, 3, { offset: 0 })), informative('pooled', 3, { penultimate: true, offset: 2 })],
      7,
    );
    const e = episode(features, labels, 1);
    // b's own choice is its hidden layers (its domain check); a's penultimate is compared with penultimates only.
    const union = new AtlTeachersStrategy().fit(e.support, e.supportLabels);
    expect(Object.keys(union.describe().candidates).sort()).toEqual(['a/pooled:gap', 'b/h1:gap', 'b/h2:gap', 'b/h3:gap', 'b/h4:gap']);
    // a's one block weighs as much as b's four together.
    expect(union.toHead().weighting).toBe('teacher');
    // With a stricter check neither is foreign, and b's penultimate is far less correlated than a's.
    expect(new AtlTeachersStrategy({ oneShotMinLayers: 5 }).fit(e.support, e.supportLabels).describe().candidates).toEqual({ 'b/pooled:gap': 1 });
  });

  it('measures correlation whatever the rows’ scale and offset', () => {
    const rows = fromRows([[1, 2, 3, 4], [4, 3, 2, 1], [1, 3, 2, 4]]);
    const shifted = fromRows([[11, 12, 13, 14], [8, 6, 4, 2], [101, 103, 102, 104]]); // +10, ×2, +100
    expect(meanPairwiseCorrelation(shifted)).toBeCloseTo(meanPairwiseCorrelation(rows), 6);
    expect(meanPairwiseCorrelation(rows)).toBeCloseTo((-1 + 0.8 - 0.8) / 3, 6);
  });

  it('keeps its name and parameters through createStrategy', () => {
    const strategy = createStrategy({ name: 'atl-teachers', params: { maxSize: 2 } });
    expect(strategy).toBeInstanceOf(AtlTeachersStrategy);
    expect(strategy.name).toBe('atl-teachers');
    expect(strategy.getParams().maxSize).toBe(2);
  });
});
