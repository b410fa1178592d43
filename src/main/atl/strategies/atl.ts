/**
 * Adaptive transfer learning (our reconstruction; see docs/atl.md): choose a *set* of candidates
 * by greedy forward selection, scored by held-out nearest-mean accuracy on the support, then fit a
 * logistic-regression head (`atl`) or a nearest-mean head (`ncm-atl`) on the chosen set.
 *
 * The guard: the penultimate layer is the strong default (in the teacher's own domain it is best,
 * and the best of dozens of noisy held-out scores is optimistic), so the chosen set replaces it
 * only when it is clearly better on the support's held-out examples: a one-sided paired t-test on
 * each example's calibrated held-out log-likelihood (see `heldOutLogLikelihoods`), chosen set
 * against penultimate, must reach `guardT`. Unless the same support shows that the teacher's
 * domain is foreign (the domain check below finds at least `foreignMinLayers` hidden candidates
 * that keep the support's rows further apart than the penultimate): there the penultimate is not
 * the strong default, and the greedy set is used without the guard. With two or more shots, the
 * logistic head on a greedy set of b candidates uses C·b (see `choose`); the one-shot set keeps C.
 *
 * With one example per class nothing can be held out. Then a domain check on the support alone:
 * a teacher's penultimate maps images from a foreign domain onto similar vectors, so when at least
 * `oneShotMinLayers` hidden candidates keep the support's examples (all of different classes) further
 * apart than the penultimate does (a lower mean pairwise cosine, `meanPairwiseCosine`), those
 * candidates are used instead; otherwise the penultimate is kept.
 */
import type { FeatureSet } from '../features';
import { LOGISTIC_REGRESSION_DEFAULTS, type LogisticRegressionOptions } from '../logistic-regression';
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
import { SetStrategy, type HeadKind, type SetChoice, type StrategyDescription, type StrategyName } from './strategy';

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
  /**
   * Two or more examples per class: when at least this many hidden candidates find the support's
   * rows less alike than the penultimate does (the same domain check as one shot), the teacher's
   * domain is foreign and the greedy set is used without the guard.
   */
  foreignMinLayers: number;
  folds: FoldOptions;
  logistic: Partial<LogisticRegressionOptions>;
}

/**
 * ε = 0 and up to 8 candidates: averaging several good blocks' distances cancels part of their
 * errors even where 25 held-out examples are too few to show a gain of one more. guardT = 1.645 is
 * a tuned threshold, not a 5 % test (it is the normal's one-sided 5 % point; Student's t with ~24
 * degrees of freedom needs ≈ 1.71, and the set is the best of many on the same examples): strict
 * enough that the optimism of picking the best of dozens of candidates rarely passes it. oneShotMinLayers = 4: in the teacher's
 * own domain one to three of its last spatial candidates spread the support more than its
 * penultimate (ResNet-56 on CIFAR-10, development episodes; five at most), out of its domain more
 * (see docs/atl.md, "One shot per class"). foreignMinLayers = 4: the same count as a domain check
 * on a 5-shot support (development episodes: in domain it reached 4 in 3 of 200 episodes, on
 * MobileNet never, out of domain in every one).
 */
export const ATL_DEFAULTS: AtlOptions = {
  head: 'logistic',
  epsilon: 0,
  maxSize: 8,
  guardT: 1.645,
  oneShotMinLayers: 4,
  foreignMinLayers: 4,
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

  protected choose(features: FeatureSet, labels: Int32Array): SetChoice {
    const penultimate = features.penultimate.key;
    const classes = classCount(labels);
    const folds = supportFolds(labels, classes, this.options.folds);
    if (!folds) return this.chooseOneShot(features);
    const tables = heldOutTables(features, labels, classes, folds);
    const { chosen } = greedyForwardSelection(tables, labels, classes, this.options);
    if (chosen.length === 1 && chosen[0] === penultimate) return { keys: chosen };
    // Each of b blocks enters the head scaled by 1/√b; C·b gives each block the penalty it would have alone.
    const choice: SetChoice = { keys: chosen, logistic: { C: (this.options.logistic.C ?? LOGISTIC_REGRESSION_DEFAULTS.C) * chosen.length } };
    if (this.spreadCount(features) >= this.options.foreignMinLayers) return choice;
    const summed = new Float64Array(labels.length * classes);
    for (const key of chosen) tables.get(key)!.forEach((v, i) => (summed[i] += v));
    const gain = heldOutLogLikelihoods(summed, chosen.length, labels, classes);
    const baseline = heldOutLogLikelihoods(tables.get(penultimate)!, 1, labels, classes);
    const t = tStatistic(gain.map((v, i) => v - baseline[i]));
    return t >= this.options.guardT ? choice : { keys: [penultimate], fallback: 'guard' };
  }

  /** How many hidden candidates find the support's rows less alike than the penultimate does (mean pairwise cosine of raw rows). */
  private spreadCount(features: FeatureSet): number {
    const penultimate = features.penultimate.key;
    const similarity = meanPairwiseCosine(features.block(penultimate));
    return features.keys.filter((key) => key !== penultimate && meanPairwiseCosine(features.block(key)) < similarity).length;
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
