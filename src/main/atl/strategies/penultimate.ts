/**
 * The baseline: the teacher's penultimate features (its last pooled layer, the input of its own
 * classifier) with a logistic-regression head (`penultimate`) or SimpleShot's nearest class mean
 * (`ncm`).
 */
import type { FeatureSet } from '../features';
import type { LogisticRegressionOptions } from '../logistic-regression';
import { SetStrategy, type HeadKind, type StrategyName } from './strategy';

export class PenultimateStrategy extends SetStrategy {
  readonly name: StrategyName;

  constructor(options: { head?: HeadKind; logistic?: Partial<LogisticRegressionOptions> } = {}) {
    super(options.head ?? 'logistic', options.logistic ?? {});
    this.name = this.headKind === 'ncm' ? 'ncm' : 'penultimate';
  }

  protected choose(features: FeatureSet): { keys: string[] } {
    return { keys: [features.penultimate.key] };
  }
}
