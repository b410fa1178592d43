/**
 * `atl-studio bench`: its flags and its table. The bench itself (features, episodes, strategies)
 * is the use-case in app/bench.ts.
 */
import { Option, type Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { runBench, type BenchOptions, type BenchReport } from '../app/bench';
import { parseStrategySpecs } from '../atl/strategies';
import { checkedFlag, integerFlag, integerListFlag, teacherIds } from './flags';

// bench/results.ts and tests import these from here too.
export { runBench, type BenchReport };

export function registerBenchCommand(program: Command): Command {
  return program
    .command('bench')
    .description('compare few-shot strategies (penultimate, ATL, Head2Toe, …) on a folder of images labeled by their folders')
    .requiredOption('--data <folder>', 'images in one folder per class (as import --labels-from-folders)')
    .requiredOption('--model <ids>', 'teacher id, or several comma-separated: the same episodes for each, Δ against the first, and atl-teachers once across all of them (teacher *; with one teacher it is atl) (see `atl-studio models`)', teacherIds)
    .option('--ways <n>', 'classes per episode', integerFlag('--ways', 2, 1000), 5)
    .option('--shots <list>', 'labeled examples per class, comma-separated', integerListFlag('--shots', 1, 1000), [1, 5])
    .option('--queries <n>', 'test images per class per episode', integerFlag('--queries', 1, 1000), 15)
    .option('--episodes <n>', 'episodes per shot count (the same for every strategy)', integerFlag('--episodes', 1, 100_000), 300)
    .addOption(
      new Option('--strategies <list>', `'all' or a comma-separated list; each a name or configured, as atl(maxSize=2)`)
        .argParser(checkedFlag(parseStrategySpecs))
        .default(parseStrategySpecs('all'), 'all'),
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

/** The results, grouped by teacher when there are several (a first column names it). */
export function formatBenchTable(report: BenchReport): string {
  const percent = (v: number) => (100 * v).toFixed(1);
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${(100 * v).toFixed(1)}`;
  const baseline = report.teachers?.[0];
  const header = ['strategy', 'shots', 'accuracy %', 'Δ vs penultimate', 'fit ms/ep', 'chosen (fraction of episodes; head2toe: share of features)'];
  const rows = report.results.map((r) => [
    r.strategy,
    String(r.shots),
    `${percent(r.mean)} ± ${percent(r.ci95)}`,
    r.strategy === 'penultimate' && r.teacher === baseline ? '' : `${signed(r.delta_vs_penultimate)} ± ${percent(r.delta_ci95)}`,
    (1000 * r.fit_s).toFixed(1),
    Object.entries(r.layers_chosen)
      .slice(0, 3)
      .map(([key, f]) => `${key} ${f.toFixed(2)}`)
      .join(', ') + (Object.keys(r.layers_chosen).length > 3 ? ', …' : ''),
  ]);
  if (baseline) {
    header.unshift('teacher');
    rows.forEach((row, i) => row.unshift(report.results[i].teacher ?? ''));
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [
    `${report.model} on ${report.data}: ${report.ways}-way, ${report.queries} queries, ${report.episodes} episodes, seed ${report.seed}`,
    ...(baseline ? [`Δ: against ${baseline} penultimate on the same episodes`] : []),
    line(header),
    ...rows.map(line),
    `features ${report.timings.extract_s.toFixed(1)} s, strategies ${report.timings.fit_s.toFixed(1)} s`,
  ].join('\n');
}

