/**
 * The one candidate with the best held-out nearest-mean accuracy on the support (then margin),
 * with a logistic-regression head. No guard: this is the naive choice the `atl` guard is measured
 * against. With one example per class nothing can be held out, so it keeps the penultimate.
 */
import { resolveParams, type ParamsOf } from '../../../shared/strategies';
import type { FeatureSet } from '../features';
import { classCount } from '../matrix';
import { greedyForwardSelection, supportFolds } from '../support-cv';
import { foldOptions, heldOutTables } from './held-out';
import { logisticOptions, SetStrategy, type StrategyDescription } from './strategy';

export class BestSingleStrategy extends SetStrategy {
  readonly name = 'best-single' as const;
  private readonly params: ParamsOf<'best-single'>;

  constructor(options: Partial<ParamsOf<'best-single'>> = {}) {
    const params = resolveParams('best-single', options);
    super('logistic', logisticOptions(params));
    this.params = params;
  }

  getParams(): Record<string, number> {
    return { ...this.params };
  }

  protected choose(features: FeatureSet, labels: Int32Array): { keys: string[]; fallback?: StrategyDescription['fallback'] } {
    const classes = classCount(labels);
    const folds = supportFolds(labels, classes, foldOptions(this.params));
    if (!folds) return { keys: [features.penultimate.key], fallback: 'one-shot' };
    const tables = heldOutTables(features, labels, classes, folds);
    return { keys: greedyForwardSelection(tables, labels, classes, { epsilon: 0, maxSize: 1 }).chosen };
  }
}
