/** Every candidate at once: logistic regression on the normalized concatenation of all blocks. */
import type { FeatureSet } from '../features';
import type { LogisticRegressionOptions } from '../logistic-regression';
import { SetStrategy } from './strategy';

export class AllLayersStrategy extends SetStrategy {
  readonly name = 'all-layers' as const;

  constructor(options: { logistic?: Partial<LogisticRegressionOptions> } = {}) {
    super('logistic', options.logistic ?? {});
  }

  protected choose(features: FeatureSet): { keys: string[] } {
    return { keys: features.keys };
  }
}
