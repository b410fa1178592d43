/**
 * The shape every strategy shares (scikit-learn style: hyper-parameters in the constructor and
 * back from `getParams`, `fit` on the support, then `predict`), and the head most of them end in:
 * chosen candidates normalized (`BlockNormalizer`) and concatenated, then logistic regression or
 * nearest class mean. The parameters, their defaults and ranges: `STRATEGY_PARAMS` in src/shared/strategies.ts.
 */
import { StudioError } from '../../core/errors';
import { BlockNormalizer, type BlockWeighting, type FeatureSet } from '../features';
import { headParams, type HeadParams } from '../head-params';
import { LogisticRegression, type LogisticRegressionOptions } from '../logistic-regression';
import { accuracy } from '../matrix';
import { NearestClassMean } from '../nearest-class-mean';

import { STRATEGY_NAMES, type StrategyName } from '../../../shared/contract';
import type { ParamsOf } from '../../../shared/strategies';

export { STRATEGY_NAMES, type StrategyName };

export interface StrategyDescription {
  strategy: StrategyName;
  /**
   * Candidate key → weight in the fitted head: 1 for each candidate a set-based head uses; for
   * head2toe, the share of the kept features that come from that candidate.
   */
  candidates: Record<string, number>;
  /**
   * Which path a selection took when it could not cross-validate or did not trust its choice:
   * 'guard', the guard kept the penultimate against the greedy choice; 'one-shot', one example per
   * class and the penultimate kept; 'one-shot-hidden', one example per class and the hidden
   * candidates that keep the support apart better than the penultimate used instead (see
   * `AtlOptions.oneShotMinLayers`).
   */
  fallback?: 'one-shot' | 'one-shot-hidden' | 'guard';
}

export interface Strategy {
  readonly name: StrategyName;
  /** Learns from the labeled support only; labels are 0 … K−1. */
  fit(features: FeatureSet, labels: Int32Array): this;
  predict(features: FeatureSet): Int32Array;
  score(features: FeatureSet, labels: Int32Array): number;
  describe(): StrategyDescription;
  /** The fitted head in its portable form (what a trained head stores and an export rebuilds). */
  toHead(): HeadParams;
  /** Every hyper-parameter, defaults filled in: `createStrategy({ name, params })` builds the same strategy. */
  getParams(): Record<string, number>;
}

/** The logistic-regression head's parameters (every strategy with that head takes them). */
export type LogisticParams = ParamsOf<'penultimate'>;

/** The logistic-regression options among a strategy's parameters. */
export function logisticOptions(params: LogisticParams): LogisticRegressionOptions {
  return { C: params.C, maxIterations: params.maxIterations, tolerance: params.tolerance };
}

export type HeadKind = 'logistic' | 'ncm';

/** Normalized, concatenated blocks of `keys`, then a logistic-regression or nearest-mean head. */
export class BlockHead {
  private readonly normalizer: BlockNormalizer;
  private readonly model: LogisticRegression | NearestClassMean;

  constructor(
    readonly keys: readonly string[],
    readonly kind: HeadKind,
    logistic: Partial<LogisticRegressionOptions> = {},
    weighting: BlockWeighting = 'block',
  ) {
    this.normalizer = new BlockNormalizer(keys, weighting);
    this.model = kind === 'ncm' ? new NearestClassMean() : new LogisticRegression(logistic);
  }

  fit(features: FeatureSet, labels: Int32Array): this {
    this.model.fit(this.normalizer.fit(features).transform(features), labels);
    return this;
  }

  predict(features: FeatureSet): Int32Array {
    return this.model.predict(this.normalizer.transform(features));
  }

  toHead(): HeadParams {
    return headParams(this.normalizer, null, this.model);
  }
}

/** The candidates a `SetStrategy` uses, and head options for that set (over the strategy's own). */
export interface SetChoice {
  keys: string[];
  fallback?: StrategyDescription['fallback'];
  logistic?: Partial<LogisticRegressionOptions>;
  /** How the chosen blocks weigh in the head (default 'block'). */
  weighting?: BlockWeighting;
}

/** A strategy that picks a set of candidates on the support, then fits a `BlockHead` on them. */
export abstract class SetStrategy implements Strategy {
  abstract readonly name: StrategyName;
  private head: BlockHead | null = null;
  private fallback: StrategyDescription['fallback'];

  constructor(
    protected readonly headKind: HeadKind,
    protected readonly logistic: LogisticRegressionOptions,
  ) {}

  abstract getParams(): Record<string, number>;

  /** The candidates to use, from the support alone. */
  protected abstract choose(features: FeatureSet, labels: Int32Array): SetChoice;

  fit(features: FeatureSet, labels: Int32Array): this {
    const { keys, fallback, logistic, weighting } = this.choose(features, labels);
    this.head = new BlockHead(keys, this.headKind, { ...this.logistic, ...logistic }, weighting).fit(features, labels);
    this.fallback = fallback;
    return this;
  }

  predict(features: FeatureSet): Int32Array {
    return this.fitted().predict(features);
  }

  score(features: FeatureSet, labels: Int32Array): number {
    return accuracy(this.predict(features), labels);
  }

  describe(): StrategyDescription {
    const candidates = Object.fromEntries(this.fitted().keys.map((key) => [key, 1]));
    return { strategy: this.name, candidates, ...(this.fallback ? { fallback: this.fallback } : {}) };
  }

  toHead(): HeadParams {
    return this.fitted().toHead();
  }

  private fitted(): BlockHead {
    if (!this.head) throw new StudioError('invalid_input', `Fit the ${this.name} strategy before using it`);
    return this.head;
  }
}
