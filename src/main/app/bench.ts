/**
 * The bench: few-shot strategies compared on a folder of images labeled by their folders, without
 * a project, for one teacher or several. Features come from a standalone feature cache (computed
 * once; later runs only read them). Episodes and strategies go through the pipeline of a
 * project's comparison (`planEpisodes`, `runComparison`), with exactly the ways and queries asked
 * for. Several teachers see the same episodes (the same images, the same seed), so every
 * difference is paired, and every Δ is against the first teacher's `penultimate`. With several
 * teachers, `atl-teachers` runs once, on every teacher's candidates together (its rows have
 * teacher `*`); with one it is `atl`.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ACROSS_TEACHERS, pairAcrossTeachers, planEpisodes, runComparison, teacherRuns, type ComparisonOutcome } from '../atl/comparison';
import type { LayerProfilePoint, StrategyResult, StrategyToRun } from '../atl/evaluate';
import { StudioError } from '../core/errors';
import { candidatePlan, loadCandidateFeatures, onCommonImages, type CandidateFeatures } from '../features/candidate-features';
import type { ExtractionImage } from '../features/extraction';
import { FeatureCache } from '../features/feature-cache';
import type { TeacherService } from '../models/teacher-service';
import { scanLabeledFolder } from '../services/dataset';
import { createTeacherService } from './composition-root';

export interface BenchOptions {
  data: string;
  /** A teacher id, or several: all see the same episodes, and the first is the baseline of every Δ. */
  model: string | readonly string[];
  ways: number;
  shots: number[];
  queries: number;
  episodes: number;
  /** Names or configured strategies; `penultimate` (its defaults) always runs too. */
  strategies: readonly StrategyToRun[];
  seed: number;
  /** Feature cache file; default: one per data folder in the OS temp folder. */
  cache?: string;
  /** Also score every candidate alone (`layer_profile`). */
  profile?: boolean;
}

/** `teacher` only when several teachers ran: a teacher id, or `*` for `atl-teachers` on all of them. */
export type BenchResult = StrategyResult & { teacher?: string };
export type BenchProfilePoint = LayerProfilePoint & { teacher?: string };

export interface BenchReport {
  /** The teacher id; with several, their ids joined by commas, as `--model` takes them. */
  model: string;
  /** Only with several teachers: their ids, the baseline first. */
  teachers?: string[];
  data: string;
  ways: number;
  queries: number;
  episodes: number;
  seed: number;
  /** Grouped by teacher, then by shot count. */
  results: BenchResult[];
  timings: { extract_s: number; fit_s: number };
  /** The candidates compared (`layer:pooling`; with several teachers `teacher/layer:pooling`), after dropping exact duplicates. */
  candidates: string[];
  /** Each candidate alone (nearest class mean), per shot count, over the same episodes: accuracy over depth. */
  layer_profile: BenchProfilePoint[];
  /** Classes left out for some shot counts: too few images for shots + queries. */
  skipped_classes: { class: string; images: number; shots: number[] }[];
}

/**
 * The whole benchmark. `log` gets lines for people (each ends with \n); `progress` gets running
 * counts that rewrite their line (\r), for a terminal.
 */
export async function runBench(
  options: BenchOptions,
  log: (text: string) => void = () => undefined,
  progress: (text: string) => void = () => undefined,
): Promise<BenchReport> {
  const started = performance.now();
  const ids = typeof options.model === 'string' ? [options.model] : [...options.model];
  const several = ids.length > 1;
  const teachers = createTeacherService();
  for (const id of ids) teachers.store.get(id); // an unknown id fails before any work
  const data = resolve(options.data);
  const { classes, skipped } = await benchClasses(data, options, log);
  const images = classes.flatMap(({ name, paths }) => paths.map((path) => ({ path, className: name, sha256: sha256(path) })));
  const cachePath = options.cache ? resolve(options.cache) : join(tmpdir(), `atl-studio-bench-${createHash('sha256').update(data).digest('hex').slice(0, 16)}.sqlite`);
  let loaded: CandidateFeatures[];
  try {
    loaded = await loadTeachersFeatures(teachers, ids, images, cachePath, log, progress);
  } finally {
    await teachers.dispose();
  }
  // Paired across teachers: only images every teacher has features for.
  const { images: common, features: commonFeatures } = onCommonImages(loaded);
  const runs = several
    ? teacherRuns(ids.map((teacher, t) => ({ teacher, features: commonFeatures[t] })), options.strategies)
    : [{ teacher: ids[0], features: commonFeatures[0], strategies: options.strategies }];
  const extractSeconds = (performance.now() - started) / 1000;
  const candidates = runs.filter((r) => r.teacher !== ACROSS_TEACHERS).flatMap((r) => r.features.keys);
  log(`Features ready in ${extractSeconds.toFixed(1)} s: ${common.length} images, ${candidates.length} candidates\n`);

  // Items are feature rows; each shot count's episodes draw among the classes with ≥ shots + queries of them.
  const itemsByClass = classes.map(({ name }) => common.flatMap((image, item) => (images[image].className === name ? [item] : [])));
  const { plans } = planEpisodes(
    itemsByClass,
    { shots: options.shots, ways: options.ways, queries: options.queries, repeats: options.episodes, seed: options.seed },
    'exact',
  );
  const outcomes: ComparisonOutcome[] = [];
  for (const { teacher, features, strategies } of runs) {
    const outcome = await runComparison(features, classes.length, plans, strategies, {
      // Each candidate alone is already in its own teacher's profile.
      profile: teacher !== ACROSS_TEACHERS && (options.profile ?? false),
      onProgress: (_done, _total, message) => progress(`\r${several ? `${teacher}: ` : ''}${message}   `),
    });
    progress('\n');
    log(`${several ? `${teacher}: ` : ''}strategies on ${plans.length} × ${options.episodes} episodes in ${outcome.strategiesSeconds.toFixed(1)} s\n`);
    outcomes.push(outcome);
  }
  return {
    model: ids.join(','),
    ...(several ? { teachers: ids } : {}),
    data,
    ways: options.ways,
    queries: options.queries,
    episodes: options.episodes,
    seed: options.seed,
    results: several ? pairedAcrossTeachers(runs.map((r) => r.teacher), outcomes) : outcomes[0].cells.map(strategyResult),
    timings: { extract_s: extractSeconds, fit_s: outcomes.reduce((a, o) => a + o.strategiesSeconds, 0) },
    candidates,
    layer_profile: outcomes.flatMap((o, t) => o.profile.map((point) => (several ? { teacher: runs[t].teacher, ...point } : point))),
    skipped_classes: skipped,
  };
}

/** Each teacher's candidate features of `images`, from the cache at `cachePath` (extracting what it lacks). */
async function loadTeachersFeatures(
  teachers: TeacherService,
  ids: readonly string[],
  images: readonly ExtractionImage[],
  cachePath: string,
  log: (text: string) => void,
  progress: (text: string) => void,
): Promise<CandidateFeatures[]> {
  const cache = FeatureCache.openFile(cachePath);
  const loaded: CandidateFeatures[] = [];
  try {
    // Every teacher opens (installed, verified, its engine ready) before the first one extracts.
    const opened = [];
    for (const id of ids) opened.push(await teachers.get(id));
    for (const [t, id] of ids.entries()) {
      const teacher = opened[t];
      const engine = teacher.extractor.describe();
      log(`Teacher ${id} on ${engine.engine} · ${engine.backend} · ${engine.device}; cache ${cachePath}\n`);
      const features = await loadCandidateFeatures({
        extractor: teacher.extractor,
        teacherKey: teacher.key,
        plan: candidatePlan(await teachers.resolveLayers(id, 'all'), teacher.extractor.layers),
        cache,
        images,
        onProgress: (pooling, p) => {
          progress(`\rExtracting ${pooling}: ${p.cached + p.done}/${p.total} images   `);
          if (p.cached + p.done === p.total) progress('\n');
        },
      });
      if (features.extracted > 0) log(`Extracted ${features.extracted} images not in the cache\n`);
      for (const failure of features.failures) log(`  failed: ${failure.path}: ${failure.reason}\n`);
      loaded.push(features);
    }
  } finally {
    cache.close();
  }
  return loaded;
}

/**
 * The classes with enough images for the fewest shots + queries (each class's image paths), and
 * those left out for some shot counts. Fewer than `ways` usable classes is an error.
 */
async function benchClasses(data: string, options: BenchOptions, log: (text: string) => void) {
  const byClass = new Map<string, string[]>();
  for (const image of (await scanLabeledFolder(data)).images) byClass.set(image.className, [...(byClass.get(image.className) ?? []), image.path]);
  const fewest = Math.min(...options.shots) + options.queries;
  const classes = [...byClass.entries()].filter(([, paths]) => paths.length >= fewest).map(([name, paths]) => ({ name, paths }));
  const skipped = [...byClass.entries()]
    .map(([name, paths]) => ({ class: name, images: paths.length, shots: options.shots.filter((s) => paths.length < s + options.queries) }))
    .filter((s) => s.shots.length > 0);
  if (skipped.length > 0) log(`Skipped ${skipped.length} classes with too few images: ${skipped.slice(0, 5).map((s) => `${s.class} (${s.images})`).join(', ')}${skipped.length > 5 ? ', …' : ''}\n`);
  if (classes.length < options.ways) {
    throw new StudioError('invalid_input', `${data} has ${classes.length} classes with ≥ ${fewest} images; ${options.ways}-way episodes need ${options.ways}`);
  }
  return { classes, skipped };
}

export { ACROSS_TEACHERS };

/** A comparison cell as the bench reports it (the fields it has always had, in their order). */
function strategyResult(cell: StrategyResult): StrategyResult {
  const { strategy, shots, mean, ci95, delta_vs_penultimate, delta_ci95, layers_chosen, fit_s } = cell;
  return { strategy, shots, mean, ci95, delta_vs_penultimate, delta_ci95, layers_chosen, fit_s };
}

/**
 * Every run's cells, each with its teacher and Δ against the first teacher's penultimate on the
 * same episodes (`pairAcrossTeachers`). The `*` run's own `penultimate` (the first teacher's again) is left out.
 */
function pairedAcrossTeachers(teachers: readonly string[], outcomes: readonly ComparisonOutcome[]): BenchResult[] {
  return pairAcrossTeachers(teachers, outcomes).cells.map(({ teacher, ...cell }) => ({ teacher, ...strategyResult(cell) }));
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
