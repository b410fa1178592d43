/**
 * `docs/results.md` from the bench runs' JSON alone (no number typed by hand): development and
 * held-out data sets in sections of their own. `bench/results.ts` writes the JSON and calls this;
 * `bench/docs-numbers.ts --check` compares the file with what this makes of the checked-in JSON.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LayerProfilePoint, StrategyResult } from '../src/main/atl/evaluate';
import type { BenchReport } from '../src/main/cli/bench-command';
import { DATASETS, DEVELOPMENT, TEACHERS, type BenchDataset, type BenchTeacher, type DataRole } from './datasets';
import { markdownTable, pct, signedPoints } from './markdown';

const ROOT = resolve(import.meta.dirname, '..');
/** The runs' JSON (checked in) and the page made from it. */
export const RESULTS_JSON = join(ROOT, 'docs/data/results');
export const RESULTS_MARKDOWN = join(ROOT, 'docs/results.md');
/** How docs/results.md says it was made (the same for a run of some data sets only). */
export const RESULTS_COMMAND = 'npx tsx bench/results.ts';

/** What every run of `docs/results.md` is: `atl-studio bench` with these flags, seed 1 (tuning used 1001). */
export const RESULTS_SETTINGS = { ways: 5, shots: [1, 5], queries: 15, episodes: 300, seed: 1 };

/** What a run adds to the bench's own report: enough to write the header from the JSON alone. */
export interface RunInfo {
  engine: string;
  started_at: string;
  finished_at: string;
  wall_s: number;
  classes: number;
  images: number;
  host: { cpu: string; cores: number; memory_gb: number; node: string };
}
export type RunJson = BenchReport & { run: RunInfo };

export const RESULT_CONFIGS = TEACHERS.flatMap((teacher) => DATASETS.map((dataset) => ({ dataset, teacher })));
export const resultsJsonPath = (dir: string, dataset: string, model: string) => join(dir, `${dataset}-${model}.json`);

/** The runs whose JSON is in `dir`, keyed `dataset|model`. */
export function loadRuns(dir: string, configs = RESULT_CONFIGS): Map<string, RunJson> {
  const runs = new Map<string, RunJson>();
  for (const { dataset, teacher } of configs) {
    const path = resultsJsonPath(dir, dataset.id, teacher.id);
    if (existsSync(path)) runs.set(`${dataset.id}|${teacher.id}`, JSON.parse(readFileSync(path, 'utf8')) as RunJson);
  }
  return runs;
}

const ROLE_TITLE: Record<DataRole, string> = {
  development: 'Development data',
  'held-out': 'Held-out data',
};
const ROLE_ABOUT: Record<DataRole, string> = {
  development:
    'Every hyper-parameter of the strategies was chosen on episodes of these data sets (development episodes, seed 1001, `bench/tune-atl.ts`); ' +
    'the episodes below (seed 1) are other draws of the same images, so these numbers are *not* an unbiased estimate: the tuning has seen these images.',
  'held-out': 'These data sets played no part in any choice: no hyper-parameter was tuned on them, and they were first run after the shipped values had been chosen.',
};

const delta = (r: StrategyResult) => `${signedPoints(r.delta_vs_penultimate)} ± ${pct(r.delta_ci95)}`;
const significant = (r: StrategyResult) => r.delta_vs_penultimate - r.delta_ci95 > 0 || r.delta_vs_penultimate + r.delta_ci95 < 0;

function find(report: RunJson, strategy: string, shots: number): StrategyResult | undefined {
  return report.results.find((r) => r.strategy === strategy && r.shots === shots);
}

/** The strategy of a column that is bold: best mean, and its paired Δ's CI excludes 0. */
function winner(results: StrategyResult[], shots: number): StrategyResult | undefined {
  const column = results.filter((r) => r.shots === shots);
  const best = column.reduce((a, b) => (b.mean > a.mean ? b : a));
  return best.strategy !== 'penultimate' && significant(best) ? best : undefined;
}

function configSection(report: RunJson, teacher: BenchTeacher, dataset: BenchDataset): string {
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
    markdownTable(header, rows),
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
    markdownTable(['layer', 'depth', ...poolings.flatMap((pooling) => shots.map((k) => `${pooling} ${k}-shot`))], rows),
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
      ? `${signedPoints(fashion.delta_vs_penultimate)} ± ${pct(fashion.delta_ci95)}` +
        (fashionBest && fashionBest.strategy !== 'atl' ? ` (best there: ${fashionBest.strategy} ${delta(fashionBest)})` : '')
      : 'not run',
    reached: fashion && fashion.delta_vs_penultimate >= 0.15,
  });
  const guarded = [
    ...DEVELOPMENT.map((d) => [d.id, 'mobilenet_v1_0.75_224']),
    ['cifar10-mini', 'resnet56_cifar10'],
  ];
  for (const [dataset, model] of guarded) {
    for (const shots of RESULTS_SETTINGS.shots) {
      const r = get(dataset, model, 'atl', shots);
      const name = TEACHERS.find((t) => t.id === model)?.name ?? model;
      out.push({
        goal: `${name}, ${dataset}, ${shots}-shot: atl never more than 1 point below penultimate`,
        measured: r ? `${delta(r)} (CI down to ${signedPoints(r.delta_vs_penultimate - r.delta_ci95)})` : 'not run',
        reached: r && r.delta_vs_penultimate >= -0.01,
      });
    }
  }
  return out;
}

/** Where `atl` wins and loses on one role's data sets; the issue's goals with the development sets. */
function summary(runs: Map<string, RunJson>, role: DataRole): string {
  const atl: { label: string; r: StrategyResult }[] = [];
  const bests: string[] = [];
  for (const teacher of TEACHERS) {
    for (const dataset of DATASETS.filter((d) => d.role === role)) {
      const report = runs.get(`${dataset.id}|${teacher.id}`);
      if (!report) continue;
      for (const r of report.results.filter((x) => x.strategy === 'atl')) atl.push({ label: `${teacher.name}, ${dataset.id}, ${r.shots}-shot`, r });
      for (const k of RESULTS_SETTINGS.shots) {
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
    `### Where ATL wins and where it loses: ${ROLE_TITLE[role].toLowerCase()}`,
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
    ...(role === 'development' ? ['#### Goals from the issue', '', markdownTable(['goal', 'measured (atl)', ''], goalRows)] : []),
  ].join('\n');
}


/** The whole of `docs/results.md`. `command` is how the runs were made; `jsonDir` where their JSON is, as the text names it. */
export function resultsMarkdown(runs: Map<string, RunJson>, command: string, jsonDir: string, configs = RESULT_CONFIGS): string {
  const all = [...runs.values()];
  const hosts = [...new Set(all.map((r) => `${r.run.host.cores}-core CPU (${r.run.host.cpu}), ${r.run.host.memory_gb} GB, no GPU used, Node ${r.run.host.node}`))];
  const engines = [...new Set(all.map((r) => `\`${r.model}\`: ${r.run.engine || 'not recorded'}`))];
  const started = all.map((r) => r.run.started_at).sort()[0];
  const finished = all.map((r) => r.run.finished_at).sort().at(-1)!;
  const episodes = [...new Set(all.map((r) => r.episodes))].join(', ');
  const missing = configs.filter(({ dataset, teacher }) => !runs.has(`${dataset.id}|${teacher.id}`)).map(({ dataset, teacher }) => `${teacher.id} on ${dataset.id}`);
  const roles: DataRole[] = ['development', 'held-out'];
  const sections = roles.flatMap((role) => {
    const datasets = DATASETS.filter((d) => d.role === role);
    const parts = TEACHERS.flatMap((teacher) =>
      datasets.flatMap((dataset) => {
        const report = runs.get(`${dataset.id}|${teacher.id}`);
        return report ? [configSection(report, teacher, dataset)] : [];
      }),
    );
    if (parts.length === 0) return [];
    const list = datasets.map((d) => `- \`${d.id}\`: ${d.about}${d.independence ? `. Independence: ${d.independence}.` : '.'}`);
    return [`## ${ROLE_TITLE[role]}`, '', ROLE_ABOUT[role], '', ...list, '', ...parts.flatMap((p) => [p, '']), summary(runs, role), ''];
  });
  return [
    '# Measured results',
    '',
    `Generated by \`${command}\` from the JSON it wrote to \`${jsonDir}/\` ` +
      '(`--from-json` regenerates this file from them; `npm run docs:numbers -- --check` fails when it differs); do not edit by hand.',
    '',
    `- Runs: ${started.slice(0, 16).replace('T', ' ')} to ${finished.slice(0, 16).replace('T', ' ')} UTC, ${(all.reduce((s, r) => s + r.run.wall_s, 0) / 60).toFixed(1)} min of runs in all.`,
    `- Machine: ${hosts.join('; ')}. It was shared with other work, so times are indicative.`,
    `- Engines: ${engines.join('; ')}.`,
    `- Every run: \`atl-studio bench --ways ${RESULTS_SETTINGS.ways} --shots ${RESULTS_SETTINGS.shots.join(',')} --queries ${RESULTS_SETTINGS.queries} --episodes ${episodes} ` +
      `--strategies all --seed ${RESULTS_SETTINGS.seed} --profile\`, features from one cache file per dataset.`,
    '- Accuracy is mean query accuracy % ± 95 % CI over episodes; Δ is the paired difference to `penultimate` in points ± 95 % CI. ' +
      'A cell is bold when its strategy has the best mean of its column and its Δ\'s CI excludes 0. `ms/episode` is fit + predict time per episode. ' +
      'Strategies and hyper-parameters, and the data each was chosen on: `docs/atl.md`.',
    ...(missing.length > 0 ? [`- Not run: ${missing.join(', ')} (\`npx tsx bench/datasets.ts\` says which data sets this machine lacks and how to install them).`] : []),
    '',
    ...sections,
  ].join('\n');
}
