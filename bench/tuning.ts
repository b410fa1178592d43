/**
 * The tuning runs behind the strategies' hyper-parameters, as scripts anyone can rerun: a grid of
 * variants (one strategy with some parameters changed), each scored on the same development
 * episodes as the `penultimate` baseline, for every teacher on every DEVELOPMENT data set only.
 * The JSON it writes is the record `docs/` quotes (`npm run docs:numbers`); nothing is copied by hand.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { meanCi95, mixSeed, pairedDifference, sampleEpisodes } from '../src/main/atl/episodes';
import { accuracy } from '../src/main/atl/matrix';
import { createStrategy, type Strategy } from '../src/main/atl/strategies';
import { DEVELOPMENT, featureCachePath, TEACHERS } from './datasets';
import { loadBenchFeatures } from './features';
import { markdownTable, signedPoints } from './markdown';

const ROOT = resolve(import.meta.dirname, '..');

/** Episodes of tuning runs: not the seed `docs/results.md` reports (1), so no tuning episode is a reported one. */
export const DEVELOPMENT_SEED = 1001;

export interface Variant {
  /** Short name, unique in its grid (a docs table's row). */
  id: string;
  /** What it changes, in words. */
  about: string;
  /** The parameters given to the strategy (over its defaults). */
  params: Record<string, number>;
  /** The shot counts where the parameters can matter (others would repeat the defaults' numbers). */
  shots: number[];
}

export interface VariantResult {
  variant: string;
  shots: number;
  mean: number;
  ci95: number;
  delta_vs_penultimate: number;
  delta_ci95: number;
  /** Fraction of episodes per `describe().fallback` ('guard', 'one-shot', 'one-shot-hidden'). */
  fallbacks: Record<string, number>;
  fit_ms: number;
}

export interface TuneConfig {
  dataset: string;
  teacher: string;
  engine: string;
  candidates: number;
  penultimate: { shots: number; mean: number; ci95: number }[];
  results: VariantResult[];
}

export interface TuneReport {
  script: string;
  strategy: string;
  defaults: Record<string, number>;
  settings: { ways: number; shots: number[]; queries: number; episodes: number; seed: number };
  variants: Variant[];
  configs: TuneConfig[];
  run: { started_at: string; finished_at: string; wall_s: number; host: string };
}

export interface TuneOptions {
  script: string;
  strategy: string;
  defaults: Record<string, number>;
  variants: Variant[];
  build: (params: Record<string, number>) => Strategy;
  quick: boolean;
  /** Episodes per shot count (default 100; quick: 20). */
  episodes?: number;
  /** Where the JSON goes. */
  out: string;
}

/** Runs the grid, prints the tables, writes the JSON. Quick: ResNet-56 on cifar10-mini only, 20 episodes. */
export async function tune(options: TuneOptions): Promise<TuneReport> {
  const started = new Date();
  const settings = { ways: 5, shots: [1, 5], queries: 15, episodes: options.quick ? 20 : (options.episodes ?? 100), seed: DEVELOPMENT_SEED };
  const pairs = TEACHERS.flatMap((teacher) => DEVELOPMENT.map((dataset) => ({ teacher, dataset })));
  const configs: TuneConfig[] = [];
  for (const { teacher, dataset } of options.quick ? pairs.slice(0, 1) : pairs) {
    const folder = await dataset.prepare();
    if (!folder) throw new Error(`${dataset.id} is a development set and cannot be had here: the tuning needs every one`);
    const { features, itemsByClass, engine } = await loadBenchFeatures(folder, teacher.id, featureCachePath(dataset.id));
    console.error(`\n== ${teacher.id} on ${dataset.id}: ${features.candidates.length} candidates, ${options.variants.length} variants`);
    const config: TuneConfig = { dataset: dataset.id, teacher: teacher.id, engine, candidates: features.candidates.length, penultimate: [], results: [] };
    for (const shots of settings.shots) {
      const episodes = sampleEpisodes(itemsByClass, { ways: settings.ways, shots, queries: settings.queries }, settings.episodes, mixSeed(settings.seed, shots));
      const variants = options.variants.filter((v) => v.shots.includes(shots));
      const runs = variants.map(() => ({ accuracies: [] as number[], fallbacks: new Map<string, number>(), ms: 0 }));
      const baseline: number[] = [];
      episodes.forEach((episode, e) => {
        const support = features.select(episode.support);
        const query = features.select(episode.query);
        baseline.push(accuracy(createStrategy('penultimate').fit(support, episode.supportLabels).predict(query), episode.queryLabels));
        variants.forEach((variant, v) => {
          const fitStarted = performance.now();
          const model = options.build(variant.params).fit(support, episode.supportLabels);
          runs[v].accuracies.push(accuracy(model.predict(query), episode.queryLabels));
          runs[v].ms += performance.now() - fitStarted;
          const { fallback } = model.describe();
          if (fallback) runs[v].fallbacks.set(fallback, (runs[v].fallbacks.get(fallback) ?? 0) + 1);
        });
        if ((e + 1) % 20 === 0) console.error(`${shots}-shot: ${e + 1}/${episodes.length} episodes`);
      });
      config.penultimate.push({ shots, ...meanCi95(baseline) });
      variants.forEach((variant, v) => {
        const { accuracies, fallbacks, ms } = runs[v];
        const delta = pairedDifference(accuracies, baseline);
        config.results.push({
          variant: variant.id,
          shots,
          ...meanCi95(accuracies),
          delta_vs_penultimate: delta.mean,
          delta_ci95: delta.ci95,
          fallbacks: Object.fromEntries([...fallbacks].map(([k, n]) => [k, n / episodes.length])),
          fit_ms: ms / episodes.length,
        });
      });
    }
    configs.push(config);
  }
  const finished = new Date();
  const report: TuneReport = {
    script: options.script,
    strategy: options.strategy,
    defaults: options.defaults,
    settings,
    variants: options.variants,
    configs,
    run: {
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      wall_s: Math.round((finished.getTime() - started.getTime()) / 1000),
      host: `${cpus().length}-core ${cpus()[0]?.model ?? 'CPU'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}`,
    },
  };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  for (const shots of settings.shots) console.log(`\n${shots}-shot, Δ vs penultimate (points)\n${tuneTable(report, shots)}`);
  console.error(`\nWrote ${relative(ROOT, options.out)} (${report.run.wall_s} s)`);
  return report;
}

const TEACHER_SHORT: Record<string, string> = { resnet56_cifar10: 'R-56', 'mobilenet_v1_0.75_224': 'MobileNet' };
const DATASET_SHORT: Record<string, string> = { 'cifar10-mini': 'CIFAR', 'fashion-mnist-subset': 'Fashion', 'omniglot-small1': 'Omniglot' };

/**
 * Variants × (teacher, data set) at one shot count: Δ vs `penultimate` in points, the defaults'
 * row in bold, then a row with the penultimate's accuracy. `only` picks and orders the variants.
 */
export function tuneTable(report: TuneReport, shots: number, only?: string[]): string {
  const variants = only ? only.map((id) => report.variants.find((v) => v.id === id)!).filter(Boolean) : report.variants.filter((v) => v.shots.includes(shots));
  const configs = report.configs;
  const header = ['variant', ...configs.map((c) => `${TEACHER_SHORT[c.teacher] ?? c.teacher} ${DATASET_SHORT[c.dataset] ?? c.dataset}`)];
  const rows = variants.map((variant) => {
    const bold = (text: string) => (variant.id === 'default' ? `**${text}**` : text);
    return [
      bold(variant.about),
      ...configs.map((c) => {
        const r = c.results.find((x) => x.variant === variant.id && x.shots === shots);
        return r ? bold(signedPoints(r.delta_vs_penultimate)) : '';
      }),
    ];
  });
  rows.push(['*penultimate, accuracy %*', ...configs.map((c) => (100 * (c.penultimate.find((p) => p.shots === shots)?.mean ?? NaN)).toFixed(1))]);
  return markdownTable(header, rows);
}

/** One result of a tuning report, for a sentence in the docs. */
export function tuneResult(report: TuneReport, variant: string, shots: number, teacher: string, dataset: string): VariantResult {
  const r = report.configs.find((c) => c.teacher === teacher && c.dataset === dataset)?.results.find((x) => x.variant === variant && x.shots === shots);
  if (!r) throw new Error(`${report.script}: no ${variant} at ${shots}-shot for ${teacher} on ${dataset}`);
  return r;
}
