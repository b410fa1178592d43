/**
 * What each strategy does, in one plain line for people: the one table every place that names a
 * strategy shows (the comparison form, the results table, the verdict, the heads panel). Strategy
 * names are in backticks: the renderer shows them as code (CodeText.svelte).
 */
import type { StrategyName } from './contract';

/** Every strategy, in the order forms, tables and charts list them. */
export const STRATEGY_INFO: Record<StrategyName, string> = {
  penultimate: 'Learns from the teacher’s last layer only: the usual, simplest choice',
  'best-single': 'Learns from the one layer that works best on your labels',
  atl: 'Picks the few layers that together tell your classes apart best (adaptive transfer learning)',
  'all-layers': 'Learns from every layer at once (many features: may overfit with few labels)',
  head2toe: 'Keeps only the most useful features of every layer (Head2Toe)',
  ncm: 'Compares each image with the average image of each class, on the last layer; no training',
  'ncm-atl': 'Compares with class averages on the layers that `atl` picks; no training',
  'atl-teachers': 'Picks the teacher or teachers, and their layers, that tell your classes apart best (`atl` when there is one teacher)',
};

/** One hyper-parameter of a strategy: its default, the values it may take, and a line for people. */
export interface ParamInfo {
  default: number;
  /** Whole numbers only. */
  integer?: boolean;
  min?: number;
  /** The minimum itself is not allowed (e.g. C > 0). */
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
  help: string;
}

/** The logistic-regression head's (scikit-learn's defaults: see logistic-regression.ts). */
const LOGISTIC_PARAMS = {
  C: { default: 1, min: 0, minExclusive: true, help: 'Inverse penalty strength of the logistic-regression head (larger: less regularized)' },
  maxIterations: { default: 200, integer: true, min: 1, help: 'Most L-BFGS iterations of the head' },
  tolerance: { default: 1e-6, min: 0, minExclusive: true, help: 'Stop the head’s fit when every gradient component is at most this' },
} satisfies Record<string, ParamInfo>;

/** How the support is held out to score candidates (see support-cv.ts). */
const FOLD_PARAMS = {
  looMaxShots: { default: 10, integer: true, min: 1, help: 'Leave-one-out while every class has at most this many labels; k-fold beyond' },
  folds: { default: 5, integer: true, min: 2, help: 'k of the k-fold used beyond looMaxShots' },
} satisfies Record<string, ParamInfo>;

/**
 * ATL's selection (see atl/strategies/atl.ts). ε = 0 and up to 8 candidates: averaging several
 * good blocks' distances cancels part of their errors even where 25 held-out examples are too few
 * to show a gain of one more. guardLevel = 0.05: the guard is a one-sided paired t-test at the 5 %
 * level, Bonferroni-corrected for the candidates the greedy search chose among (the chosen set is
 * the best of m on the same held-out examples, so each of them is tested at 0.05 / m, with Student's
 * t at n − 1 degrees of freedom for n held-out examples): a stated level, not a tuned constant.
 * oneShotMinLayers = 4: in the teacher's own domain one
 * to three of its last spatial candidates spread the support more than its penultimate (ResNet-56
 * on CIFAR-10, development episodes; five at most), out of its domain more (see docs/atl.md, "One
 * shot per class"). foreignMinLayers = 4: the same count as a domain check on a 5-shot support
 * (development episodes: in domain it reached 4 in 3 of 200 episodes, on MobileNet never, out of
 * domain in every one).
 */
const SELECTION_PARAMS = {
  epsilon: { default: 0, min: 0, max: 1, help: 'Add a layer only when it raises held-out accuracy by at least this fraction' },
  maxSize: { default: 8, integer: true, min: 1, help: 'Most layers in the chosen set' },
  guardLevel: {
    default: 0.05,
    min: 0,
    minExclusive: true,
    max: 0.5,
    help: 'Replace the last layer only when a one-sided paired t-test at this level (Bonferroni over the layers searched) finds the gain',
  },
  oneShotMinLayers: { default: 4, integer: true, min: 0, help: 'One label per class: use the hidden layers that spread it more when there are at least this many' },
  foreignMinLayers: { default: 4, integer: true, min: 0, help: 'This many hidden layers spreading the support more: a foreign domain, no guard' },
} satisfies Record<string, ParamInfo>;

/**
 * Head2Toe's feature selection (see atl/strategies/head2toe.ts and group-lasso.ts). 1 % of the
 * features: about 170 of ResNet-56's ~17 000, about the n·classes groups a 5-shot 5-way group
 * lasso can switch on (the paper picked the fraction per task by validation, which a 25-image
 * support cannot afford).
 */
const HEAD2TOE_PARAMS = {
  keepFraction: { default: 0.01, min: 0, minExclusive: true, max: 1, help: 'Fraction of all features kept for the final head' },
  alpha: { default: 0.1, min: 0, minExclusive: true, max: 1, maxExclusive: true, help: 'Group-lasso penalty λ as a fraction of λmax' },
  lassoMaxIterations: { default: 100, integer: true, min: 1, help: 'FISTA iterations per working-set round of the group lasso' },
  lassoTolerance: { default: 1e-4, min: 0, minExclusive: true, help: 'Stop a group-lasso round when no parameter moves more than this (relative)' },
  workingSet: { default: 128, integer: true, min: 1, help: 'Features in the group lasso’s first working set' },
  maxRounds: { default: 2, integer: true, min: 1, help: 'Most working-set rounds of the group lasso' },
} satisfies Record<string, ParamInfo>;

/** Every strategy's hyper-parameters (the head kind is in the name: `ncm`, `ncm-atl`). */
export const STRATEGY_PARAMS = {
  penultimate: LOGISTIC_PARAMS,
  'best-single': { ...FOLD_PARAMS, ...LOGISTIC_PARAMS },
  atl: { ...SELECTION_PARAMS, ...FOLD_PARAMS, ...LOGISTIC_PARAMS },
  'all-layers': LOGISTIC_PARAMS,
  head2toe: { ...HEAD2TOE_PARAMS, ...LOGISTIC_PARAMS },
  ncm: {},
  'ncm-atl': { ...SELECTION_PARAMS, ...FOLD_PARAMS },
  'atl-teachers': { ...SELECTION_PARAMS, ...FOLD_PARAMS, ...LOGISTIC_PARAMS },
} satisfies Record<StrategyName, Record<string, ParamInfo>>;

/** The full parameters of strategy `N`. */
export type ParamsOf<N extends StrategyName> = { [K in keyof (typeof STRATEGY_PARAMS)[N]]: number };

/** A configured strategy with every parameter given (defaults filled in). */
export interface ResolvedStrategySpec {
  name: StrategyName;
  params: Record<string, number>;
}

function paramTable(name: StrategyName): Record<string, ParamInfo> {
  return STRATEGY_PARAMS[name];
}

export function defaultParams<N extends StrategyName>(name: N): ParamsOf<N> {
  return resolveParams(name, {});
}

/** What is wrong with `params` for strategy `name`, one line per key (empty when nothing is). */
export function strategyParamProblems(name: StrategyName, params: Record<string, unknown>): string[] {
  const table = paramTable(name);
  return Object.entries(params).flatMap(([key, value]) => {
    const info = table[key];
    if (!info) {
      const known = Object.keys(table);
      return [`${name} has no parameter "${key}" (${known.length > 0 ? `it takes ${known.join(', ')}` : 'it takes none'})`];
    }
    const problem = valueProblem(info, value);
    return problem ? [`${name}: ${key} ${problem} (got ${typeof value === 'number' ? value : JSON.stringify(value)})`] : [];
  });
}

function valueProblem(info: ParamInfo, value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
  if (info.integer && !Number.isInteger(value)) return 'must be a whole number';
  if (info.min !== undefined && (info.minExclusive ? value <= info.min : value < info.min)) return `must be ${info.minExclusive ? '>' : '≥'} ${info.min}`;
  if (info.max !== undefined && (info.maxExclusive ? value >= info.max : value > info.max)) return `must be ${info.maxExclusive ? '<' : '≤'} ${info.max}`;
  return null;
}

/**
 * How people and tables name a configured strategy: its name when every parameter is its default,
 * else the name with the parameters that differ, sorted, e.g. `atl(C=0.5,maxSize=2)`.
 * `parseStrategySpecs` reads the same syntax back.
 */
export function strategyLabel(choice: StrategyName | { name: StrategyName; params?: Record<string, number> }): string {
  const spec = typeof choice === 'string' ? { name: choice } : choice;
  const defaults: Record<string, number> = defaultParams(spec.name);
  const changed = Object.entries(spec.params ?? {})
    .filter(([key, value]) => defaults[key] !== value)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return changed.length === 0 ? spec.name : `${spec.name}(${changed.map(([key, value]) => `${key}=${value}`).join(',')})`;
}

/** The strategy a label names (`atl(maxSize=2)` → `atl`), for its line in `STRATEGY_INFO`. */
export function strategyNameOf(label: string): StrategyName {
  return label.replace(/\(.*$/, '') as StrategyName;
}

/** Every parameter of strategy `name`: those given, the rest their defaults (keys it does not take are dropped). */
export function resolveParams<N extends StrategyName>(name: N, given: Partial<Record<string, number>>): ParamsOf<N> {
  return Object.fromEntries(Object.entries(paramTable(name)).map(([key, info]) => [key, given[key] ?? info.default])) as ParamsOf<N>;
}
