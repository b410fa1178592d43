/**
 * The measured results of `docs/results.md`: runs `atl-studio bench` (5-way, 1 and 5 shots, 15
 * queries, 300 episodes, seed 1, every strategy, per-layer profile) for each teacher on each
 * development and held-out data set (`bench/datasets.ts`), writes each run's JSON to
 * `docs/data/results/` (checked in), and generates the markdown from those JSON files only
 * (`bench/results-markdown.ts`: no number in it is typed by hand).
 *   npx tsx bench/results.ts              all runs, then docs/results.md
 *   npx tsx bench/results.ts --only held-out   only the held-out data sets' runs (the others' JSON is kept)
 *   npx tsx bench/results.ts --quick      smoke test: ResNet-56 on cifar10-mini and Fashion-MNIST,
 *                                         30 episodes, into bench-results/results-quick/ (docs/ untouched)
 *   npx tsx bench/results.ts --from-json  regenerate docs/results.md from the existing JSON files
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { scanLabeledFolder } from '../src/main/services/dataset';
import { parseStrategyNames } from '../src/main/atl/strategies';
import { runBench } from '../src/main/cli/bench-command';
import { DATA_CACHE, DATASETS, featureCachePath, TEACHERS } from './datasets';
import {
  loadRuns,
  RESULT_CONFIGS,
  RESULTS_COMMAND,
  RESULTS_JSON,
  RESULTS_MARKDOWN,
  RESULTS_SETTINGS,
  resultsJsonPath,
  resultsMarkdown,
  type RunInfo,
} from './results-markdown';

const ROOT = resolve(import.meta.dirname, '..');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'from-json': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const QUICK = args.quick!;
/** Quick runs keep their JSON and markdown apart, so a smoke test never overwrites the real results. */
const OUT = QUICK ? join(ROOT, 'bench-results/results-quick') : RESULTS_JSON;
const MARKDOWN = QUICK ? join(OUT, 'results.md') : RESULTS_MARKDOWN;
const SETTINGS = { ...RESULTS_SETTINGS, episodes: QUICK ? 30 : RESULTS_SETTINGS.episodes };

// Quick: the two small sets with one teacher, which still exercises building the Fashion-MNIST subset.
const CONFIGS = QUICK
  ? DATASETS.slice(0, 2).map((dataset) => ({ dataset, teacher: TEACHERS[0] }))
  : RESULT_CONFIGS.filter(({ dataset }) => !args.only || dataset.role === args.only);

async function runAll(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  mkdirSync(DATA_CACHE, { recursive: true });
  const folders = new Map<string, string | null>();
  for (const { dataset, teacher } of CONFIGS) {
    if (!folders.has(dataset.id)) folders.set(dataset.id, await dataset.prepare());
    const data = folders.get(dataset.id);
    if (!data) continue;
    // One cache per dataset serves every teacher (it is keyed by teacher) and every bench script; reruns only read it.
    const cache = featureCachePath(dataset.id);
    console.error(`\n== ${teacher.id} on ${dataset.id} (${SETTINGS.episodes} episodes)`);
    const started = new Date();
    let engine = '';
    const report = await runBench(
      { data, model: teacher.id, ...SETTINGS, strategies: parseStrategyNames('all'), cache, profile: true },
      (line) => {
        engine ||= /^Teacher \S+ on (.+); cache /.exec(line)?.[1] ?? '';
        process.stderr.write(line);
      },
      (text) => process.stderr.isTTY && process.stderr.write(text),
    );
    const finished = new Date();
    const { images } = await scanLabeledFolder(data);
    const run: RunInfo = {
      engine,
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      wall_s: (finished.getTime() - started.getTime()) / 1000,
      classes: new Set(images.map((i) => i.className)).size,
      images: images.length,
      host: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version },
    };
    writeFileSync(resultsJsonPath(OUT, dataset.id, teacher.id), `${JSON.stringify({ ...report, run }, null, 2)}\n`);
    console.error(`${teacher.id} on ${dataset.id}: ${run.wall_s.toFixed(0)} s`);
    // After every run, so a long run has partial results to show; a report bug must not lose the runs.
    try {
      writeMarkdown();
    } catch (error) {
      console.error(`Could not write the markdown (rerun with --from-json): ${(error as Error).stack}`);
    }
  }
}

function writeMarkdown(): void {
  const runs = loadRuns(OUT, QUICK ? CONFIGS : RESULT_CONFIGS);
  if (runs.size === 0) {
    console.error(`No results in ${OUT}: run without --from-json first.`);
    process.exitCode = 1;
    return;
  }
  writeFileSync(MARKDOWN, `${resultsMarkdown(runs, `${RESULTS_COMMAND}${QUICK ? ' --quick' : ''}`, relative(ROOT, OUT), QUICK ? CONFIGS : RESULT_CONFIGS)}`);
  console.error(`Wrote ${MARKDOWN}`);
}

if (args['from-json']) writeMarkdown();
else {
  const started = performance.now();
  await runAll();
  console.error(`All runs done in ${((performance.now() - started) / 60000).toFixed(1)} min`);
}
