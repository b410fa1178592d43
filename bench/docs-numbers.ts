/**
 * Every number in docs/ from the checked-in JSON of the scripts that measured it, never typed by hand.
 *   npm run docs:numbers              fill the generated regions of docs/*.md and rewrite docs/results.md
 *   npm run docs:numbers -- --check   change nothing; exit 1 naming each region or file that differs
 *
 * A region is `<!-- generated:NAME ARG… -->…<!-- /generated -->`, inline (a number in a sentence)
 * or a block (the opening comment ends its line): NAME is one of `RENDERERS` below, its data
 * `docs/data/tune-atl.json` (`bench/tune-atl.ts`) or `docs/data/results/*.json` (`bench/results.ts`).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { guardThreshold } from '../src/main/atl/strategies/atl';
import { TEACHERS, DATASETS } from './datasets';
import { markdownTable, pct, signedPoints } from './markdown';
import { loadRuns, RESULTS_COMMAND, RESULTS_JSON, resultsMarkdown, type RunJson } from './results-markdown';
import { tuneResult, tuneTable, type TuneReport } from './tuning';

const ROOT = resolve(import.meta.dirname, '..');
export const DOCS = join(ROOT, 'docs');

export interface DocsData {
  /** Each tuning run by its strategy: `docs/data/tune-STRATEGY.json`. */
  tune: Record<string, TuneReport>;
  runs: Map<string, RunJson>;
}

export function loadDocsData(docs = DOCS): DocsData {
  const tune: Record<string, TuneReport> = {};
  for (const name of readdirSync(join(docs, 'data')).filter((f) => /^tune-.+\.json$/.test(f))) {
    const report = JSON.parse(readFileSync(join(docs, 'data', name), 'utf8')) as TuneReport;
    tune[report.strategy] = report;
  }
  return { tune, runs: loadRuns(join(docs, 'data/results')) };
}

function tuning(data: DocsData, strategy: string): TuneReport {
  const report = data.tune[strategy];
  if (!report) throw new Error(`no docs/data/tune-${strategy}.json`);
  return report;
}

type Renderer = (data: DocsData, args: string[]) => string;

function run(data: DocsData, teacher: string, dataset: string): RunJson {
  const report = data.runs.get(`${dataset}|${teacher}`);
  if (!report) throw new Error(`no docs/data/results JSON for ${teacher} on ${dataset}`);
  return report;
}

function result(data: DocsData, strategy: string, shots: string, teacher: string, dataset: string) {
  const r = run(data, teacher, dataset).results.find((x) => x.strategy === strategy && x.shots === Number(shots));
  if (!r) throw new Error(`no ${strategy} at ${shots}-shot for ${teacher} on ${dataset}`);
  return r;
}

/** The generated regions' names: each turns its arguments and the JSON into markdown. */
export const RENDERERS: Record<string, Renderer> = {
  /** `tune-table STRATEGY SHOTS [VARIANT…]`: a tuning grid's Δ vs penultimate, all variants of that shot count or those named. */
  'tune-table': (data, [strategy, shots, ...variants]) => tuneTable(tuning(data, strategy), Number(shots), variants.length > 0 ? variants : undefined),
  /** `tune-delta STRATEGY VARIANT SHOTS TEACHER DATASET`: one variant's Δ vs penultimate, points. */
  'tune-delta': (data, [strategy, variant, shots, teacher, dataset]) =>
    signedPoints(tuneResult(tuning(data, strategy), variant, Number(shots), teacher, dataset).delta_vs_penultimate),
  /** `tune-fallback STRATEGY VARIANT SHOTS TEACHER DATASET FALLBACK`: in how many of the episodes the variant took that fallback. */
  'tune-fallback': (data, [strategy, variant, shots, teacher, dataset, fallback]) => {
    const report = tuning(data, strategy);
    const share = tuneResult(report, variant, Number(shots), teacher, dataset).fallbacks[fallback] ?? 0;
    return `${Math.round(share * report.settings.episodes)} of ${report.settings.episodes}`;
  },
  /** `tune-settings STRATEGY`: how a tuning ran. */
  'tune-settings': (data, [strategy]) => {
    const report = tuning(data, strategy);
    const s = report.settings;
    return (
      `\`${report.script}\`: ${s.ways}-way, ${s.queries} queries, ${s.episodes} development episodes per shot count (seed ${s.seed}), ` +
      `teachers ${[...new Set(report.configs.map((c) => c.teacher))].join(' and ')}, run ${report.run.started_at.slice(0, 10)} (${Math.round(report.run.wall_s / 60)} min, ${report.run.host})`
    );
  },
  /** `guard-threshold LEVEL CANDIDATES EXAMPLES`: the t statistic atl's guard needs (computed by the studio's own function). */
  'guard-threshold': (_, [level, candidates, examples]) => guardThreshold(Number(level), Number(candidates), Number(examples)).toFixed(2),
  /** `results-delta STRATEGY SHOTS TEACHER DATASET`: Δ vs penultimate ± 95 % CI in docs/results.md's runs. */
  'results-delta': (data, [strategy, shots, teacher, dataset]) => {
    const r = result(data, strategy, shots, teacher, dataset);
    return `${signedPoints(r.delta_vs_penultimate)} ± ${pct(r.delta_ci95)}`;
  },
  /** `results-mean STRATEGY SHOTS TEACHER DATASET`: accuracy % ± 95 % CI. */
  'results-mean': (data, [strategy, shots, teacher, dataset]) => {
    const r = result(data, strategy, shots, teacher, dataset);
    return `${pct(r.mean)} ± ${pct(r.ci95)}`;
  },
  /** `results-atl`: `atl` against `penultimate` on every data set and teacher, development and held-out apart. */
  'results-atl': (data) => {
    const rows = DATASETS.flatMap((dataset) =>
      TEACHERS.flatMap((teacher) => {
        const report = data.runs.get(`${dataset.id}|${teacher.id}`);
        if (!report) return [];
        const cell = (shots: number) => {
          const p = report.results.find((r) => r.strategy === 'penultimate' && r.shots === shots)!;
          const a = report.results.find((r) => r.strategy === 'atl' && r.shots === shots)!;
          return [pct(p.mean), `${pct(a.mean)} (${signedPoints(a.delta_vs_penultimate)} ± ${pct(a.delta_ci95)})`];
        };
        return [[dataset.role, `\`${dataset.id}\``, teacher.name, ...cell(1), ...cell(5)]];
      }),
    );
    return markdownTable(['data', 'data set', 'teacher', 'penultimate 1-shot %', 'atl 1-shot % (Δ)', 'penultimate 5-shot %', 'atl 5-shot % (Δ)'], rows);
  },
};

const REGION = /<!-- generated:(\S+)((?:[ \t]+[^\s>]+)*)[ \t]*-->([\s\S]*?)<!-- \/generated -->/g;

/** `text` with every generated region filled from `data`; an unknown name or missing data throws, naming the region. */
export function fillRegions(text: string, data: DocsData, renderers: Record<string, Renderer> = RENDERERS): { text: string; regions: string[] } {
  const regions: string[] = [];
  const filled = text.replace(REGION, (_, name: string, argText: string, content: string) => {
    const args = argText.trim().split(/\s+/).filter(Boolean);
    const label = [name, ...args].join(' ');
    regions.push(label);
    const render = renderers[name];
    if (!render) throw new Error(`unknown generated region "${name}" (known: ${Object.keys(renderers).join(', ')})`);
    let value: string;
    try {
      value = render(data, args);
    } catch (error) {
      throw new Error(`generated:${label}: ${(error as Error).message}`);
    }
    const block = content.startsWith('\n');
    return `<!-- generated:${label} -->${block ? `\n${value}\n` : value}<!-- /generated -->`;
  });
  return { text: filled, regions };
}

export interface Drift {
  file: string;
  /** The regions whose text differs (for docs/results.md: the whole file). */
  regions: string[];
  expected: string;
}

/** What would change in docs/: the files whose generated text differs from what the JSON gives. */
export function docsDrift(docs = DOCS, data = loadDocsData(docs)): Drift[] {
  const drift: Drift[] = [];
  for (const name of readdirSync(docs).filter((f) => f.endsWith('.md') && f !== 'results.md')) {
    const path = join(docs, name);
    const actual = readFileSync(path, 'utf8');
    const { text: expected } = fillRegions(actual, data);
    if (expected === actual) continue;
    const before = [...actual.matchAll(REGION)];
    const after = [...expected.matchAll(REGION)];
    drift.push({ file: path, regions: after.filter((m, i) => m[0] !== before[i]?.[0]).map((m) => `${m[1]}${m[2]}`), expected });
  }
  const results = join(docs, 'results.md');
  if (data.runs.size > 0) {
    const expected = resultsMarkdown(data.runs, RESULTS_COMMAND, relative(ROOT, RESULTS_JSON));
    if (!existsSync(results) || readFileSync(results, 'utf8') !== expected) drift.push({ file: results, regions: ['the whole file'], expected });
  }
  return drift;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
  const drift = docsDrift();
  for (const d of drift) {
    if (values.check) console.error(`${relative(ROOT, d.file)} differs from docs/data in: ${d.regions.join('; ')}`);
    else {
      writeFileSync(d.file, d.expected);
      console.error(`Wrote ${relative(ROOT, d.file)} (${d.regions.join('; ')})`);
    }
  }
  if (values.check && drift.length > 0) {
    console.error('Run `npm run docs:numbers` to regenerate them from the JSON.');
    process.exitCode = 1;
  } else if (drift.length === 0) console.error('docs/ matches docs/data.');
}
