/**
 * The one candidate with the best held-out nearest-mean accuracy on the support (then margin),
 * with a logistic-regression head. No guard: this is the naive choice the `atl` guard is measured
 * against. With one example per class nothing can be held out, so it keeps the penultimate.
 */
import type { FeatureSet } from '../features';
import type { LogisticRegressionOptions } from '../logistic-regression';
import { classCount } from '../matrix';
import { FOLD_DEFAULTS, greedyForwardSelection, supportFolds, type FoldOptions } from '../support-cv';
import { heldOutTables } from './held-out';
import { SetStrategy, type StrategyDescription } from './strategy';

export class BestSingleStrategy extends SetStrategy {
  readonly name = 'best-single' as const;
  private readonly folds: FoldOptions;

  constructor(options: { folds?: FoldOptions; logistic?: Partial<LogisticRegressionOptions> } = {}) {
    super('logistic', options.logistic ?? {});
    this.folds = options.folds ?? FOLD_DEFAULTS;
  }

  protected choose(features: FeatureSet, labels: Int32Array): { keys: string[]; fallback?: StrategyDescription['fallback'] } {
    const classes = classCount(labels);
    const folds = supportFolds(labels, classes, this.folds);
    if (!folds) return { keys: [features.penultimate.key], fallback: 'one-shot' };
    const tables = heldOutTables(features, labels, classes, folds);
    return { keys: greedyForwardSelection(tables, labels, classes, { epsilon: 0, maxSize: 1 }).chosen };
  }
}
