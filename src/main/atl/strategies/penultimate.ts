/**
 * The baseline: the teacher's penultimate features (its last pooled layer, the input of its own
 * classifier) with a logistic-regression head (`penultimate`) or SimpleShot's nearest class mean
 * (`ncm`, which takes no parameters).
 */
import { resolveParams } from '../../../shared/strategies';
import type { FeatureSet } from '../features';
import { logisticOptions, SetStrategy, type HeadKind, type LogisticParams, type StrategyName } from './strategy';

export class PenultimateStrategy extends SetStrategy {
  readonly name: StrategyName;
  private readonly params: Partial<LogisticParams>;

  constructor(options: Partial<LogisticParams> & { head?: HeadKind } = {}) {
    const { head = 'logistic', ...given } = options;
    const params = resolveParams('penultimate', given);
    super(head, logisticOptions(params));
    this.name = head === 'ncm' ? 'ncm' : 'penultimate';
    this.params = head === 'ncm' ? {} : params;
  }

  getParams(): Record<string, number> {
    return { ...this.params };
  }

  protected choose(features: FeatureSet): { keys: string[] } {
    return { keys: [features.penultimate.key] };
  }
}
