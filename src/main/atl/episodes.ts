/**
 * Few-shot episodes and their statistics. Episodes are drawn once from a seed and every strategy
 * is scored on the same ones, so strategies are compared *paired*: the difference per episode
 * cancels how hard each episode happened to be.
 */
import { seededRandom } from '../../shared/seeded-random';
import { StudioError } from '../core/errors';

/** One seed from several numbers (e.g. the user's seed and the shot count), hashed so nearby inputs differ widely. */
export function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x01000193);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}

export interface EpisodeSpec {
  ways: number;
  shots: number;
  queries: number;
}

export interface Episode {
  /** The classes drawn (indices into the class list); episode label c means classes[c]. */
  classes: number[];
  /** Item indices, class by class. */
  support: Int32Array;
  supportLabels: Int32Array;
  query: Int32Array;
  queryLabels: Int32Array;
}

/**
 * `count` episodes: each draws `ways` classes among those with at least shots + queries items,
 * then shots + queries distinct items per class (the first `shots` are the support).
 */
export function sampleEpisodes(itemsByClass: readonly (readonly number[])[], spec: EpisodeSpec, count: number, seed: number): Episode[] {
  const { ways, shots, queries } = spec;
  const eligible = itemsByClass.flatMap((items, c) => (items.length >= shots + queries ? [c] : []));
  if (eligible.length < ways) {
    throw new StudioError('invalid_input', `${ways}-way ${shots}-shot with ${queries} queries needs ${ways} classes of ≥ ${shots + queries} images; only ${eligible.length} have that many`);
  }
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const classes = drawDistinct(eligible, ways, random);
    const support = new Int32Array(ways * shots);
    const query = new Int32Array(ways * queries);
    const supportLabels = new Int32Array(ways * shots);
    const queryLabels = new Int32Array(ways * queries);
    classes.forEach((c, label) => {
      const items = drawDistinct(itemsByClass[c], shots + queries, random);
      for (let s = 0; s < shots; s++) {
        support[label * shots + s] = items[s];
        supportLabels[label * shots + s] = label;
      }
      for (let q = 0; q < queries; q++) {
        query[label * queries + q] = items[shots + q];
        queryLabels[label * queries + q] = label;
      }
    });
    return { classes, support, supportLabels, query, queryLabels };
  });
}

/**
 * `count` stratified splits of all items, as episodes: in each, `testFraction` of every class
 * (rounded, at least 1) is the query and the rest the support. Only classes with ≥ 2 items take
 * part (a class needs one example to learn from and one to test).
 */
export function stratifiedSplits(itemsByClass: readonly (readonly number[])[], testFraction: number, count: number, seed: number): Episode[] {
  const classes = itemsByClass.flatMap((items, c) => (items.length >= 2 ? [c] : []));
  if (classes.length < 2) throw new StudioError('invalid_input', `Splits need 2 classes with ≥ 2 labeled images; ${classes.length} have that many`);
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const support: number[] = [];
    const supportLabels: number[] = [];
    const query: number[] = [];
    const queryLabels: number[] = [];
    classes.forEach((c, label) => {
      const items = drawDistinct(itemsByClass[c], itemsByClass[c].length, random);
      const tests = Math.min(items.length - 1, Math.max(1, Math.round(testFraction * items.length)));
      items.forEach((item, i) => {
        if (i < tests) {
          query.push(item);
          queryLabels.push(label);
        } else {
          support.push(item);
          supportLabels.push(label);
        }
      });
    });
    return {
      classes,
      support: Int32Array.from(support),
      supportLabels: Int32Array.from(supportLabels),
      query: Int32Array.from(query),
      queryLabels: Int32Array.from(queryLabels),
    };
  });
}

/** `count` distinct elements in random order (partial Fisher–Yates on a copy). */
function drawDistinct<T>(from: readonly T[], count: number, random: () => number): T[] {
  const pool = [...from];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  return pool.slice(0, count);
}

export interface MeanCi {
  mean: number;
  /** Half-width of the 95 % confidence interval: 1.96·s/√n, as few-shot papers report it. */
  ci95: number;
}

export function meanCi95(values: readonly number[]): MeanCi {
  const n = values.length;
  if (n === 0) throw new StudioError('invalid_input', 'No values to average');
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, ci95: 0 };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  return { mean, ci95: (1.96 * Math.sqrt(variance)) / Math.sqrt(n) };
}

/** Mean and CI of the per-episode differences `values − baseline`. */
export function pairedDifference(values: readonly number[], baseline: readonly number[]): MeanCi {
  if (values.length !== baseline.length) throw new StudioError('invalid_input', `Paired values need equal lengths (${values.length} vs ${baseline.length})`);
  return meanCi95(values.map((v, i) => v - baseline[i]));
}
