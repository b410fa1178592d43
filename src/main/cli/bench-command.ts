/**
 * `atl-studio bench`: compares the ATL strategies on a folder of images labeled by their folders,
 * over paired few-shot episodes, without a project. Features come from a standalone feature cache
 * (computed once; later runs only read them).
 */
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { scanLabeledFolder } from '../atl/dataset';
import { mixSeed, sampleEpisodes } from '../atl/episodes';
import { runEpisodes, summarize, type StrategyResult } from '../atl/evaluate';
import { candidateKey, FeatureSet, type Candidate } from '../atl/features';
import { parseStrategyNames, type StrategyName } from '../atl/strategies';
import type { FeatureLayer } from '../engines/feature-extractor';
import { extractFeatures, type ExtractionImage } from '../features/extraction';
import { FeatureCache } from '../features/feature-cache';
import { pooledLength, spatialGrid, type Pooling } from '../features/pooling-spec';
import { ModelStore } from '../models/model-store';
import { TeacherService } from '../models/teacher-service';
import { StudioError } from '../services/errors';
import { defaultHome } from '../services/settings-service';

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
  /** Classes left out for some shot counts: too few images for shots + queries. */
  skipped_classes: { class: string; images: number; shots: number[] }[];
}

export function registerBenchCommand(program: Command): Command {
  return program
    .command('bench')
    .description('compare few-shot strategies (penultimate, ATL, Head2Toe, …) on a folder of images labeled by their folders')
    .requiredOption('--data <folder>', 'images in one folder per class (as import --labels-from-folders)')
    .requiredOption('--model <id>', 'teacher id (see `atl-studio models`)')
    .option('--ways <n>', 'classes per episode', positiveInteger, 5)
    .option('--shots <list>', 'labeled examples per class, comma-separated', positiveIntegers, [1, 5])
    .option('--queries <n>', 'test images per class per episode', positiveInteger, 15)
    .option('--episodes <n>', 'episodes per shot count (the same for every strategy)', positiveInteger, 300)
    .option('--strategies <list>', `'all' or a comma-separated list`, 'all')
    .option('--seed <n>', 'episode seed', (v) => integer(v, 0), 1)
    .option('--json <out.json>', 'also write the results as JSON')
    .option('--cache <path>', 'feature cache file (default: one per data folder in the temp folder)')
    .action(async (options: Omit<BenchOptions, 'strategies'> & { strategies: string; json?: string }) => {
      const report = await runBench(
        { ...options, strategies: parseStrategyNames(options.strategies) },
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

  const teachers = new TeacherService(new ModelStore(defaultHome()));
  const cachePath = options.cache ? resolve(options.cache) : join(tmpdir(), `atl-studio-bench-${createHash('sha256').update(data).digest('hex').slice(0, 16)}.sqlite`);
  const cache = FeatureCache.openFile(cachePath);
  let features: FeatureSet;
  let itemClasses: string[];
  try {
    const teacher = await teachers.get(options.model);
    const engine = teacher.extractor.describe();
    log(`Teacher ${options.model} on ${engine.engine} · ${engine.backend} · ${engine.device}; cache ${cachePath}\n`);
    const inUse = await teachers.resolveLayers(options.model, 'all');
    const penultimate = teacher.extractor.layers.find((l) => l.penultimate)!;
    const layers = inUse.some((l) => l.penultimate) ? inUse : [...inUse, penultimate];
    const used: ExtractionImage[] = classes.flatMap((c) => byClass.get(c)!).map((path) => ({ path, sha256: sha256(path) }));
    const plan: [Pooling, FeatureLayer[]][] = [
      ['gap', layers],
      // A 1×1 grid is the global average again.
      ['spatial', layers.filter((l) => spatialGrid(l) > 1)],
    ];
    // Read first and extract only what is missing: asking the cache what is missing costs as much as reading.
    const columns = readColumns(cache, teacher.key, plan, used);
    const incomplete = used.filter((_, i) => columns.some((c) => !c.vectors[i]));
    if (incomplete.length > 0) {
      log(`Extracting ${incomplete.length} images not in the cache\n`);
      for (const [pooling, poolingLayers] of plan) {
        const report = await extractFeatures({
          extractor: teacher.extractor,
          cache,
          teacherKey: teacher.key,
          layers: poolingLayers,
          pooling,
          images: incomplete,
          onProgress: (p) => progress(`\rExtracting ${pooling}: ${p.done}/${p.total} images   `),
        });
        progress('\n');
        for (const failure of report.failures) log(`  failed: ${failure.path}: ${failure.reason}\n`);
      }
      const fresh = readColumns(cache, teacher.key, plan, incomplete);
      const freshRow = new Map(incomplete.map((image, i) => [image.sha256, i]));
      used.forEach((image, i) => {
        const from = freshRow.get(image.sha256);
        if (from !== undefined) columns.forEach((c, k) => (c.vectors[i] = fresh[k].vectors[from]));
      });
    }
    ({ features, itemClasses } = assembleFeatures(columns, used, byClass, classes));
  } finally {
    cache.close();
    await teachers.dispose();
  }
  const extractSeconds = (performance.now() - started) / 1000;
  log(`Features ready in ${extractSeconds.toFixed(1)} s: ${features.rows} images, ${features.candidates.length} candidates\n`);

  const strategies: StrategyName[] = options.strategies.includes('penultimate') ? options.strategies : ['penultimate', ...options.strategies];
  const results: StrategyResult[] = [];
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
    skipped_classes: skipped,
  };
}

interface Column {
  candidate: Candidate;
  depth: number;
  /** Per image, in the order asked for; undefined where not cached. */
  vectors: (Float32Array | undefined)[];
}

function readColumns(cache: FeatureCache, key: string, plan: [Pooling, FeatureLayer[]][], images: ExtractionImage[]): Column[] {
  const shas = images.map((i) => i.sha256);
  return plan.flatMap(([pooling, layers]) =>
    layers.map((layer) => ({
      candidate: { key: candidateKey(layer.name, pooling), layer: layer.name, pooling, dim: pooledLength(layer, pooling), penultimate: layer.penultimate && pooling === 'gap' },
      depth: layer.depth,
      vectors: cache.get(shas, key, layer.name, pooling),
    })),
  );
}

/**
 * One `FeatureSet` with a row per image that has every candidate, dropping candidates identical
 * to an earlier one: a teacher's penultimate is often the global average of its last block, which
 * must not count twice.
 */
function assembleFeatures(
  columns: Column[],
  images: ExtractionImage[],
  byClass: ReadonlyMap<string, string[]>,
  classes: string[],
): { features: FeatureSet; itemClasses: string[] } {
  const complete = images.flatMap((_, i) => (columns.every((c) => c.vectors[i]) ? [i] : []));
  const blocks = new Map<string, Float32Array>();
  const kept: Column[] = [];
  // The penultimate first, so that its duplicates are the ones dropped.
  for (const column of [...columns].sort((a, b) => Number(b.candidate.penultimate) - Number(a.candidate.penultimate))) {
    const { dim } = column.candidate;
    const block = new Float32Array(complete.length * dim);
    complete.forEach((image, row) => block.set(column.vectors[image]!, row * dim));
    if (kept.some((k) => k.candidate.dim === dim && nearlyEqual(blocks.get(k.candidate.key)!, block))) continue;
    blocks.set(column.candidate.key, block);
    kept.push(column);
  }
  kept.sort((a, b) => a.depth - b.depth || a.candidate.pooling.localeCompare(b.candidate.pooling));
  const classOf = new Map(classes.flatMap((c) => byClass.get(c)!.map((path) => [path, c] as const)));
  return {
    features: new FeatureSet(kept.map((k) => k.candidate), complete.length, blocks),
    itemClasses: complete.map((i) => classOf.get(images[i].path)!),
  };
}

/** Equal up to float32 rounding of sums taken in another order. */
function nearlyEqual(a: Float32Array, b: Float32Array): boolean {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff <= 1e-4 * Math.max(scale, 1e-12);
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

function integer(value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new StudioError('invalid_input', `Expected an integer ≥ ${min}, got '${value}'`);
  return n;
}

function positiveInteger(value: string): number {
  return integer(value, 1);
}

function positiveIntegers(value: string): number[] {
  return [...new Set(value.split(',').map((v) => positiveInteger(v.trim())))];
}
