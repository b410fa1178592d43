/**
 * ATL across teachers (`atl-teachers`): from the support alone, choose which teacher or teachers
 * and which of their candidates to learn from. The features hold every teacher's candidates (see
 * `mergeTeacherFeatures`); with a single teacher it is `atl`, exactly.
 *
 * Two or more shots per class: greedy forward selection (as `atl`) over the union of every
 * teacher's candidates, so blocks of different teachers can be concatenated. Every candidate's
 * held-out nearest-mean table is on normalized blocks, so the teachers' scores are comparable
 * whatever their widths. The baseline is the teacher whose penultimate scores best held out; the
 * greedy set replaces it under atl's guard (`guardThreshold`: a one-sided paired t-test of the
 * held-out log-likelihood gain, Bonferroni-corrected for every teacher's candidates), unless that teacher's domain check calls the data foreign (≥ `foreignMinLayers` of
 * its hidden candidates spread the support more than its penultimate), as in `atl`.
 *
 * One shot per class: nothing can be held out, and raw cosines of different teachers are not on
 * one scale (widths, activations). So each teacher is judged against itself: its *penultimate
 * spread ratio*, how far apart its penultimate keeps the support's examples (1 − mean pairwise
 * cosine) over how far apart its hidden candidates keep them on average. A teacher's penultimate
 * is trained to separate its own domain's classes and collapses foreign images onto similar
 * vectors (docs/atl.md, "One shot per class"), so the teacher with the highest ratio is the one
 * to whose domain these images look closest. That teacher's one-shot rule is then atl's.
 */
import { StudioError } from '../../core/errors';
import type { Candidate, FeatureSet } from '../features';
import { classCount } from '../matrix';
import { compareScores, greedyForwardSelection, heldOutLogLikelihoods, meanPairwiseCosine, scoreDistances, supportFolds, tStatistic } from '../support-cv';
import { AtlStrategy, guardThreshold, type AtlParams } from './atl';
import { foldOptions, heldOutTables } from './held-out';
import type { SetChoice, StrategyName } from './strategy';

export class AtlTeachersStrategy extends AtlStrategy {
  override readonly name: StrategyName = 'atl-teachers';
  private readonly settings: AtlParams;

  constructor(params: Partial<AtlParams> = {}) {
    super(params);
    this.settings = this.getParams() as AtlParams;
  }

  protected override choose(features: FeatureSet, labels: Int32Array): SetChoice {
    const teachers = features.teachers;
    if (teachers.length <= 1) return super.choose(features, labels);
    const classes = classCount(labels);
    const folds = supportFolds(labels, classes, foldOptions(this.settings));
    if (!folds) return chooseOneShot(features, teachers, this.settings.oneShotMinLayers);
    const tables = heldOutTables(features, labels, classes, folds);
    const score = (key: string) => scoreDistances(tables.get(key)!, 1, labels, classes);
    const baseline = teachers
      .map((teacher) => penultimateOf(features, teacher))
      .reduce((best, p) => (compareScores(score(p.key), score(best.key)) > 0 ? p : best));
    const { chosen } = greedyForwardSelection(tables, labels, classes, this.settings);
    if (chosen.length === 1 && chosen[0] === baseline.key) return { keys: chosen };
    const choice: SetChoice = { keys: chosen, logistic: { C: this.settings.C * chosen.length } };
    if (spreadingCandidates(features, baseline.teacher!).length >= this.settings.foreignMinLayers) return choice;
    const summed = new Float64Array(labels.length * classes);
    for (const key of chosen) tables.get(key)!.forEach((v, i) => (summed[i] += v));
    const gain = heldOutLogLikelihoods(summed, chosen.length, labels, classes);
    const base = heldOutLogLikelihoods(tables.get(baseline.key)!, 1, labels, classes);
    const t = tStatistic(gain.map((v, i) => v - base[i]));
    return t >= guardThreshold(this.settings.guardLevel, features.keys.length, labels.length) ? choice : { keys: [baseline.key], fallback: 'guard' };
  }
}

/** One example per class: the teacher with the highest penultimate spread ratio, then atl's one-shot rule within it. */
function chooseOneShot(features: FeatureSet, teachers: readonly string[], oneShotMinLayers: number): SetChoice {
  const ratios = teachers.map((teacher) => penultimateSpreadRatio(features, teacher));
  const teacher = teachers[ratios.indexOf(Math.max(...ratios))];
  const penultimate = penultimateOf(features, teacher).key;
  if (features.rows < 2) return { keys: [penultimate], fallback: 'one-shot' };
  const spread = spreadingCandidates(features, teacher);
  return spread.length >= oneShotMinLayers ? { keys: spread, fallback: 'one-shot-hidden' } : { keys: [penultimate], fallback: 'one-shot' };
}

/**
 * (1 − mean pairwise cosine of the teacher's penultimate) / the mean of the same over its hidden
 * candidates: above 1 when its last layer keeps the support's examples further apart than its
 * hidden layers do on average. Scale-free: each teacher is compared with itself only.
 */
export function penultimateSpreadRatio(features: FeatureSet, teacher: string): number {
  if (features.rows < 2) return 1;
  const spread = (key: string) => 1 - meanPairwiseCosine(features.block(key));
  const hidden = features.candidatesOf(teacher).filter((c) => !c.penultimate);
  const penultimate = spread(penultimateOf(features, teacher).key);
  if (hidden.length === 0) return 1;
  const hiddenMean = hidden.reduce((sum, c) => sum + spread(c.key), 0) / hidden.length;
  return hiddenMean > 0 ? penultimate / hiddenMean : penultimate > 0 ? Infinity : 1;
}

/** The teacher's hidden candidates that find the support's rows less alike than its penultimate (mean pairwise cosine of raw rows). */
function spreadingCandidates(features: FeatureSet, teacher: string): string[] {
  const similarity = meanPairwiseCosine(features.block(penultimateOf(features, teacher).key));
  return features
    .candidatesOf(teacher)
    .filter((c) => !c.penultimate && meanPairwiseCosine(features.block(c.key)) < similarity)
    .map((c) => c.key);
}

function penultimateOf(features: FeatureSet, teacher: string): Candidate {
  const found = features.candidatesOf(teacher).find((c) => c.penultimate);
  if (!found) throw new StudioError('invalid_input', `Teacher ${teacher} has no penultimate candidate`);
  return found;
}
