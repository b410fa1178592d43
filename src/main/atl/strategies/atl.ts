/**
 * Adaptive transfer learning (our reconstruction; see docs/atl.md): choose a *set* of candidates
 * by greedy forward selection, scored by held-out nearest-mean accuracy on the support, then fit a
 * logistic-regression head (`atl`) or a nearest-mean head (`ncm-atl`) on the chosen set.
 *
 * The guard: the penultimate layer is the strong default (in the teacher's own domain it is best,
 * and the best of dozens of noisy held-out scores is optimistic), so the chosen set replaces it
 * only when it is clearly better on the support's held-out examples: a one-sided paired t-test on
 * each example's calibrated held-out log-likelihood (see `heldOutLogLikelihoods`), chosen set
 * against penultimate, must pass at level `guardLevel` divided by the number of candidates searched (Bonferroni: the
 * set is the best of that many on the same examples). Unless the same support shows that the teacher's
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
import { resolveParams, type ParamsOf } from '../../../shared/strategies';
import type { FeatureSet } from '../features';
import { classCount } from '../matrix';
import { greedyForwardSelection, heldOutLogLikelihoods, meanPairwiseCosine, supportFolds, tStatistic } from '../support-cv';
import { studentTUpperQuantile } from '../student-t';
import { foldOptions, heldOutTables } from './held-out';
import { logisticOptions, SetStrategy, type HeadKind, type SetChoice, type StrategyDescription, type StrategyName } from './strategy';

/**
 * The parameters (defaults and why: `STRATEGY_PARAMS` in src/shared/strategies.ts): `epsilon`,
 * the least gain in held-out accuracy that adds a candidate; `maxSize`, the most candidates in the
 * set; `guardLevel`, the level of the one-sided test that the held-out log-likelihood gain must
 * pass to replace the penultimate (see `guardThreshold`); `oneShotMinLayers`, with one shot per
 * class, how many hidden candidates must find the support's rows less alike than the penultimate (mean pairwise cosine) to use them;
 * `foreignMinLayers`, with two or more, how many must do so for the domain to count as foreign (no
 * guard); the fold and logistic-regression parameters.
 */
export type AtlParams = ParamsOf<'atl'>;
/** The parameters, and the head: `ncm` makes it `ncm-atl`. */
export type AtlOptions = Partial<AtlParams> & { head?: HeadKind };

export class AtlStrategy extends SetStrategy {
  readonly name: StrategyName;
  private readonly params: AtlParams;

  constructor(options: AtlOptions = {}) {
    const { head = 'logistic', ...given } = options;
    const params = resolveParams('atl', given);
    super(head, logisticOptions(params));
    this.params = params;
    this.name = head === 'ncm' ? 'ncm-atl' : 'atl';
  }

  /** `ncm-atl` has no logistic head, so no logistic parameters. */
  getParams(): Record<string, number> {
    return this.name === 'ncm-atl' ? resolveParams('ncm-atl', this.params) : { ...this.params };
  }

  protected choose(features: FeatureSet, labels: Int32Array): SetChoice {
    const penultimate = features.penultimate.key;
    const classes = classCount(labels);
    const folds = supportFolds(labels, classes, foldOptions(this.params));
    if (!folds) return this.chooseOneShot(features);
    const tables = heldOutTables(features, labels, classes, folds);
    const { chosen } = greedyForwardSelection(tables, labels, classes, this.params);
    if (chosen.length === 1 && chosen[0] === penultimate) return { keys: chosen };
    // Each of b blocks enters the head scaled by 1/√b; C·b gives each block the penalty it would have alone.
    const choice: SetChoice = { keys: chosen, logistic: { C: this.params.C * chosen.length } };
    if (this.spreadCount(features) >= this.params.foreignMinLayers) return choice;
    const summed = new Float64Array(labels.length * classes);
    for (const key of chosen) tables.get(key)!.forEach((v, i) => (summed[i] += v));
    const gain = heldOutLogLikelihoods(summed, chosen.length, labels, classes);
    const baseline = heldOutLogLikelihoods(tables.get(penultimate)!, 1, labels, classes);
    const t = tStatistic(gain.map((v, i) => v - baseline[i]));
    return t >= guardThreshold(this.params.guardLevel, features.keys.length, labels.length) ? choice : { keys: [penultimate], fallback: 'guard' };
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
    return spread.length >= this.params.oneShotMinLayers ? { keys: spread, fallback: 'one-shot-hidden' } : { keys: [penultimate], fallback: 'one-shot' };
  }
}

/**
 * The paired t statistic the guard needs: one-sided at `level`, Bonferroni-corrected for the
 * `candidates` the greedy search chose among, Student's t with `examples` − 1 degrees of freedom
 * (one held-out log-likelihood difference per support example). For MobileNet's 28 candidates and a
 * 5-way 5-shot support: t ≥ 3.23.
 */
export function guardThreshold(level: number, candidates: number, examples: number): number {
  return studentTUpperQuantile(level / Math.max(1, candidates), Math.max(1, examples - 1));
}
