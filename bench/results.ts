/**
 * The measured results of `docs/results.md`: runs `atl-studio bench` (5-way, 1 and 5 shots, 15
 * queries, 600 episodes, seed 1, every strategy, per-layer profile) for each teacher on each
 * dataset, writes each run's JSON, and generates the markdown from those JSON files only (no
 * number in it is typed by hand).
 *   npx tsx bench/results.ts              all runs, then docs/results.md
 *   npx tsx bench/results.ts --quick      smoke test: ResNet-56 on cifar10-mini and Fashion-MNIST,
 *                                         30 episodes, into bench-results/results-quick/ (docs/ untouched)
 *   npx tsx bench/results.ts --from-json  regenerate docs/results.md from the existing JSON files
 *   [--work <dir>]                        where JSON, caches and the Fashion-MNIST subset go
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { scanLabeledFolder } from '../src/main/services/dataset';
import type { LayerProfilePoint, StrategyResult } from '../src/main/atl/evaluate';
import { parseStrategyNames } from '../src/main/atl/strategies';
import { runBench, type BenchReport } from '../src/main/cli/bench-command';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared/datasets');
const FASHION_DIR = '/usr/share/datasets/fashion-mnist';
const FASHION_INSTALL = 'apt-get install -y dataset-fashion-mnist';
/** Fashion-MNIST's labels 0–9; folder-safe (the official 'T-shirt/top' would make a nested class). */
const FASHION_CLASSES = ['T-shirt-top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle-boot'];
const FASHION_PER_CLASS = 100;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'from-json': { type: 'boolean', default: false },
    work: { type: 'string', default: join(ROOT, 'bench-results/results') },
  },
});
const WORK = resolve(args.work!);
const QUICK = args.quick!;
/** Quick runs keep their JSON and markdown apart, so a smoke test never overwrites the real results. */
const OUT = QUICK ? resolve(WORK, '../results-quick') : WORK;
const MARKDOWN = QUICK ? join(OUT, 'results.md') : join(ROOT, 'docs/results.md');

const SETTINGS = { ways: 5, shots: [1, 5], queries: 15, episodes: QUICK ? 30 : 600, seed: 1 };

interface Dataset {
  id: string;
  /** What the markdown says about it. */
  about: string;
  /** The folder, or null (with the reason printed) when it cannot be had here. */
  prepare: () => Promise<string | null>;
  /** Caches left by an earlier session: copied once as the starting cache (the original is never written). */
  seedCache?: string;
}

interface Teacher {
  id: string;
  name: string;
  /** The dataset it was trained on, if one of ours: that run is in domain. */
  domain?: string;
}

const DATASETS: Dataset[] = [
  { id: 'cifar10-mini', about: 'CIFAR-10 photos, 32 px', prepare: async () => join(SHARED, 'cifar10-mini'), seedCache: '/tmp/atl/cache-cifar.sqlite' },
  {
    id: 'fashion-mnist-subset',
    about: `Fashion-MNIST test set, first ${FASHION_PER_CLASS} images per class (Debian \`dataset-fashion-mnist\`, MIT), 28 px grayscale`,
    prepare: fashionSubset,
  },
  { id: 'omniglot-small1', about: 'Omniglot characters, 105 px binary strokes', prepare: async () => join(SHARED, 'omniglot-small1'), seedCache: '/tmp/atl/cache-omniglot.sqlite' },
];
const TEACHERS: Teacher[] = [
  { id: 'resnet56_cifar10', name: 'ResNet-56 (CIFAR-10)', domain: 'cifar10-mini' },
  { id: 'mobilenet_v1_0.75_224', name: 'MobileNet v1 0.75 (ImageNet)' },
];
// Quick: the two small sets with one teacher, which still exercises building the Fashion-MNIST subset.
const CONFIGS = QUICK
  ? DATASETS.slice(0, 2).map((dataset) => ({ dataset, teacher: TEACHERS[0] }))
  : TEACHERS.flatMap((teacher) => DATASETS.map((dataset) => ({ dataset, teacher })));

/** What a run adds to the bench's own report: enough to write the header from the JSON alone. */
interface RunInfo {
  engine: string;
  started_at: string;
  finished_at: string;
  wall_s: number;
  classes: number;
  images: number;
  host: { cpu: string; cores: number; memory_gb: number; node: string };
}
type RunJson = BenchReport & { run: RunInfo };

const jsonPath = (dataset: string, model: string) => join(OUT, `${dataset}-${model}.json`);

// ---------------------------------------------------------------- Fashion-MNIST subset

/** Decodes an IDX file (big-endian header: magic with the dimension count, then each dimension). */
function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  const bytes = gunzipSync(readFileSync(path));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(0) !== 0 || bytes[2] !== 0x08) throw new Error(`${path}: not an unsigned-byte IDX file`);
  const dims = Array.from({ length: bytes[3] }, (_, i) => view.getUint32(4 + 4 * i));
  return { dims, data: bytes.subarray(4 + 4 * dims.length) };
}

/** The first images of each class of the t10k set, in file order, as PNGs in a folder per class: the same bytes every time. */
async function fashionSubset(): Promise<string | null> {
  const images = join(FASHION_DIR, 't10k-images-idx3-ubyte.gz');
  const labels = join(FASHION_DIR, 't10k-labels-idx1-ubyte.gz');
  if (!existsSync(images) || !existsSync(labels)) {
    console.error(`Fashion-MNIST is not installed (${images} missing); skipping it. To include it, run (as root):\n  ${FASHION_INSTALL}`);
    return null;
  }
  const { dims, data } = readIdx(images);
  const { data: label } = readIdx(labels);
  const [, height, width] = dims;
  const dir = join(WORK, 'fashion-mnist-subset');
  rmSync(dir, { recursive: true, force: true }); // no stray files from another version of the subset
  const taken = FASHION_CLASSES.map(() => 0);
  for (let i = 0; i < label.length && taken.some((n) => n < FASHION_PER_CLASS); i++) {
    const c = label[i];
    if (taken[c]++ >= FASHION_PER_CLASS) continue;
    mkdirSync(join(dir, FASHION_CLASSES[c]), { recursive: true });
    const pixels = data.subarray(i * height * width, (i + 1) * height * width);
    await sharp(pixels, { raw: { width, height, channels: 1 } })
      .toColourspace('b-w') // keep one channel: sharp would otherwise write RGB
      .png()
      .toFile(join(dir, FASHION_CLASSES[c], `t10k-${String(i).padStart(5, '0')}.png`));
  }
  return dir;
}

// ---------------------------------------------------------------- runs

async function runAll(): Promise<void> {
  mkdirSync(WORK, { recursive: true });
  mkdirSync(OUT, { recursive: true });
  const folders = new Map<string, string | null>();
  for (const { dataset, teacher } of CONFIGS) {
    if (!folders.has(dataset.id)) folders.set(dataset.id, await dataset.prepare());
    const data = folders.get(dataset.id);
    if (!data) continue;
    // One cache per dataset serves every teacher (it is keyed by teacher); reruns only read it.
    const cache = join(WORK, `cache-${dataset.id}.sqlite`);
    if (!existsSync(cache) && dataset.seedCache && existsSync(dataset.seedCache)) {
      console.error(`Starting ${cache} from ${dataset.seedCache}`);
      copyFileSync(dataset.seedCache, cache);
    }
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
    const { images } = scanLabeledFolder(data);
    const run: RunInfo = {
      engine,
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      wall_s: (finished.getTime() - started.getTime()) / 1000,
      classes: new Set(images.map((i) => i.className)).size,
      images: images.length,
      host: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version },
    };
    writeFileSync(jsonPath(dataset.id, teacher.id), `${JSON.stringify({ ...report, run }, null, 2)}\n`);
    console.error(`${teacher.id} on ${dataset.id}: ${run.wall_s.toFixed(0)} s`);
    // After every run, so a long run has partial results to show; a report bug must not lose the runs.
    try {
      writeMarkdown();
    } catch (error) {
      console.error(`Could not write the markdown (rerun with --from-json): ${(error as Error).stack}`);
    }
  }
}

// ---------------------------------------------------------------- markdown

const pct = (v: number) => (100 * v).toFixed(1);
/** Signed points with a real minus sign; a value that rounds to zero is +0.0. */
const signed = (v: number) => {
  const s = (100 * Math.abs(v)).toFixed(1);
  return v < 0 && s !== '0.0' ? `−${s}` : `+${s}`;
};
const delta = (r: StrategyResult) => `${signed(r.delta_vs_penultimate)} ± ${pct(r.delta_ci95)}`;
const significant = (r: StrategyResult) => r.delta_vs_penultimate - r.delta_ci95 > 0 || r.delta_vs_penultimate + r.delta_ci95 < 0;
const table = (header: string[], rows: string[][]) =>
  [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

function find(report: RunJson, strategy: string, shots: number): StrategyResult | undefined {
  return report.results.find((r) => r.strategy === strategy && r.shots === shots);
}

/** The strategy of a column that is bold: best mean, and its paired Δ's CI excludes 0. */
function winner(results: StrategyResult[], shots: number): StrategyResult | undefined {
  const column = results.filter((r) => r.shots === shots);
  const best = column.reduce((a, b) => (b.mean > a.mean ? b : a));
  return best.strategy !== 'penultimate' && significant(best) ? best : undefined;
}

function configSection(report: RunJson, teacher: Teacher, dataset: Dataset): string {
  const shots = [...new Set(report.results.map((r) => r.shots))].sort((a, b) => a - b);
  const strategies = [...new Set(report.results.map((r) => r.strategy))];
  const winners = shots.map((k) => winner(report.results, k));
  const rows = strategies.map((s) => [
    s,
    ...shots.flatMap((k, i) => {
      const r = find(report, s, k);
      if (!r) return ['', ''];
      const bold = (text: string) => (winners[i] === r ? `**${text}**` : text);
      return [bold(`${pct(r.mean)} ± ${pct(r.ci95)}`), s === 'penultimate' ? '' : bold(delta(r))];
    }),
    ...shots.map((k) => {
      const r = find(report, s, k);
      return r ? (1000 * r.fit_s).toFixed(1) : '';
    }),
  ]);
  const header = ['strategy', ...shots.flatMap((k) => [`${k}-shot %`, 'Δ vs penultimate']), ...shots.map((k) => `ms/episode ${k}-shot`)];
  const domain = teacher.domain === dataset.id ? "in domain (the teacher's training set)" : "not the teacher's training set";
  const lines = [
    `### ${teacher.name} on ${dataset.id}`,
    '',
    `${dataset.about}; ${report.run.classes} classes, ${report.run.images} images; ${domain}. ` +
      `${report.ways}-way, ${report.queries} queries, ${report.episodes} episodes per shot count, seed ${report.seed}.` +
      (report.skipped_classes.length > 0 ? ` ${report.skipped_classes.length} classes had too few images for some shot counts and were left out of them.` : ''),
    '',
    table(header, rows),
    '',
    `Time: features ${report.timings.extract_s.toFixed(1)} s (cache read and any extraction), strategies ${report.timings.fit_s.toFixed(1)} s ` +
      `(all episodes, all strategies), whole run ${report.run.wall_s.toFixed(0)} s (with the layer profile). Engine: ${report.run.engine || 'not recorded'}.`,
  ];
  const atl5 = find(report, 'atl', Math.max(...shots));
  if (atl5) {
    const top = Object.entries(atl5.layers_chosen).slice(0, 3);
    lines.push('', `ATL's most chosen candidates at ${atl5.shots}-shot (fraction of episodes): ${top.map(([key, f]) => `\`${key}\` ${pct(f)} %`).join(', ')}.`);
  }
  if (report.layer_profile.length > 0) lines.push('', profileTable(report, shots));
  return lines.join('\n');
}

/** Each candidate alone (nearest class mean): one row per layer in depth order, a column per pooling × shots. */
function profileTable(report: RunJson, shots: number[]): string {
  const points = report.layer_profile;
  const penultimate = Object.keys(find(report, 'penultimate', shots[0])?.layers_chosen ?? {})[0];
  const poolings = [...new Set(points.map((p) => p.pooling))].sort();
  const layers = [...new Map(points.map((p) => [p.layer, p.depth])).entries()].sort((a, b) => a[1] - b[1] || a[0].localeCompare(b[0]));
  const at = (layer: string, pooling: string, k: number) => points.find((p) => p.layer === layer && p.pooling === pooling && p.shots === k);
  const best = new Map<string, LayerProfilePoint>();
  for (const pooling of poolings) {
    for (const k of shots) {
      const column = points.filter((p) => p.pooling === pooling && p.shots === k);
      if (column.length > 0) best.set(`${pooling}/${k}`, column.reduce((a, b) => (b.mean > a.mean ? b : a)));
    }
  }
  const rows = layers.map(([layer, depth]) => [
    penultimate?.startsWith(`${layer}:`) ? `${layer} (penultimate)` : layer,
    String(depth),
    ...poolings.flatMap((pooling) =>
      shots.map((k) => {
        const p = at(layer, pooling, k);
        if (!p) return '–';
        return best.get(`${pooling}/${k}`) === p ? `**${pct(p.mean)}**` : pct(p.mean);
      }),
    ),
  ]);
  const widest = Math.max(...points.map((p) => p.ci95));
  return [
    `<details><summary>Per-layer profile: each candidate alone, nearest class mean, accuracy % (best per column in bold; 95 % CIs ≤ ${pct(widest)} points; – : candidate not compared)</summary>`,
    '',
    table(['layer', 'depth', ...poolings.flatMap((pooling) => shots.map((k) => `${pooling} ${k}-shot`))], rows),
    '',
    '</details>',
  ].join('\n');
}

interface Goal {
  goal: string;
  measured: string;
  reached: boolean | undefined;
}

/** The issue's goals, checked against the JSON; a missing run leaves its goal unknown. */
function goals(runs: Map<string, RunJson>): Goal[] {
  const get = (dataset: string, model: string, strategy: string, shots: number) => {
    const report = runs.get(`${dataset}|${model}`);
    return report && find(report, strategy, shots);
  };
  const out: Goal[] = [];
  const omni = get('omniglot-small1', 'resnet56_cifar10', 'atl', 5);
  // Two goals in one sentence of the issue: each is checked on its own.
  out.push({
    goal: 'ResNet-56, omniglot-small1, 5-shot: atl ≥ 95 %',
    measured: omni ? `${pct(omni.mean)} %` : 'not run',
    reached: omni && omni.mean >= 0.95,
  });
  out.push({
    goal: 'ResNet-56, omniglot-small1, 5-shot: atl ≥ +12 points over penultimate',
    measured: omni ? delta(omni) : 'not run',
    reached: omni && omni.delta_vs_penultimate >= 0.12,
  });
  const fashion = get('fashion-mnist-subset', 'resnet56_cifar10', 'atl', 1);
  const fashionRun = runs.get('fashion-mnist-subset|resnet56_cifar10');
  const fashionBest = fashionRun && winner(fashionRun.results, 1);
  out.push({
    goal: 'ResNet-56, fashion-mnist-subset, 1-shot: atl ≥ +15 points over penultimate',
    measured: fashion
      ? `${signed(fashion.delta_vs_penultimate)} ± ${pct(fashion.delta_ci95)}` +
        (fashionBest && fashionBest.strategy !== 'atl' ? ` (best there: ${fashionBest.strategy} ${delta(fashionBest)})` : '')
      : 'not run',
    reached: fashion && fashion.delta_vs_penultimate >= 0.15,
  });
  const guarded = [
    ...DATASETS.map((d) => [d.id, 'mobilenet_v1_0.75_224']),
    ['cifar10-mini', 'resnet56_cifar10'],
  ];
  for (const [dataset, model] of guarded) {
    for (const shots of SETTINGS.shots) {
      const r = get(dataset, model, 'atl', shots);
      const name = TEACHERS.find((t) => t.id === model)?.name ?? model;
      out.push({
        goal: `${name}, ${dataset}, ${shots}-shot: atl never more than 1 point below penultimate`,
        measured: r ? `${delta(r)} (CI down to ${signed(r.delta_vs_penultimate - r.delta_ci95)})` : 'not run',
        reached: r && r.delta_vs_penultimate >= -0.01,
      });
    }
  }
  return out;
}

function summary(runs: Map<string, RunJson>): string {
  const atl: { label: string; r: StrategyResult }[] = [];
  const bests: string[] = [];
  for (const teacher of TEACHERS) {
    for (const dataset of DATASETS) {
      const report = runs.get(`${dataset.id}|${teacher.id}`);
      if (!report) continue;
      for (const r of report.results.filter((x) => x.strategy === 'atl')) atl.push({ label: `${teacher.name}, ${dataset.id}, ${r.shots}-shot`, r });
      for (const k of SETTINGS.shots) {
        const w = winner(report.results, k);
        const a = find(report, 'atl', k);
        bests.push(
          `- ${teacher.name}, ${dataset.id}, ${k}-shot: ` +
            (w ? `**${w.strategy}** ${pct(w.mean)} % (${delta(w)})` : 'no strategy beats penultimate significantly') +
            (a && w?.strategy !== 'atl' ? `; atl ${pct(a.mean)} % (${delta(a)})` : ''),
        );
      }
    }
  }
  const list = (items: { label: string; r: StrategyResult }[]) =>
    items.length === 0 ? ['- none'] : items.map(({ label, r }) => `- ${label}: ${pct(r.mean)} %, Δ ${delta(r)}`);
  const wins = atl.filter(({ r }) => r.delta_vs_penultimate - r.delta_ci95 > 0);
  const losses = atl.filter(({ r }) => r.delta_vs_penultimate + r.delta_ci95 < 0);
  const ties = atl.filter(({ r }) => !significant(r));
  const goalRows = goals(runs).map((g) => [g.goal, g.measured, g.reached === undefined ? 'not run' : g.reached ? 'reached' : '**missed**']);
  return [
    '## Where ATL wins and where it loses',
    '',
    'Generated from the runs above. Δ is `atl` − `penultimate`, paired over the same episodes, points ± 95 % CI.',
    '',
    `**ATL significantly better than penultimate** (Δ's CI entirely above 0), ${wins.length} of ${atl.length}:`,
    '',
    ...list(wins),
    '',
    `**ATL significantly worse than penultimate** (Δ's CI entirely below 0), ${losses.length} of ${atl.length}:`,
    '',
    ...list(losses),
    '',
    `**No significant difference** (Δ's CI contains 0; exactly 0 where ATL kept the penultimate in every episode), ${ties.length} of ${atl.length}:`,
    '',
    ...list(ties),
    '',
    '**Best strategy per configuration** (bold in the tables: best mean with a paired Δ whose CI excludes 0):',
    '',
    ...bests,
    '',
    '### Goals from the issue',
    '',
    table(['goal', 'measured (atl)', ''], goalRows),
  ].join('\n');
}

function writeMarkdown(): void {
  const runs = new Map<string, RunJson>();
  for (const { dataset, teacher } of CONFIGS) {
    const path = jsonPath(dataset.id, teacher.id);
    if (existsSync(path)) runs.set(`${dataset.id}|${teacher.id}`, JSON.parse(readFileSync(path, 'utf8')) as RunJson);
  }
  const all = [...runs.values()];
  if (all.length === 0) {
    console.error(`No results in ${OUT}: run without --from-json first.`);
    process.exitCode = 1;
    return;
  }
  const hosts = [...new Set(all.map((r) => `${r.run.host.cores}-core CPU (${r.run.host.cpu}), ${r.run.host.memory_gb} GB, no GPU used, Node ${r.run.host.node}`))];
  const engines = [...new Set(all.map((r) => `\`${r.model}\`: ${r.run.engine || 'not recorded'}`))];
  const started = all.map((r) => r.run.started_at).sort()[0];
  const finished = all.map((r) => r.run.finished_at).sort().at(-1)!;
  const missing = CONFIGS.filter(({ dataset, teacher }) => !runs.has(`${dataset.id}|${teacher.id}`)).map(({ dataset, teacher }) => `${teacher.id} on ${dataset.id}`);
  const sections = TEACHERS.flatMap((teacher) => {
    const parts = DATASETS.flatMap((dataset) => {
      const report = runs.get(`${dataset.id}|${teacher.id}`);
      return report ? [configSection(report, teacher, dataset)] : [];
    });
    return parts.length > 0 ? [`## ${teacher.name}: \`${teacher.id}\``, ...parts] : [];
  });
  const text = [
    '# Measured results',
    '',
    `Generated by \`npx tsx bench/results.ts${QUICK ? ' --quick' : ''}\` from the JSON it wrote to \`${OUT.replace(`${ROOT}/`, '')}/\` ` +
      '(`--from-json` regenerates this file from them); do not edit by hand.',
    '',
    `- Runs: ${started.slice(0, 16).replace('T', ' ')} to ${finished.slice(0, 16).replace('T', ' ')} UTC, ${(all.reduce((s, r) => s + r.run.wall_s, 0) / 60).toFixed(1)} min of runs in all.`,
    `- Machine: ${hosts.join('; ')}. It was shared with other work, so times are indicative.`,
    `- Engines: ${engines.join('; ')}.`,
    `- Every run: \`atl-studio bench --ways ${SETTINGS.ways} --shots ${SETTINGS.shots.join(',')} --queries ${SETTINGS.queries} --episodes ${SETTINGS.episodes} ` +
      `--strategies all --seed ${SETTINGS.seed} --profile\`, features from one cache file per dataset.`,
    '- Accuracy is mean query accuracy % ± 95 % CI over episodes; Δ is the paired difference to `penultimate` in points ± 95 % CI. ' +
      'A cell is bold when its strategy has the best mean of its column and its Δ\'s CI excludes 0. `ms/episode` is fit + predict time per episode. ' +
      'Strategies and hyper-parameters: `docs/atl.md`.',
    ...(missing.length > 0 ? [`- Not run: ${missing.join(', ')}${missing.some((m) => m.includes('fashion')) ? ` (Fashion-MNIST needs \`${FASHION_INSTALL}\`)` : ''}.`] : []),
    '',
    ...sections.flatMap((s) => [s, '']),
    summary(runs),
    '',
  ].join('\n');
  mkdirSync(resolve(MARKDOWN, '..'), { recursive: true });
  writeFileSync(MARKDOWN, text);
  console.error(`Wrote ${MARKDOWN}`);
}

if (args['from-json']) writeMarkdown();
else {
  const started = performance.now();
  await runAll();
  console.error(`All runs done in ${((performance.now() - started) / 60000).toFixed(1)} min`);
}
