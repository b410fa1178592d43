/**
 * A fitted head in one portable form, whatever strategy fitted it: what a trained head stores in
 * the project, what predictions run, and what an export rebuilds as a graph. Every head here is
 *
 *   per candidate block: center on the training mean, L2-normalize, scale (`BlockWeighting`)
 *   → concatenate → [head2toe: keep some columns, L2-normalize] → scores = coef·x + intercept
 *   → probabilities = softmax(scores).
 *
 * A nearest-class-mean head is linear too: −‖x − μ‖² = 2μ·x − ‖μ‖² − ‖x‖², and ‖x‖² is the same
 * for every class, so coef = 2μ and intercept = −‖μ‖² give the same argmax and the same softmax.
 */
import { StudioError } from '../core/errors';
import { BlockNormalizer, type BlockWeighting, type FeatureSet } from './features';
import { selectColumns } from './group-lasso';
import { linearScores, type LogisticRegression } from './logistic-regression';
import { argmaxRows, rowNormalized, type Matrix } from './matrix';
import type { NearestClassMean } from './nearest-class-mean';

export interface HeadParams {
  /** Candidate keys (`layer:pooling`) in concatenation order, with their training means. */
  blocks: { key: string; mean: Float64Array }[];
  weighting: BlockWeighting;
  /** Columns of the concatenation kept (head2toe), which are then L2-normalized together; null: all. */
  kept: Int32Array | null;
  classes: number;
  /** `classes × features`, row-major. */
  coef: Float64Array;
  intercept: Float64Array;
}

export function headParams(normalizer: BlockNormalizer, kept: Int32Array | null, model: LogisticRegression | NearestClassMean): HeadParams {
  const blocks = normalizer.keys.map((key, b) => ({ key, mean: normalizer.fittedMeans[b] }));
  if ('coef' in model) {
    return { blocks, weighting: normalizer.weighting, kept, classes: model.classes, coef: model.coef, intercept: model.intercept };
  }
  const { classes: k, features: d, means } = model;
  const coef = means.map((v) => 2 * v);
  const intercept = new Float64Array(k);
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) intercept[c] -= means[c * d + j] ** 2;
  return { blocks, weighting: normalizer.weighting, kept, classes: k, coef, intercept };
}

/** What the linear layer reads: the normalized, concatenated (and, for head2toe, selected) features, `rows × features`. */
export function headInputs(params: HeadParams, features: FeatureSet): Matrix {
  const keys = params.blocks.map((b) => b.key);
  const normalizer = BlockNormalizer.restore(keys, params.weighting, params.blocks.map((b) => b.mean));
  const x = normalizer.transform(features);
  return params.kept ? rowNormalized(selectColumns(x, params.kept)) : x;
}

/** Class scores (logits), `rows × classes`. */
export function headScores(params: HeadParams, features: FeatureSet): Float64Array {
  const x = headInputs(params, features);
  if (params.coef.length !== params.classes * x.cols) {
    throw new StudioError('bad_file', `The head expects ${params.coef.length / params.classes} features, the blocks give ${x.cols}`);
  }
  return linearScores(x, params.coef, params.intercept, params.classes);
}

/** Softmax of the scores, `rows × classes`. */
export function headProbabilities(params: HeadParams, features: FeatureSet): Float64Array {
  const scores = headScores(params, features);
  const k = params.classes;
  for (let i = 0; i < scores.length; i += k) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) max = Math.max(max, scores[i + c]);
    let total = 0;
    for (let c = 0; c < k; c++) total += scores[i + c] = Math.exp(scores[i + c] - max);
    for (let c = 0; c < k; c++) scores[i + c] /= total;
  }
  return scores;
}

export function headPredict(params: HeadParams, features: FeatureSet): Int32Array {
  return argmaxRows(headScores(params, features), features.rows, params.classes);
}
