/**
 * Head2Toe (Evci et al., ICML 2022): a group-lasso linear head over every candidate's features
 * scores each feature by the norm of its weight group; the top fraction is kept and a plain
 * logistic-regression head is retrained on those features alone.
 *
 * Head2Toe normalizes each layer's vector to unit length and pools layers to similar sizes, so
 * features start on a similar scale. Our candidates range from 16 to ~800 values, so each centered,
 * normalized block is also scaled by √dim (unit mean square per feature) before the group lasso:
 * otherwise a 16-channel block's features would be ~7× a 576-value block's and win on scale alone.
 * Head2Toe re-normalizes each layer's kept features; with a handful kept per candidate that would
 * reduce a lone feature to its sign, so the kept vector is L2-normalized as a whole instead (the
 * unit-norm input every head here gets).
 */
import { StudioError } from '../../core/errors';
import { resolveParams, type ParamsOf } from '../../../shared/strategies';
import { BlockNormalizer, type FeatureSet } from '../features';
import { GroupLassoLogisticRegression, selectColumns } from '../group-lasso';
import { LogisticRegression } from '../logistic-regression';
import { accuracy, rowNormalized } from '../matrix';
import { headParams, type HeadParams } from '../head-params';
import { logisticOptions, type Strategy, type StrategyDescription } from './strategy';

/** `keepFraction` of all features is kept; the group lasso's and the final head's parameters (see `STRATEGY_PARAMS`). */
export type Head2ToeParams = ParamsOf<'head2toe'>;

interface Fitted {
  normalizer: BlockNormalizer;
  kept: Int32Array;
  head: LogisticRegression;
  shares: Record<string, number>;
}

export class Head2ToeStrategy implements Strategy {
  readonly name = 'head2toe' as const;
  private readonly params: Head2ToeParams;
  private fitted: Fitted | null = null;

  constructor(options: Partial<Head2ToeParams> = {}) {
    this.params = resolveParams('head2toe', options);
  }

  getParams(): Record<string, number> {
    return { ...this.params };
  }

  fit(features: FeatureSet, labels: Int32Array): this {
    const normalizer = new BlockNormalizer(features.keys, 'feature').fit(features);
    const x = normalizer.transform(features);
    const { alpha, lassoMaxIterations, lassoTolerance, workingSet, maxRounds, keepFraction } = this.params;
    const lasso = { alpha, maxIterations: lassoMaxIterations, tolerance: lassoTolerance, workingSet, maxRounds };
    const scorer = new GroupLassoLogisticRegression(lasso).fit(x, labels);
    const count = Math.max(1, Math.round(keepFraction * x.cols));
    // In column order: cache-friendly copies, and each candidate's kept features are contiguous.
    const kept = scorer.top(count);
    const head = new LogisticRegression(logisticOptions(this.params)).fit(rowNormalized(selectColumns(x, kept)), labels);
    this.fitted = { normalizer, kept, head, shares: keptShares(features, kept) };
    return this;
  }

  predict(features: FeatureSet): Int32Array {
    const { normalizer, kept, head } = this.model();
    return head.predict(rowNormalized(selectColumns(normalizer.transform(features), kept)));
  }

  score(features: FeatureSet, labels: Int32Array): number {
    return accuracy(this.predict(features), labels);
  }

  describe(): StrategyDescription {
    return { strategy: this.name, candidates: this.model().shares };
  }

  toHead(): HeadParams {
    const { normalizer, kept, head } = this.model();
    return headParams(normalizer, kept, head);
  }

  private model(): Fitted {
    if (!this.fitted) throw new StudioError('invalid_input', 'Fit the head2toe strategy before using it');
    return this.fitted;
  }
}

/** Which candidate each kept column came from, as shares of the kept features. */
function keptShares(features: FeatureSet, kept: Int32Array): Record<string, number> {
  const shares: Record<string, number> = {};
  let start = 0;
  let j = 0;
  for (const c of features.candidates) {
    const first = j;
    while (j < kept.length && kept[j] < start + c.dim) j++;
    if (j > first) shares[c.key] = (j - first) / kept.length;
    start += c.dim;
  }
  return shares;
}
