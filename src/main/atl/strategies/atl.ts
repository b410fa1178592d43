/**
 * Adaptive transfer learning (our reconstruction; see docs/atl.md): choose a *set* of candidates
 * by greedy forward selection, scored by held-out nearest-mean accuracy on the support, then fit a
 * logistic-regression head (`atl`) or a nearest-mean head (`ncm-atl`) on the chosen set.
 *
 * The guard: the penultimate layer is the strong default (in the teacher's own domain it is best,
 * and the best of dozens of noisy held-out scores is optimistic), so the chosen set replaces it
 * only when it is clearly better on the support's held-out examples: a one-sided paired t-test on
 * each example's calibrated held-out log-likelihood (see `heldOutLogLikelihoods`), chosen set
 * against penultimate, must reach `guardT`.
 *
 * With one example per class nothing can be held out. Then a domain check on the support alone:
 * a teacher's penultimate maps images from a foreign domain onto similar vectors, so when at least
 * `oneShotMinLayers` hidden candidates keep the support's examples (all of different classes) further
 * apart than the penultimate does (a lower mean pairwise cosine, `meanPairwiseCosine`), those
 * candidates are used instead; otherwise the penultimate is kept.
 */
import type { FeatureSet } from '../features';
import type { LogisticRegressionOptions } from '../logistic-regression';
import { classCount } from '../matrix';
import {
  FOLD_DEFAULTS,
  greedyForwardSelection,
  heldOutLogLikelihoods,
  meanPairwiseCosine,
  supportFolds,
  tStatistic,
  type FoldOptions,
} from '../support-cv';
import { heldOutTables } from './held-out';
import { SetStrategy, type HeadKind, type StrategyDescription, type StrategyName } from './strategy';

export interface AtlOptions {
  head: HeadKind;
  /** Add a candidate only when it raises held-out accuracy by at least this (a fraction; 0: while it does not drop). */
  epsilon: number;
  /** Most candidates in the chosen set. */
  maxSize: number;
  /** Replace the penultimate only when the paired t statistic of the held-out log-likelihood gain reaches this. */
  guardT: number;
  /**
   * One shot per class: use the hidden candidates whose support rows are less alike than the
   * penultimate's (mean pairwise cosine) when there are at least this many; else the penultimate.
   */
  oneShotMinLayers: number;
  folds: FoldOptions;
  logistic: Partial<LogisticRegressionOptions>;
}

/**
 * ε = 0 and up to 8 candidates: averaging several good blocks' distances cancels part of their
 * errors even where 25 held-out examples are too few to show a gain of one more. guardT = 1.645,
 * the one-sided 5 % level: conventional, and strict enough that the optimism of picking the best of
 * dozens of candidates on the same examples rarely passes it. oneShotMinLayers = 4: in the teacher's
 * own domain one to three of its last spatial candidates spread the support more than its
 * penultimate (ResNet-56 on CIFAR-10, development episodes; five at most), out of its domain more
 * (see docs/atl.md, "One shot per class").
 */
export const ATL_DEFAULTS: AtlOptions = {
  head: 'logistic',
  epsilon: 0,
  maxSize: 8,
  guardT: 1.645,
  oneShotMinLayers: 4,
  folds: FOLD_DEFAULTS,
  logistic: {},
};

export class AtlStrategy extends SetStrategy {
  readonly name: StrategyName;
  readonly options: AtlOptions;

  constructor(options: Partial<AtlOptions> = {}) {
    const full = { ...ATL_DEFAULTS, ...options };
    super(full.head, full.logistic);
    this.options = full;
    this.name = full.head === 'ncm' ? 'ncm-atl' : 'atl';
  }

  protected choose(features: FeatureSet, labels: Int32Array): { keys: string[]; fallback?: StrategyDescription['fallback'] } {
    const penultimate = features.penultimate.key;
    const classes = classCount(labels);
    const folds = supportFolds(labels, classes, this.options.folds);
    if (!folds) return this.chooseOneShot(features);
    const tables = heldOutTables(features, labels, classes, folds);
    const { chosen } = greedyForwardSelection(tables, labels, classes, this.options);
    if (chosen.length === 1 && chosen[0] === penultimate) return { keys: chosen };
    const summed = new Float64Array(labels.length * classes);
    for (const key of chosen) tables.get(key)!.forEach((v, i) => (summed[i] += v));
    const gain = heldOutLogLikelihoods(summed, chosen.length, labels, classes);
    const baseline = heldOutLogLikelihoods(tables.get(penultimate)!, 1, labels, classes);
    const t = tStatistic(gain.map((v, i) => v - baseline[i]));
    return t >= this.options.guardT ? { keys: chosen } : { keys: [penultimate], fallback: 'guard' };
  }

  /**
   * One example per class: the hidden candidates that keep the support's examples further apart
   * than the penultimate (lower mean pairwise cosine of the raw rows), when there are at least
   * `oneShotMinLayers` of them (the penultimate collapses this domain); else the penultimate.
   */
  private chooseOneShot(features: FeatureSet): { keys: string[]; fallback: StrategyDescription['fallback'] } {
    const penultimate = features.penultimate.key;
    if (features.rows < 2) return { keys: [penultimate], fallback: 'one-shot' };
    const similarity = meanPairwiseCosine(features.block(penultimate));
    const spread = features.keys.filter((key) => key !== penultimate && meanPairwiseCosine(features.block(key)) < similarity);
    return spread.length >= this.options.oneShotMinLayers ? { keys: spread, fallback: 'one-shot-hidden' } : { keys: [penultimate], fallback: 'one-shot' };
  }
}
