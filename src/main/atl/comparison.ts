/**
 * A comparison of strategies on a project's labels: which episodes its labels allow, running the
 * strategies on them (paired: every strategy sees the same episodes), and what the comparison
 * view shows: mean ± CI per strategy and shot count, the paired difference to `penultimate`, the
 * winner of each column (only when its paired difference to the runner-up is clear of 0),
 * confusion counts, the most often misclassified images, and each candidate's profile.
 */
import type { ComparisonConfig } from '../../shared/contract';
import { strategyLabel } from '../../shared/strategies';
import { StudioError } from '../core/errors';
import { meanCi95, mixSeed, pairedDifference, sampleEpisodes, stratifiedSplits, type Episode } from './episodes';
import { layerProfile, runEpisodesAsync, type EpisodeRunner, summarize, type LayerProfilePoint, type StrategyResult, type StrategyRun, type StrategyToRun } from './evaluate';
import { resolveStrategy, type ResolvedStrategySpec } from './strategies';
import { mergeTeacherFeatures, type FeatureSet } from './features';

export interface ShotPlan {
  /** 0: all labels (`splits` mode). */
  shots: number;
  ways: number;
  /** Queries per class (in `splits` mode: the smallest class's held-out count). */
  queries: number;
  episodes: Episode[];
}

/**
 * The episodes of each shot count. Ways and queries shrink to what the labels allow: queries
 * first (down to 1), then ways (down to 2); a shot count that even 2-way 1-query cannot serve is
 * left out with a reason.
 */
export function planComparison(itemsByClass: readonly (readonly number[])[], config: ComparisonConfig): { plans: ShotPlan[]; leftOut: string[] } {
  if (config.mode === 'splits') {
    const episodes = stratifiedSplits(itemsByClass, config.testFraction, config.repeats, mixSeed(config.seed, 0));
    const queries = Math.min(...episodes[0].classes.map((c) => episodes[0].queryLabels.filter((l) => episodes[0].classes[l] === c).length));
    return { plans: [{ shots: 0, ways: episodes[0].classes.length, queries, episodes }], leftOut: [] };
  }
  const planned = planEpisodes(itemsByClass, config, 'shrink');
  if (planned.plans.length === 0) throw new StudioError('invalid_input', `Not enough labels to compare: ${planned.leftOut.join('; ')}. Label more images.`);
  return planned;
}

export type EpisodeSettings = Pick<ComparisonConfig, 'shots' | 'ways' | 'queries' | 'repeats' | 'seed'>;

/**
 * `repeats` episodes per shot count, seeded by the seed and the shot count. `shrink` (a project's
 * labels): shot counts in increasing order, ways and queries as `planComparison` says. `exact`
 * (`atl-studio bench`): shot counts in the order given, always `ways` and `queries`; only classes
 * with ≥ shots + queries items take part, and too few of them is an error.
 */
export function planEpisodes(
  itemsByClass: readonly (readonly number[])[],
  settings: EpisodeSettings,
  sizes: 'shrink' | 'exact',
): { plans: ShotPlan[]; leftOut: string[] } {
  const plans: ShotPlan[] = [];
  const leftOut: string[] = [];
  const counts = itemsByClass.map((items) => items.length);
  const shotCounts = sizes === 'exact' ? settings.shots : [...new Set(settings.shots)].sort((a, b) => a - b);
  for (const shots of shotCounts) {
    const plan = sizes === 'exact' ? { ways: settings.ways, queries: settings.queries } : fit(counts, shots, settings.ways, settings.queries);
    if (!plan) {
      leftOut.push(`${shots}-shot needs 2 classes with ≥ ${shots + 1} labeled images`);
      continue;
    }
    const episodes = sampleEpisodes(itemsByClass, { shots, ...plan }, settings.repeats, mixSeed(settings.seed, shots));
    plans.push({ shots, ...plan, episodes });
  }
  return { plans, leftOut };
}

function fit(counts: readonly number[], shots: number, ways: number, queries: number): { ways: number; queries: number } | null {
  for (let q = queries; q >= 1; q--) {
    const eligible = counts.filter((n) => n >= shots + q).length;
    if (eligible >= ways) return { ways, queries: q };
  }
  const eligible = counts.filter((n) => n >= shots + 1).length;
  if (eligible < 2) return null;
  // Fewer ways: then as many queries as those classes allow.
  return fit(counts, shots, eligible, queries);
}

export interface ComparisonCellResult extends StrategyResult {
  /** With several teachers: the teacher id, or `ACROSS_TEACHERS`; absent with one. */
  teacher?: string;
  ways: number;
  queries: number;
  repeats: number;
  winner: boolean;
}

export interface ComparisonOutcome {
  cells: ComparisonCellResult[];
  /** Per strategy (its label, as in every field here) and shots: counts[t][p], in the class indices of `itemsByClass`. */
  confusion: { teacher?: string; strategy: string; shots: number; matrix: number[][] }[];
  /** Items misclassified, with how often, per strategy and shots: the most frequent first, up to `mistakesPerCell`. */
  mistakes: { teacher?: string; strategy: string; shots: number; item: number; trueClass: number; predictedClass: number; count: number }[];
  profile: (LayerProfilePoint & { teacher?: string })[];
  /** Per shots: each strategy's accuracy per episode (what the store keeps). */
  episodeAccuracies: { teacher?: string; shots: number; strategy: string; accuracies: number[] }[];
  /** Strategies alone, without the profile. */
  strategiesSeconds: number;
  /** Cancelled: the shot counts finished, and the episodes finished of the one that was running, are kept. */
  cancelled: boolean;
}

export interface RunComparisonOptions {
  signal?: AbortSignal;
  /**
   * Episodes (splits in `splits` mode) done through every strategy, over all shot counts: the one
   * thing the progress counts. Each shot count's per-layer profile follows its episodes, quickly.
   */
  onProgress?: (done: number, total: number, message: string) => void;
  mistakesPerCell?: number;
  /** Each candidate alone after each shot count's strategies (default true; the bench asks for it with --profile). */
  profile?: boolean;
  /** Default `runEpisodesAsync`, on this thread; the studio passes one that moves large sets to a worker thread. */
  runEpisodes?: EpisodeRunner;
}

export async function runComparison(
  features: FeatureSet,
  classCount: number,
  plans: readonly ShotPlan[],
  requested: readonly StrategyToRun[],
  options: RunComparisonOptions = {},
): Promise<ComparisonOutcome> {
  const strategies = strategiesToCompare(requested);
  const total = plans.reduce((a, p) => a + p.episodes.length, 0);
  let before = 0;
  const outcome: ComparisonOutcome = { cells: [], confusion: [], mistakes: [], profile: [], episodeAccuracies: [], strategiesSeconds: 0, cancelled: false };
  for (const plan of plans) {
    const splits = plan.shots === 0;
    const unit = splits ? 'split' : 'episode';
    const label = splits ? 'Every strategy' : `${plan.shots}-shot, every strategy`;
    const started = performance.now();
    const runs = await (options.runEpisodes ?? runEpisodesAsync)(features, plan.episodes, strategies, {
      signal: options.signal,
      onEpisode: (done) => options.onProgress?.(before + done, total, `${label}: ${unit} ${done} of ${plan.episodes.length}`),
    });
    outcome.strategiesSeconds += (performance.now() - started) / 1000;
    before += plan.episodes.length;
    // A cancel keeps the episodes finished so far: every strategy ran on each of them.
    const finished = runs[0].accuracies.length;
    if (finished > 0) addResults(outcome, { ...plan, episodes: plan.episodes.slice(0, finished) }, runs, classCount, options.mistakesPerCell ?? 24);
    if (options.signal?.aborted) return { ...outcome, cancelled: true };
    if (options.profile === false) continue;
    options.onProgress?.(before, total, `${splits ? 'All labels' : `${plan.shots}-shot`}: each layer alone`);
    outcome.profile.push(...(await layerProfile(features, plan.episodes, plan.shots, options.signal)));
    if (options.signal?.aborted) return { ...outcome, cancelled: true };
  }
  return outcome;
}

/**
 * The strategies asked for, each once (by label), with every parameter. Every result is paired with
 * `penultimate` (its default parameters), so it always runs, first unless asked for elsewhere.
 */
export function strategiesToCompare(requested: readonly StrategyToRun[]): ResolvedStrategySpec[] {
  const byLabel = new Map<string, ResolvedStrategySpec>();
  for (const spec of requested.map(resolveStrategy)) byLabel.set(strategyLabel(spec), byLabel.get(strategyLabel(spec)) ?? spec);
  return byLabel.has('penultimate') ? [...byLabel.values()] : [resolveStrategy('penultimate'), ...byLabel.values()];
}

/** One shot count's cells, confusion counts, most misclassified items and per-episode accuracies, from its runs. */
function addResults(outcome: ComparisonOutcome, plan: ShotPlan, runs: readonly StrategyRun[], classCount: number, mistakesPerCell: number): void {
  const summaries = summarize(runs, plan.shots);
  const winner = columnWinner(runs.map((r) => r.accuracies));
  summaries.forEach((summary, s) => {
    outcome.cells.push({ ...summary, ways: plan.ways, queries: plan.queries, repeats: plan.episodes.length, winner: s === winner });
  });
  for (const run of runs) {
    outcome.episodeAccuracies.push({ shots: plan.shots, strategy: run.strategy, accuracies: run.accuracies });
    const matrix = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
    const wrong = new Map<string, number>();
    run.predictions.forEach((predicted, e) => {
      const episode = plan.episodes[e];
      predicted.forEach((p, q) => {
        const t = episode.classes[episode.queryLabels[q]];
        const c = episode.classes[p];
        matrix[t][c]++;
        if (t !== c) {
          const key = `${episode.query[q]},${t},${c}`;
          wrong.set(key, (wrong.get(key) ?? 0) + 1);
        }
      });
    });
    outcome.confusion.push({ strategy: run.strategy, shots: plan.shots, matrix });
    const top = [...wrong.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, mistakesPerCell);
    for (const [key, count] of top) {
      const [item, trueClass, predictedClass] = key.split(',').map(Number);
      outcome.mistakes.push({ strategy: run.strategy, shots: plan.shots, item, trueClass, predictedClass, count });
    }
  }
}

/**
 * The index of the best mean, if its paired difference to the runner-up (second-best mean) has a
 * 95 % CI that excludes 0; otherwise no winner (null).
 */
export function columnWinner(accuracies: readonly number[][]): number | null {
  if (accuracies.length < 2 || accuracies[0].length < 2) return null;
  const order = accuracies.map((a, i) => ({ i, mean: meanCi95(a).mean })).sort((a, b) => b.mean - a.mean);
  const difference = pairedDifference(accuracies[order[0].i], accuracies[order[1].i]);
  return difference.mean - difference.ci95 > 0 ? order[0].i : null;
}

/** The teacher of the results of `atl-teachers` when it chooses among several teachers. */
export const ACROSS_TEACHERS = '*';

export interface TeacherRun {
  teacher: string;
  features: FeatureSet;
  strategies: StrategyToRun[];
}

/**
 * What runs with several teachers: each teacher's features (keys `teacher/layer:pooling`, so that
 * no two teachers' collide) with every strategy but `atl-teachers` (there it would be `atl` again),
 * then, when it is asked for, `atl-teachers` once on every teacher's candidates together.
 */
export function teacherRuns(parts: readonly { teacher: string; features: FeatureSet }[], strategies: readonly StrategyToRun[]): TeacherRun[] {
  const acrossTeachers = (s: StrategyToRun) => (typeof s === 'string' ? s : s.name) === 'atl-teachers';
  const runs = parts.map(({ teacher, features }) => ({
    teacher,
    features: mergeTeacherFeatures([{ teacher, features }]),
    strategies: strategies.filter((s) => !acrossTeachers(s)),
  }));
  if (!strategies.some(acrossTeachers)) return runs;
  return [...runs, { teacher: ACROSS_TEACHERS, features: mergeTeacherFeatures(parts), strategies: strategies.filter(acrossTeachers) }];
}

/**
 * Several teachers' outcomes on the same episodes as one: every result carries its teacher, every
 * Δ is against the first teacher's `penultimate`, and each column's winner is chosen among all
 * teachers' cells. The `*` run's own `penultimate` (the first teacher's again) is left out.
 */
export function pairAcrossTeachers(teachers: readonly string[], outcomes: readonly ComparisonOutcome[]): ComparisonOutcome {
  const kept = <T extends { strategy: string }>(t: number, item: T) => teachers[t] !== ACROSS_TEACHERS || item.strategy !== 'penultimate';
  const tagged = <T extends { strategy: string }>(pick: (o: ComparisonOutcome) => readonly T[]) =>
    outcomes.flatMap((o, t) => pick(o).filter((item) => kept(t, item)).map((item) => ({ teacher: teachers[t], ...item })));
  const episodeAccuracies = tagged((o) => o.episodeAccuracies);
  const accuracies = (teacher: string, strategy: string, shots: number) =>
    episodeAccuracies.find((a) => a.teacher === teacher && a.strategy === strategy && a.shots === shots)!.accuracies;
  const cells = tagged((o) => o.cells).filter((cell) => episodeAccuracies.some((a) => a.teacher === teachers[0] && a.strategy === 'penultimate' && a.shots === cell.shots));
  // After a cancel, a later teacher may have finished fewer episodes: pair the episodes both finished.
  const paired = cells.map((cell) => {
    const [own, baseline] = sameLength([accuracies(cell.teacher, cell.strategy, cell.shots), accuracies(teachers[0], 'penultimate', cell.shots)]);
    const delta = pairedDifference(own, baseline);
    return { ...cell, delta_vs_penultimate: delta.mean, delta_ci95: delta.ci95, winner: false };
  });
  for (const shots of new Set(paired.map((c) => c.shots))) {
    const column = paired.filter((c) => c.shots === shots);
    const winner = columnWinner(sameLength(column.map((c) => accuracies(c.teacher, c.strategy, shots))));
    if (winner !== null) column[winner].winner = true;
  }
  return {
    cells: paired,
    confusion: tagged((o) => o.confusion),
    mistakes: tagged((o) => o.mistakes),
    profile: outcomes.flatMap((o, t) => o.profile.map((point) => ({ teacher: teachers[t], ...point }))),
    episodeAccuracies,
    strategiesSeconds: outcomes.reduce((a, o) => a + o.strategiesSeconds, 0),
    cancelled: outcomes.some((o) => o.cancelled),
  };
}

/** Each list cut to the shortest one's length. */
function sameLength(lists: readonly number[][]): number[][] {
  const length = Math.min(...lists.map((l) => l.length));
  return lists.map((l) => l.slice(0, length));
}
