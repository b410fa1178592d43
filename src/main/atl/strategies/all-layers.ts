/** Every candidate at once: logistic regression on the normalized concatenation of all blocks. */
import { resolveParams } from '../../../shared/strategies';
import type { FeatureSet } from '../features';
import { logisticOptions, SetStrategy, type LogisticParams } from './strategy';

export class AllLayersStrategy extends SetStrategy {
  readonly name = 'all-layers' as const;
  private readonly params: LogisticParams;

  constructor(options: Partial<LogisticParams> = {}) {
    const params = resolveParams('all-layers', options);
    super('logistic', logisticOptions(params));
    this.params = params;
  }

  getParams(): Record<string, number> {
    return { ...this.params };
  }

  protected choose(features: FeatureSet): { keys: string[] } {
    return { keys: features.keys };
  }
}
