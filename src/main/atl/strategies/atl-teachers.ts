/**
 * ATL across teachers (`atl-teachers`): from the support alone, choose which teacher or teachers
 * and which of their candidates to learn from. The features hold every teacher's candidates (see
 * `mergeTeacherFeatures`); with a single teacher it is `atl`, exactly.
 *
 * Each teacher first makes its own choice, exactly as `atl` would on that teacher alone (its
 * greedy set under its own guard and domain check, or its one-shot rule). Then the union of the
 * choices of every teacher not shown to be worse is taken (`teacher-union.ts`):
 * - Two or more shots per class: a teacher is left out when a one-sided paired t-test of the
 *   held-out log-likelihoods (the guard's test, at `guardLevel`, Bonferroni over the other
 *   teachers) finds the best teacher's set better (`teachersNotWorse`).
 * - One shot per class: a teacher is left out when its choice keeps the support's examples 1.5
 *   times more correlated than another teacher's (`oneShotTeachers`; penultimates are compared
 *   with penultimates). The correlation (`meanPairwiseCorrelation`: each row centered on its own
 *   mean, then the cosine) does not depend on the features' scale nor on the positive offset of
 *   post-ReLU features, which differs between teachers.
 * The kept teachers' blocks are concatenated, every teacher weighing the same ('teacher' weighting).
 * Why per teacher first: a teacher's guard and domain check are calibrated on its own candidates
 * (one Bonferroni correction over every teacher's candidates together kept out the hidden layers
 * that make a foreign teacher good), and teachers, unlike layers of one teacher, err on different
 * images, so their concatenation gains where several are good (docs/atl.md).
 */
import { StudioError } from '../../core/errors';
import { FeatureSet, type Candidate } from '../features';
import { classCount, matrix, type Matrix } from '../matrix';
import { meanPairwiseCosine, supportFolds } from '../support-cv';
import { oneShotTeachers, teachersNotWorse } from '../teacher-union';
import { AtlStrategy, type AtlParams } from './atl';
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
    const own = teachers.map((teacher) => ({ teacher, ...super.choose(teacherFeatures(features, teacher), labels) }));
    const classes = classCount(labels);
    const folds = supportFolds(labels, classes, foldOptions(this.settings));
    let chosen: string[];
    if (folds) {
      const tables = heldOutTables(keepOnly(features, own.flatMap((o) => o.keys)), labels, classes, folds);
      const sets = own.map((o) => ({ teacher: o.teacher, tables: o.keys.map((key) => tables.get(key)!) }));
      chosen = teachersNotWorse(sets, labels, classes, this.settings.guardLevel);
    } else {
      if (features.rows < 2) return own[0];
      chosen = oneShotTeachers(
        own.map((o) => ({
          teacher: o.teacher,
          correlation: o.keys.reduce((sum, key) => sum + meanPairwiseCorrelation(features.block(key)), 0) / o.keys.length,
          penultimate: o.keys.length === 1 && features.candidate(o.keys[0]).penultimate,
        })),
      );
    }
    if (chosen.length === 1) return own.find((o) => o.teacher === chosen[0])!;
    const keys = own.filter((o) => chosen.includes(o.teacher)).flatMap((o) => o.keys);
    // Every kept teacher weighs the same in the union, whatever the number of blocks its choice has
    // ('teacher' weighting): by block, a foreign teacher's eight hidden blocks outweighed another's
    // penultimate (Omniglot, 200 development episodes, 1 shot: 81.2 % by block, 86.1 % by teacher).
    // With two or more shots C·b, as atl's: the rows keep unit norm either way.
    return folds ? { keys, weighting: 'teacher', logistic: { C: this.settings.C * keys.length } } : { keys, weighting: 'teacher' };
  }
}

/** One teacher's candidates as a set of their own (its penultimate the set's), the blocks shared. */
function teacherFeatures(features: FeatureSet, teacher: string): FeatureSet {
  return keepOnly(features, features.candidatesOf(teacher).map((c) => c.key));
}

function keepOnly(features: FeatureSet, keys: readonly string[]): FeatureSet {
  const candidates: Candidate[] = [...new Set(keys)].map((key) => features.candidate(key));
  if (candidates.length === 0) throw new StudioError('invalid_input', 'No candidates to keep');
  return new FeatureSet(candidates, features.rows, new Map(candidates.map((c) => [c.key, features.block(c.key).data])));
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
