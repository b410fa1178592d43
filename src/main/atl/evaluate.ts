/**
 * Runs strategies over episodes: each fits on the episode's support and is scored on its queries.
 * Strategies never see query labels; they are used here only to count correct predictions.
 */
import { StudioError } from '../core/errors';
import type { Episode } from './episodes';
import { meanCi95, pairedDifference } from './episodes';
import type { FeatureSet } from './features';
import { accuracy } from './matrix';
import { BlockHead } from './strategies/strategy';
import { cloneStrategy, createStrategy, type ResolvedStrategySpec, type Strategy } from './strategies';
import type { StrategyChoice } from '../../shared/contract';
import { strategyLabel } from '../../shared/strategies';

/** A strategy to run: a name (its defaults) or a configured one. */
export type StrategyToRun = StrategyChoice | ResolvedStrategySpec;

export interface StrategyRun {
  /** Its label: the name, with the parameters that differ from their defaults (`strategyLabel`). */
  strategy: string;
  /** Query accuracy per episode, in episode order. */
  accuracies: number[];
  /** Summed over episodes: candidate key → weight in the fitted head (see `StrategyDescription`). */
  chosen: Map<string, number>;
  /** Fit plus predict, summed over episodes. */
  seconds: number;
  /** Predicted episode labels of each episode's queries, in episode order. */
  predictions: Int32Array[];
}

export function runEpisodes(
  features: FeatureSet,
  episodes: readonly Episode[],
  strategies: readonly StrategyToRun[],
  onEpisode?: (done: number) => void,
): StrategyRun[] {
  const runs = emptyRuns(strategies);
  episodes.forEach((episode, e) => {
    runEpisode(features, episode, runs);
    onEpisode?.(e + 1);
  });
  return runs.map(withoutPrototype);
}

/** How a caller runs strategies over episodes: `runEpisodesAsync`, or the same on another thread (src/main/services/compute-thread.ts). */
export type EpisodeRunner = (
  features: FeatureSet,
  episodes: readonly Episode[],
  strategies: readonly StrategyToRun[],
  options?: { signal?: AbortSignal; onEpisode?: (done: number) => void },
) => Promise<StrategyRun[]>;

/** Runs with no episode yet, one per strategy (a bad parameter throws here). */
export function newRuns(strategies: readonly StrategyToRun[]): StrategyRun[] {
  return emptyRuns(strategies).map(withoutPrototype);
}

/** Appends the runs of one more episode (`runEpisodes` on it alone, same strategies in the same order) to `runs`. */
export function appendEpisode(runs: StrategyRun[], episode: readonly StrategyRun[]): void {
  runs.forEach((run, i) => {
    const { accuracies, predictions, seconds, chosen } = episode[i];
    run.accuracies.push(...accuracies);
    run.predictions.push(...predictions);
    run.seconds += seconds;
    for (const [key, weight] of chosen) run.chosen.set(key, (run.chosen.get(key) ?? 0) + weight);
  });
}

/**
 * The same, yielding to the event loop between episodes (a service process keeps answering while
 * it runs) and stopping early when `signal` aborts: the runs then hold the episodes done so far.
 */
export const runEpisodesAsync: EpisodeRunner = async (features, episodes, strategies, options = {}) => {
  const runs = emptyRuns(strategies);
  let yielded = performance.now();
  for (let e = 0; e < episodes.length && !options.signal?.aborted; e++) {
    runEpisode(features, episodes[e], runs);
    options.onEpisode?.(e + 1);
    if (performance.now() - yielded > 50) {
      await new Promise((resolve) => setImmediate(resolve));
      yielded = performance.now();
    }
  }
  return runs.map(withoutPrototype);
};

/** A run and the unfitted strategy each episode clones (built first: a bad parameter fails before any episode). */
type PendingRun = StrategyRun & { prototype: Strategy };

function emptyRuns(strategies: readonly StrategyToRun[]): PendingRun[] {
  return strategies.map((choice) => {
    const prototype = createStrategy(choice);
    const strategy = strategyLabel({ name: prototype.name, params: prototype.getParams() });
    return { strategy, prototype, accuracies: [], chosen: new Map(), seconds: 0, predictions: [] };
  });
}

function withoutPrototype({ prototype: _, ...run }: PendingRun): StrategyRun {
  return run;
}

/** Fits every strategy on the episode's support and scores it on its queries, appending to `runs`. */
function runEpisode(features: FeatureSet, episode: Episode, runs: PendingRun[]): void {
  const support = features.select(episode.support);
  const query = features.select(episode.query);
  for (const run of runs) {
    const started = performance.now();
    const model = cloneStrategy(run.prototype).fit(support, episode.supportLabels);
    const predicted = model.predict(query);
    run.seconds += (performance.now() - started) / 1000;
    run.accuracies.push(accuracy(predicted, episode.queryLabels));
    run.predictions.push(predicted);
    for (const [key, weight] of Object.entries(model.describe().candidates)) run.chosen.set(key, (run.chosen.get(key) ?? 0) + weight);
  }
}

export interface StrategyResult {
  /** The run's label (see `StrategyRun`). */
  strategy: string;
  shots: number;
  mean: number;
  ci95: number;
  delta_vs_penultimate: number;
  delta_ci95: number;
  /** Candidate key → mean weight over episodes (the fraction of episodes it was chosen in, for set strategies). */
  layers_chosen: Record<string, number>;
  /** Mean fit + predict time per episode. */
  fit_s: number;
}

/** Accuracies with CIs and the paired difference to the `penultimate` run (which must be among `runs`). */
export function summarize(runs: readonly StrategyRun[], shots: number): StrategyResult[] {
  const baseline = runs.find((r) => r.strategy === 'penultimate');
  if (!baseline) throw new StudioError('invalid_input', 'The penultimate strategy must run: every result is compared to it');
  return runs.map((run) => {
    const episodes = run.accuracies.length;
    const { mean, ci95 } = meanCi95(run.accuracies);
    const delta = pairedDifference(run.accuracies, baseline.accuracies);
    const layers = [...run.chosen.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    return {
      strategy: run.strategy,
      shots,
      mean,
      ci95,
      delta_vs_penultimate: delta.mean,
      delta_ci95: delta.ci95,
      layers_chosen: Object.fromEntries(layers.map(([key, total]) => [key, total / episodes])),
      fit_s: run.seconds / episodes,
    };
  });
}

export interface LayerProfilePoint {
  candidate: string;
  layer: string;
  pooling: string;
  depth: number;
  shots: number;
  mean: number;
  ci95: number;
}

/**
 * How well each candidate alone classifies, over the same episodes: a nearest-class-mean head
 * (SimpleShot) per candidate. Nearest-mean rather than logistic regression because it is what the
 * ATL search scores with, and it costs one pass per candidate and episode.
 */
export async function layerProfile(
  features: FeatureSet,
  episodes: readonly Episode[],
  shots: number,
  signal?: AbortSignal,
): Promise<LayerProfilePoint[]> {
  const accuracies = features.candidates.map(() => [] as number[]);
  for (const episode of episodes) {
    if (signal?.aborted) return [];
    await new Promise((resolve) => setImmediate(resolve));
    const support = features.select(episode.support);
    const query = features.select(episode.query);
    features.candidates.forEach((c, k) => {
      const head = new BlockHead([c.key], 'ncm').fit(support, episode.supportLabels);
      accuracies[k].push(accuracy(head.predict(query), episode.queryLabels));
    });
  }
  return features.candidates.map((c, k) => ({
    candidate: c.key,
    layer: c.layer,
    pooling: c.pooling,
    depth: c.depth,
    shots,
    ...meanCi95(accuracies[k]),
  }));
}
