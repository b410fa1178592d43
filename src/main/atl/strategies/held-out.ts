/** Each candidate's held-out nearest-mean distance table on the support (see `support-cv.ts`). */
import { BlockNormalizer, type FeatureSet } from '../features';
import { heldOutDistances, type FoldOptions } from '../support-cv';

export function heldOutTables(features: FeatureSet, labels: Int32Array, classes: number, folds: Int32Array): Map<string, Float64Array> {
  // The means used for centering come from every support row: they use no label, so no fold leaks.
  const normalizer = new BlockNormalizer(features.keys).fit(features);
  return new Map(features.keys.map((key) => [key, heldOutDistances(normalizer.transformBlock(features, key), labels, classes, folds)]));
}

/** The fold options among a selecting strategy's parameters. */
export function foldOptions(params: FoldOptions): FoldOptions {
  return { looMaxShots: params.looMaxShots, folds: params.folds };
}
