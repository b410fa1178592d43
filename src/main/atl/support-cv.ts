/**
 * Cross-validation on the support alone, for choosing candidates. The scorer is nearest class
 * mean on normalized blocks (see `BlockNormalizer`): it has no hyper-parameters to tune inside the
 * folds, and its squared distances on a concatenation are the mean of the blocks' squared
 * distances, so each candidate's held-out distance table is computed once and any set of
 * candidates is scored by adding tables. That makes greedy search over dozens of candidates cost
 * less than one linear-head fit. Also here: the per-example calibrated log-likelihoods and the
 * t statistic that the ATL guard compares sets with; and, for one shot per class, where nothing can
 * be held out, how alike a candidate finds the support's examples (`meanPairwiseCosine`).
 */
import { StudioError } from '../core/errors';
import { addScaled, dot, dot64, dotWeights, type Matrix } from './matrix';

export interface FoldOptions {
  /** Leave-one-out while every class has at most this many examples; k-fold beyond. */
  looMaxShots: number;
  /** k for k-fold (stratified). */
  folds: number;
}

/**
 * Leave-one-out on small supports keeps the most training rows per fit; beyond 10 shots per class,
 * 5 stratified folds cost less and the class means barely move.
 */
export const FOLD_DEFAULTS: FoldOptions = { looMaxShots: 10, folds: 5 };

/**
 * The fold of each example, or null when some class has a single example (no mean is left to
 * score it against). Folds are deterministic: k-fold deals each class's examples round-robin in
 * their given order (the episode sampler's order is already random).
 */
export function supportFolds(labels: Int32Array, classes: number, options: FoldOptions = FOLD_DEFAULTS): Int32Array | null {
  const counts = new Int32Array(classes);
  for (const label of labels) counts[label]++;
  if (Math.min(...counts) < 2) return null;
  const folds = new Int32Array(labels.length);
  if (Math.max(...counts) <= options.looMaxShots) {
    folds.forEach((_, i) => (folds[i] = i));
    return folds;
  }
  const rank = new Int32Array(classes);
  labels.forEach((label, i) => (folds[i] = rank[label]++ % options.folds));
  return folds;
}

/**
 * Squared distance from each row to each class's mean computed without the row's fold,
 * `rows × classes`. With T the class's training sum (class sum S minus the fold's part F) and t
 * its count, ‖z − T/t‖² = ‖z‖² − 2·(z·S − z·F)/t + (‖S‖² − 2·F·S + ‖F‖²)/t², and every term is a
 * dot product with a class sum or a fold's class sum: O(rows·classes·dim), for leave-one-out and
 * k-fold alike (a Gram matrix inside each fold would cost O(rows²·dim/k): minutes at 5,000 rows).
 */
export function heldOutDistances(z: Matrix, labels: Int32Array, classes: number, folds: Int32Array): Float64Array {
  const { rows: n, cols: d, data } = z;
  const k = classes;
  const sums = new Float64Array(k * d);
  const counts = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    counts[labels[i]]++;
    addScaled(1, data, i * d, sums, labels[i] * d, d);
  }
  const sumSquares = new Float64Array(k);
  for (let c = 0; c < k; c++) sumSquares[c] = dot64(sums, c * d, sums, c * d, d);
  const members: number[][] = Array.from({ length: Math.max(...folds) + 1 }, () => []);
  folds.forEach((f, i) => members[f].push(i));
  const out = new Float64Array(n * k);
  // One fold at a time: its class sums F_c, their squares and their dot products with S_c.
  const foldSums = new Float64Array(k * d);
  const foldCounts = new Float64Array(k);
  const foldSquares = new Float64Array(k);
  const foldDotSum = new Float64Array(k);
  for (const rows of members) {
    const present = [...new Set(rows.map((i) => labels[i]))];
    for (const i of rows) {
      foldCounts[labels[i]]++;
      addScaled(1, data, i * d, foldSums, labels[i] * d, d);
    }
    for (const c of present) {
      foldSquares[c] = dot64(foldSums, c * d, foldSums, c * d, d);
      foldDotSum[c] = dot64(foldSums, c * d, sums, c * d, d);
    }
    for (const i of rows) {
      const self = dot(data, i * d, data, i * d, d);
      for (let c = 0; c < k; c++) {
        const left = counts[c] - foldCounts[c];
        if (left < 1) throw new StudioError('invalid_input', `Class ${c} has no examples outside fold ${folds[i]}`);
        const inFold = foldCounts[c] > 0 ? dotWeights(data, i * d, foldSums, c * d, d) : 0;
        const cross = dotWeights(data, i * d, sums, c * d, d) - inFold;
        const trainSquares = sumSquares[c] - 2 * foldDotSum[c] + foldSquares[c];
        out[i * k + c] = self - (2 * cross) / left + trainSquares / (left * left);
      }
    }
    for (const c of present) {
      foldSums.fill(0, c * d, (c + 1) * d);
      foldCounts[c] = foldSquares[c] = foldDotSum[c] = 0;
    }
  }
  return out;
}

export interface CvScore {
  /** Held-out rows nearer their own class mean than any other (ties count as errors). */
  correct: number;
  rows: number;
  /** Mean over rows of (nearest other class − own class) mean-per-block squared distance. */
  margin: number;
}

export function cvAccuracy(score: CvScore): number {
  return score.correct / score.rows;
}

/** Scores the sum of `blocks` candidates' held-out distance tables. */
export function scoreDistances(summed: Float64Array, blocks: number, labels: Int32Array, classes: number): CvScore {
  const n = labels.length;
  let correct = 0;
  let margin = 0;
  for (let i = 0; i < n; i++) {
    const own = summed[i * classes + labels[i]];
    let other = Infinity;
    for (let c = 0; c < classes; c++) if (c !== labels[i]) other = Math.min(other, summed[i * classes + c]);
    const m = (other - own) / blocks;
    if (m > 0) correct++;
    margin += m;
  }
  return { correct, rows: n, margin: margin / n };
}

/** Positive when `a` is better: more held-out rows right, then the larger margin. */
export function compareScores(a: CvScore, b: CvScore): number {
  return a.correct !== b.correct ? a.correct - b.correct : a.margin - b.margin;
}

export interface SelectionOptions {
  /** Add a candidate only if it raises held-out accuracy by at least this (a fraction). */
  epsilon: number;
  /** Most candidates in the set. */
  maxSize: number;
}

export interface Selection {
  chosen: string[];
  score: CvScore;
}

/**
 * Greedy forward selection: start from the best single candidate (accuracy, then margin), then
 * repeatedly add the candidate that helps most, while it raises held-out accuracy by ≥ ε.
 * Candidates are tried in the map's order, which decides exact ties.
 */
export function greedyForwardSelection(
  distances: ReadonlyMap<string, Float64Array>,
  labels: Int32Array,
  classes: number,
  options: SelectionOptions,
): Selection {
  const n = labels.length;
  const summed = new Float64Array(n * classes);
  const trial = new Float64Array(n * classes);
  const chosen: string[] = [];
  let score: CvScore | null = null;
  while (chosen.length < options.maxSize) {
    let best: { key: string; score: CvScore } | null = null;
    for (const [key, table] of distances) {
      if (chosen.includes(key)) continue;
      for (let i = 0; i < trial.length; i++) trial[i] = summed[i] + table[i];
      const candidate = scoreDistances(trial, chosen.length + 1, labels, classes);
      if (!best || compareScores(candidate, best.score) > 0) best = { key, score: candidate };
    }
    if (!best) break;
    if (score && cvAccuracy(best.score) - cvAccuracy(score) < options.epsilon - 1e-12) break;
    chosen.push(best.key);
    score = best.score;
    const table = distances.get(best.key)!;
    for (let i = 0; i < summed.length; i++) summed[i] += table[i];
  }
  if (!score) throw new StudioError('invalid_input', 'No candidates to select from');
  return { chosen, score };
}

/** The largest inverse temperature tried: a set that separates every held-out row would otherwise want β → ∞. */
export const MAX_INVERSE_TEMPERATURE = 50;

/**
 * Each row's held-out log-probability of its own class under the nearest-mean classifier made
 * probabilistic, p(c | row) ∝ exp(−β·d(row, c)), with β fitted by maximum likelihood on these
 * rows (golden-section search on [0, βmax]; the log-likelihood is concave in β). Calibrating β per
 * feature set makes the scores of different sets comparable: a proper score per example, where
 * accuracy would only say right or wrong.
 */
export function heldOutLogLikelihoods(summed: Float64Array, blocks: number, labels: Int32Array, classes: number): Float64Array {
  const n = labels.length;
  const distances = summed.map((v) => v / blocks);
  const logProbability = (i: number, beta: number): number => {
    let nearest = Infinity;
    for (let c = 0; c < classes; c++) nearest = Math.min(nearest, distances[i * classes + c]);
    let total = 0;
    for (let c = 0; c < classes; c++) total += Math.exp(-beta * (distances[i * classes + c] - nearest));
    return -beta * (distances[i * classes + labels[i]] - nearest) - Math.log(total);
  };
  const likelihood = (beta: number): number => {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += logProbability(i, beta);
    return sum;
  };
  const ratio = (Math.sqrt(5) - 1) / 2;
  let low = 0;
  let high = MAX_INVERSE_TEMPERATURE;
  let a = high - ratio * (high - low);
  let b = low + ratio * (high - low);
  let fa = likelihood(a);
  let fb = likelihood(b);
  for (let step = 0; step < 40; step++) {
    if (fa > fb) {
      high = b;
      b = a;
      fb = fa;
      a = high - ratio * (high - low);
      fa = likelihood(a);
    } else {
      low = a;
      a = b;
      fa = fb;
      b = low + ratio * (high - low);
      fb = likelihood(b);
    }
  }
  const beta = (low + high) / 2;
  return Float64Array.from({ length: n }, (_, i) => logProbability(i, beta));
}

/** One-sample t statistic of `values` (mean over its standard error); ±∞ when they are all equal and nonzero. */
export function tStatistic(values: ArrayLike<number>): number {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i] / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += (values[i] - mean) ** 2;
  const standardError = Math.sqrt(squares / (n - 1) / n);
  if (!(standardError > 1e-12 * Math.max(1, Math.abs(mean)))) return mean === 0 ? 0 : mean * Infinity;
  return mean / standardError;
}

/**
 * The mean cosine similarity over all pairs of rows of `z`, taken on the raw rows (not centered:
 * centering on five rows would make any layer look spread out). With one example per class, every
 * pair is two different classes, so this says how much a candidate tells those classes apart:
 * near 1 when it maps them onto nearly the same direction (a teacher's penultimate on images from
 * a foreign domain), lower when it keeps them apart. Zero rows count as orthogonal to everything.
 * With u the unit rows, Σ_{i<j} u_i·u_j = (‖Σ u_i‖² − Σ ‖u_i‖²) / 2: O(rows·dim), not a loop over pairs.
 */
export function meanPairwiseCosine(z: Matrix): number {
  const { rows: n, cols: d, data } = z;
  if (n < 2) throw new StudioError('invalid_input', 'Mean pairwise cosine needs at least two rows');
  const unitSum = new Float64Array(d);
  let units = 0;
  for (let i = 0; i < n; i++) {
    const norm = Math.sqrt(dot(data, i * d, data, i * d, d));
    if (norm === 0) continue;
    addScaled(1 / norm, data, i * d, unitSum, 0, d);
    units++;
  }
  return (dot64(unitSum, 0, unitSum, 0, d) - units) / (n * (n - 1));
}
