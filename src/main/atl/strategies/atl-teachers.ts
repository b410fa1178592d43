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
 * One shot per class: nothing can be held out. Each teacher first judges itself, with atl's
 * one-shot domain check (how many of its hidden candidates spread the support more than its
 * penultimate; `oneShotMinLayers` or more: a foreign domain, where its penultimate collapses the
 * classes). Among the teachers that find the domain their own (all of them, if none does), the
 * one whose penultimate keeps the support's examples (one per class) least correlated is taken,
 * then atl's one-shot rule within it. The correlation (each row centered on its own mean, then
 * the cosine: `meanPairwiseCorrelation`) does not depend on the features' scale nor on the
 * positive offset every post-ReLU feature vector has, which differs between teachers: raw cosines
 * took the int8 MobileNetV2 (lower offset) over the in-domain ResNet-56 on CIFAR-10 (development
 * episodes; see docs/atl.md, "ATL across teachers").
 */
import { StudioError } from '../../core/errors';
import type { Candidate, FeatureSet } from '../features';
import { classCount, matrix, type Matrix } from '../matrix';
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

/** One example per class: the teachers that find the domain their own, then the least correlated penultimate; atl's one-shot rule within it. */
function chooseOneShot(features: FeatureSet, teachers: readonly string[], oneShotMinLayers: number): SetChoice {
  if (features.rows < 2) return { keys: [penultimateOf(features, teachers[0]).key], fallback: 'one-shot' };
  const judged = teachers.map((teacher) => {
    const spread = spreadingCandidates(features, teacher);
    const penultimate = penultimateOf(features, teacher).key;
    return { penultimate, spread, foreign: spread.length >= oneShotMinLayers, correlation: meanPairwiseCorrelation(features.block(penultimate)) };
  });
  const candidates = judged.some((j) => !j.foreign) ? judged.filter((j) => !j.foreign) : judged;
  const best = candidates.reduce((a, b) => (b.correlation < a.correlation ? b : a));
  return best.foreign ? { keys: best.spread, fallback: 'one-shot-hidden' } : { keys: [best.penultimate], fallback: 'one-shot' };
}

/** The mean pairwise Pearson correlation of the rows of `z` (across its features): the cosine of the rows, each centered on its own mean. */
export function meanPairwiseCorrelation(z: Matrix): number {
  const centered = new Float32Array(z.data.length);
  for (let i = 0; i < z.rows; i++) {
    const row = z.data.subarray(i * z.cols, (i + 1) * z.cols);
    const mean = row.reduce((a, b) => a + b, 0) / z.cols;
    row.forEach((v, j) => (centered[i * z.cols + j] = v - mean));
  }
  return meanPairwiseCosine(matrix(z.rows, z.cols, centered));
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
