/**
 * `atl-studio bench`: compares the ATL strategies on a folder of images labeled by their folders,
 * over paired few-shot episodes, without a project. Features come from a standalone feature cache
 * (computed once; later runs only read them).
 */
import { Option, type Command } from 'commander';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { scanLabeledFolder } from '../services/dataset';
import { mixSeed, sampleEpisodes } from '../atl/episodes';
import { layerProfile, runEpisodes, summarize, type LayerProfilePoint, type StrategyResult } from '../atl/evaluate';
import { candidatePlan, loadCandidateFeatures } from '../features/candidate-features';
import type { FeatureSet } from '../atl/features';
import { parseStrategyNames, STRATEGY_NAMES, type StrategyName } from '../atl/strategies';
import { FeatureCache } from '../features/feature-cache';
import { StudioError } from '../core/errors';
import { createTeacherService } from '../app/composition-root';
import { checkedFlag, integerFlag, integerListFlag } from './flags';

export interface BenchOptions {
  data: string;
  model: string;
  ways: number;
  shots: number[];
  queries: number;
  episodes: number;
  strategies: StrategyName[];
  seed: number;
  /** Feature cache file; default: one per data folder in the OS temp folder. */
  cache?: string;
  /** Also score every candidate alone (`layer_profile`). */
  profile?: boolean;
}

export interface BenchReport {
  model: string;
  data: string;
  ways: number;
  queries: number;
  episodes: number;
  seed: number;
  results: StrategyResult[];
  timings: { extract_s: number; fit_s: number };
  /** The candidates compared (`layer:pooling`), after dropping exact duplicates. */
  candidates: string[];
  /** Each candidate alone (nearest class mean), per shot count, over the same episodes: accuracy over depth. */
  layer_profile: LayerProfilePoint[];
  /** Classes left out for some shot counts: too few images for shots + queries. */
  skipped_classes: { class: string; images: number; shots: number[] }[];
}

export function registerBenchCommand(program: Command): Command {
  return program
    .command('bench')
    .description('compare few-shot strategies (penultimate, ATL, Head2Toe, …) on a folder of images labeled by their folders')
    .requiredOption('--data <folder>', 'images in one folder per class (as import --labels-from-folders)')
    .requiredOption('--model <id>', 'teacher id (see `atl-studio models`)')
    .option('--ways <n>', 'classes per episode', integerFlag('--ways', 2, 1000), 5)
    .option('--shots <list>', 'labeled examples per class, comma-separated', integerListFlag('--shots', 1, 1000), [1, 5])
    .option('--queries <n>', 'test images per class per episode', integerFlag('--queries', 1, 1000), 15)
    .option('--episodes <n>', 'episodes per shot count (the same for every strategy)', integerFlag('--episodes', 1, 100_000), 300)
    .addOption(
      new Option('--strategies <list>', `'all' or a comma-separated list`).argParser(checkedFlag(parseStrategyNames)).default([...STRATEGY_NAMES], 'all'),
    )
    .option('--seed <n>', 'episode seed', integerFlag('--seed', 0, 2 ** 32 - 1), 1)
    .option('--json <out.json>', 'also write the results as JSON')
    .option('--cache <path>', 'feature cache file (default: one per data folder in the temp folder)')
    .option('--profile', 'also score every candidate layer alone (nearest class mean): the per-layer profile over depth')
    .action(async (options: BenchOptions & { json?: string }) => {
      const report = await runBench(
        options,
        (line) => process.stderr.write(line),
        (text) => process.stderr.isTTY && process.stderr.write(text),
      );
      console.log(formatBenchTable(report));
      if (options.json) writeFileSync(resolve(options.json), `${JSON.stringify(report, null, 2)}\n`);
    });
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
  const data = resolve(options.data);
  const { images } = scanLabeledFolder(data);
  const byClass = new Map<string, string[]>();
  for (const image of images) byClass.set(image.className, [...(byClass.get(image.className) ?? []), image.path]);
  const fewest = Math.min(...options.shots) + options.queries;
  const classes = [...byClass.keys()].filter((c) => byClass.get(c)!.length >= fewest);
  const skipped = [...byClass.entries()]
    .map(([name, paths]) => ({ class: name, images: paths.length, shots: options.shots.filter((s) => paths.length < s + options.queries) }))
    .filter((s) => s.shots.length > 0);
  if (skipped.length > 0) log(`Skipped ${skipped.length} classes with too few images: ${skipped.slice(0, 5).map((s) => `${s.class} (${s.images})`).join(', ')}${skipped.length > 5 ? ', …' : ''}\n`);
  if (classes.length < options.ways) {
    throw new StudioError('invalid_input', `${data} has ${classes.length} classes with ≥ ${fewest} images; ${options.ways}-way episodes need ${options.ways}`);
  }

  const teachers = createTeacherService();
  const cachePath = options.cache ? resolve(options.cache) : join(tmpdir(), `atl-studio-bench-${createHash('sha256').update(data).digest('hex').slice(0, 16)}.sqlite`);
  const cache = FeatureCache.openFile(cachePath);
  let features: FeatureSet;
  let itemClasses: string[];
  try {
    const teacher = await teachers.get(options.model);
    const engine = teacher.extractor.describe();
    log(`Teacher ${options.model} on ${engine.engine} · ${engine.backend} · ${engine.device}; cache ${cachePath}\n`);
    const paths = classes.flatMap((c) => byClass.get(c)!.map((path) => ({ path, className: c })));
    const loaded = await loadCandidateFeatures({
      extractor: teacher.extractor,
      teacherKey: teacher.key,
      plan: candidatePlan(await teachers.resolveLayers(options.model, 'all'), teacher.extractor.layers),
      cache,
      images: paths.map(({ path }) => ({ path, sha256: sha256(path) })),
      onProgress: (pooling, p) => {
        progress(`\rExtracting ${pooling}: ${p.cached + p.done}/${p.total} images   `);
        if (p.cached + p.done === p.total) progress('\n');
      },
    });
    if (loaded.extracted > 0) log(`Extracted ${loaded.extracted} images not in the cache\n`);
    for (const failure of loaded.failures) log(`  failed: ${failure.path}: ${failure.reason}\n`);
    features = loaded.features;
    itemClasses = loaded.rows.map((i) => paths[i].className);
  } finally {
    cache.close();
    await teachers.dispose();
  }
  const extractSeconds = (performance.now() - started) / 1000;
  log(`Features ready in ${extractSeconds.toFixed(1)} s: ${features.rows} images, ${features.candidates.length} candidates\n`);

  const strategies: StrategyName[] = options.strategies.includes('penultimate') ? options.strategies : ['penultimate', ...options.strategies];
  const results: StrategyResult[] = [];
  const profile: LayerProfilePoint[] = [];
  let fitSeconds = 0;
  for (const shots of options.shots) {
    const eligible = classes.filter((c) => byClass.get(c)!.length >= shots + options.queries);
    const itemsByClass = eligible.map((c) => itemClasses.flatMap((name, item) => (name === c ? [item] : [])));
    const episodes = sampleEpisodes(itemsByClass, { ways: options.ways, shots, queries: options.queries }, options.episodes, mixSeed(options.seed, shots));
    const fitStarted = performance.now();
    const runs = runEpisodes(features, episodes, strategies, (done) => {
      if (done % 10 === 0 || done === episodes.length) progress(`\r${shots}-shot: ${done}/${episodes.length} episodes   `);
    });
    progress('\n');
    const seconds = (performance.now() - fitStarted) / 1000;
    log(`${shots}-shot: ${episodes.length} episodes in ${seconds.toFixed(1)} s\n`);
    fitSeconds += seconds;
    results.push(...summarize(runs, shots));
    if (options.profile) profile.push(...(await layerProfile(features, episodes, shots)));
  }
  return {
    model: options.model,
    data,
    ways: options.ways,
    queries: options.queries,
    episodes: options.episodes,
    seed: options.seed,
    results,
    timings: { extract_s: extractSeconds, fit_s: fitSeconds },
    candidates: features.keys,
    layer_profile: profile,
    skipped_classes: skipped,
  };
}

export function formatBenchTable(report: BenchReport): string {
  const percent = (v: number) => (100 * v).toFixed(1);
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
  const header = ['strategy', 'shots', 'accuracy %', 'Δ vs penultimate', 'fit ms/ep', 'chosen (fraction of episodes; head2toe: share of features)'];
  const rows = report.results.map((r) => [
    r.strategy,
    String(r.shots),
    `${percent(r.mean)} ± ${percent(r.ci95)}`,
    r.strategy === 'penultimate' ? '' : `${signed(r.delta_vs_penultimate)} ± ${percent(r.delta_ci95)}`,
    (1000 * r.fit_s).toFixed(1),
    Object.entries(r.layers_chosen)
      .slice(0, 3)
      .map(([key, f]) => `${key} ${f.toFixed(2)}`)
      .join(', ') + (Object.keys(r.layers_chosen).length > 3 ? ', …' : ''),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [
    `${report.model} on ${report.data}: ${report.ways}-way, ${report.queries} queries, ${report.episodes} episodes, seed ${report.seed}`,
    line(header),
    ...rows.map(line),
    `features ${report.timings.extract_s.toFixed(1)} s, strategies ${report.timings.fit_s.toFixed(1)} s`,
  ].join('\n');
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}
