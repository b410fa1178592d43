/**
 * `atl-studio bench` through the comparison pipeline (app/bench.ts on atl/comparison.ts), on real
 * images and real teachers: one teacher gives the numbers of the bench's own loop from before
 * (same episodes, same classes left out), several teachers see the same episodes and are compared
 * with the first one's penultimate, `atl-teachers` runs once across several teachers (and is
 * `atl` with one), and bad `--model` values stop before any work.
 */
import { Command } from 'commander';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACROSS_TEACHERS, runBench, type BenchReport } from '../../src/main/app/bench';
import type { StrategyName } from '../../src/shared/contract';
import { createTeacherService } from '../../src/main/app/composition-root';
import { mixSeed, sampleEpisodes } from '../../src/main/atl/episodes';
import { layerProfile, runEpisodes, summarize } from '../../src/main/atl/evaluate';
import { formatBenchTable, registerBenchCommand } from '../../src/main/cli/bench-command';
import { candidatePlan, loadCandidateFeatures } from '../../src/main/features/candidate-features';
import { FeatureCache } from '../../src/main/features/feature-cache';
import { scanLabeledFolder } from '../../src/main/services/dataset';
import { CIFAR10_MINI, REPO, tempDir } from '../helpers/fixtures';

const MOBILENET = 'mobilenet_v1_0.75_224';
const RESNET20 = 'resnet20_cifar10';
const SETTINGS = { ways: 5, shots: [1, 5], queries: 10, episodes: 10, seed: 7, strategies: ['penultimate', 'atl', 'ncm'] };

let dir: ReturnType<typeof tempDir>;
let data: string;
let cache: string;
let home: string | undefined;
beforeAll(() => {
  dir = tempDir();
  home = process.env.ATL_STUDIO_HOME;
  process.env.ATL_STUDIO_HOME = join(dir.path, 'home');
  // Five CIFAR-10 classes of 20 images, and a sixth of 12: enough for 1-shot (1 + 10 queries), not for 5-shot.
  data = join(dir.path, 'data');
  cache = join(dir.path, 'features.sqlite');
  for (const [name, count] of [['airplane', 20], ['automobile', 20], ['bird', 20], ['cat', 20], ['deer', 20], ['dog', 12]] as const) {
    mkdirSync(join(data, name), { recursive: true });
    for (const file of readdirSync(join(CIFAR10_MINI, name)).sort().slice(0, count)) copyFileSync(join(CIFAR10_MINI, name, file), join(data, name, file));
  }
});
afterAll(() => {
  if (home === undefined) delete process.env.ATL_STUDIO_HOME;
  else process.env.ATL_STUDIO_HOME = home;
  dir.remove();
});

async function bench(model: string, out: string): Promise<BenchReport> {
  const program = new Command().exitOverride();
  registerBenchCommand(program);
  const { ways, shots, queries, episodes, seed, strategies } = SETTINGS;
  await program.parseAsync(
    ['bench', '--data', data, '--model', model, '--ways', String(ways), '--shots', shots.join(','), '--queries', String(queries)]
      .concat(['--episodes', String(episodes), '--seed', String(seed), '--strategies', strategies.join(','), '--profile', '--json', out, '--cache', cache]),
    { from: 'user' },
  );
  return JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
}

/** The bench's own loop before it ran through atl/comparison.ts (commit d15b501), on the features the bench cached. */
async function benchLoopBefore(model: string) {
  const byClass = new Map<string, string[]>();
  for (const image of (await scanLabeledFolder(data)).images) byClass.set(image.className, [...(byClass.get(image.className) ?? []), image.path]);
  const classes = [...byClass.keys()].filter((c) => byClass.get(c)!.length >= Math.min(...SETTINGS.shots) + SETTINGS.queries);
  const paths = classes.flatMap((c) => byClass.get(c)!.map((path) => ({ path, className: c })));
  const teachers = createTeacherService();
  const featureCache = FeatureCache.openFile(cache);
  try {
    const teacher = await teachers.get(model);
    const loaded = await loadCandidateFeatures({
      extractor: teacher.extractor,
      teacherKey: teacher.key,
      plan: candidatePlan(await teachers.resolveLayers(model, 'all'), teacher.extractor.layers),
      cache: featureCache,
      images: paths.map(({ path }) => ({ path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') })),
    });
    expect(loaded.extracted).toBe(0); // the bench's run cached them all
    const itemClasses = loaded.rows.map((i) => paths[i].className);
    const results = [];
    const profile = [];
    for (const shots of SETTINGS.shots) {
      const eligible = classes.filter((c) => byClass.get(c)!.length >= shots + SETTINGS.queries);
      const itemsByClass = eligible.map((c) => itemClasses.flatMap((name, item) => (name === c ? [item] : [])));
      const episodes = sampleEpisodes(itemsByClass, { ways: SETTINGS.ways, shots, queries: SETTINGS.queries }, SETTINGS.episodes, mixSeed(SETTINGS.seed, shots));
      results.push(...summarize(runEpisodes(loaded.features, episodes, SETTINGS.strategies as never), shots));
      profile.push(...(await layerProfile(loaded.features, episodes, shots)));
    }
    return { results, profile, candidates: loaded.features.keys };
  } finally {
    featureCache.close();
    await teachers.dispose();
  }
}

const withoutTimes = <T extends { fit_s: number }>({ fit_s: _, ...rest }: T) => rest;

describe('atl-studio bench on the comparison pipeline', () => {
  let single: BenchReport;

  it('one teacher: the same report as the bench loop before, numbers and fields', async () => {
    single = await bench(RESNET20, join(dir.path, 'single.json'));
    expect(Object.keys(single)).toEqual(['model', 'data', 'ways', 'queries', 'episodes', 'seed', 'results', 'timings', 'candidates', 'layer_profile', 'skipped_classes']);
    expect(single).toMatchObject({ model: RESNET20, data, ways: 5, queries: 10, episodes: 10, seed: 7 });
    expect(single.skipped_classes).toEqual([{ class: 'dog', images: 12, shots: [5] }]);
    for (const r of single.results) {
      expect(Object.keys(r)).toEqual(['strategy', 'shots', 'mean', 'ci95', 'delta_vs_penultimate', 'delta_ci95', 'layers_chosen', 'fit_s']);
    }
    const before = await benchLoopBefore(RESNET20);
    expect(single.results.map(withoutTimes)).toEqual(before.results.map(withoutTimes));
    expect(single.layer_profile).toEqual(before.profile);
    expect(single.candidates).toEqual(before.candidates);
    expect(single.results.find((r) => r.strategy === 'penultimate' && r.shots === 5)!.mean).toBeGreaterThan(0.7);
  }, 120_000);

  it('two teachers: the same episodes for each, every row with its teacher, Δ against the first teacher’s penultimate', async () => {
    const report = await bench(`${MOBILENET},${RESNET20}`, join(dir.path, 'two.json'));
    expect(report).toMatchObject({ model: `${MOBILENET},${RESNET20}`, teachers: [MOBILENET, RESNET20], skipped_classes: single.skipped_classes });
    // Grouped by teacher, then shots, then strategy.
    expect(report.results.map((r) => `${r.teacher} ${r.strategy}/${r.shots}`)).toEqual(
      [MOBILENET, RESNET20].flatMap((t) => SETTINGS.shots.flatMap((s) => SETTINGS.strategies.map((name) => `${t} ${name}/${s}`))),
    );
    // The second teacher scores exactly as alone: the same episodes; its candidate keys carry its id.
    const resnet = report.results.filter((r) => r.teacher === RESNET20);
    resnet.forEach((r, i) => {
      const alone = single.results[i];
      expect([r.strategy, r.shots, r.mean, r.ci95]).toEqual([alone.strategy, alone.shots, alone.mean, alone.ci95]);
      expect(r.layers_chosen).toEqual(Object.fromEntries(Object.entries(alone.layers_chosen).map(([key, f]) => [`${RESNET20}/${key}`, f])));
    });
    for (const shots of SETTINGS.shots) {
      const baseline = report.results.find((r) => r.teacher === MOBILENET && r.strategy === 'penultimate' && r.shots === shots)!;
      expect([baseline.delta_vs_penultimate, baseline.delta_ci95]).toEqual([0, 0]);
      // A paired mean difference is the difference of the means.
      for (const r of report.results.filter((x) => x.teacher === RESNET20 && x.shots === shots)) {
        expect(r.delta_vs_penultimate).toBeCloseTo(r.mean - baseline.mean, 12);
      }
    }
    expect(report.results.filter((r) => r.teacher === RESNET20).every((r) => r.delta_ci95 > 0)).toBe(true);
    // A CIFAR-10 teacher is far ahead of an ImageNet one on CIFAR-10 images.
    expect(resnet.find((r) => r.strategy === 'penultimate' && r.shots === 5)!.delta_vs_penultimate).toBeGreaterThan(0.1);
    expect(report.candidates).toEqual([...report.candidates.filter((c) => c.startsWith(`${MOBILENET}/`)), ...single.candidates.map((c) => `${RESNET20}/${c}`)]);
    expect(report.layer_profile.filter((p) => p.teacher === RESNET20)).toEqual(single.layer_profile.map((p) => ({ teacher: RESNET20, ...p, candidate: `${RESNET20}/${p.candidate}` })));
    expect(new Set(report.layer_profile.map((p) => p.teacher))).toEqual(new Set([MOBILENET, RESNET20]));

    const table = formatBenchTable(report).split('\n');
    expect(table[1]).toBe(`Δ: against ${MOBILENET} penultimate on the same episodes`);
    expect(table[2]).toMatch(/^teacher +strategy +shots/);
    expect(table.slice(3, 3 + report.results.length).map((line) => line.split(/ +/)[0])).toEqual(report.results.map((r) => r.teacher));
  }, 180_000);
});

/** `atl-teachers` on the same folder: with several teachers once across all of them (teacher `*`), with one it is `atl`. */
const TEACHER_EPISODES = { ways: 5, shots: [1, 5], queries: 10, episodes: 12, seed: 3 };
const benchTeachers = (model: string[], strategies: StrategyName[]): Promise<BenchReport> =>
  runBench({ data, model, ...TEACHER_EPISODES, strategies, cache });

describe('atl-studio bench with atl-teachers', () => {
  it('several teachers: one more row per shot count with teacher *, on the same episodes, Δ against the first teacher’s penultimate', async () => {
    const report = await benchTeachers([MOBILENET, RESNET20], ['penultimate', 'atl', 'atl-teachers']);
    // Each teacher runs every strategy but atl-teachers (there it would be atl); then atl-teachers once across both.
    expect(report.results.map((r) => `${r.teacher} ${r.strategy}/${r.shots}`)).toEqual([
      ...[MOBILENET, RESNET20].flatMap((t) => TEACHER_EPISODES.shots.flatMap((s) => [`${t} penultimate/${s}`, `${t} atl/${s}`])),
      ...TEACHER_EPISODES.shots.map((s) => `${ACROSS_TEACHERS} atl-teachers/${s}`),
    ]);
    expect(report.candidates.every((c) => c.startsWith(`${MOBILENET}/`) || c.startsWith(`${RESNET20}/`))).toBe(true);
    expect(report.layer_profile).toEqual([]);
    for (const shots of TEACHER_EPISODES.shots) {
      const row = (teacher: string, strategy: string) => report.results.find((r) => r.teacher === teacher && r.strategy === strategy && r.shots === shots)!;
      const across = row(ACROSS_TEACHERS, 'atl-teachers');
      // Paired against the first teacher's penultimate: a paired mean difference is the difference of the means.
      expect(across.delta_vs_penultimate).toBeCloseTo(across.mean - row(MOBILENET, 'penultimate').mean, 12);
      expect(across.delta_ci95).toBeGreaterThan(0);
      // Its choices name their teacher.
      expect(Object.keys(across.layers_chosen).every((k) => k.startsWith(`${MOBILENET}/`) || k.startsWith(`${RESNET20}/`))).toBe(true);
    }
    // On CIFAR-10 images the CIFAR-10 teacher is far ahead at 5 shots, and atl-teachers learns from it in most episodes.
    const across5 = report.results.find((r) => r.teacher === ACROSS_TEACHERS && r.shots === 5)!;
    const resnetShare = Object.entries(across5.layers_chosen).filter(([k]) => k.startsWith(`${RESNET20}/`)).reduce((a, [, f]) => Math.max(a, f), 0);
    expect(resnetShare).toBeGreaterThan(0.5);
    expect(across5.delta_vs_penultimate).toBeGreaterThan(0.1);
    expect(formatBenchTable(report)).toMatch(/\n\* +atl-teachers +5 /);
  }, 300_000);

  it('one teacher: atl-teachers is atl, row for row', async () => {
    const report = await benchTeachers([RESNET20], ['penultimate', 'atl', 'atl-teachers']);
    for (const shots of TEACHER_EPISODES.shots) {
      const [atl, teachers] = ['atl', 'atl-teachers'].map((name) => report.results.find((r) => r.strategy === name && r.shots === shots)!);
      expect(teachers.teacher).toBeUndefined();
      expect([teachers.mean, teachers.ci95, teachers.delta_vs_penultimate, teachers.layers_chosen]).toEqual([atl.mean, atl.ci95, atl.delta_vs_penultimate, atl.layers_chosen]);
    }
  }, 120_000);
});

describe('atl-studio bench --model', () => {
  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(REPO, 'bin/atl-studio.mjs'), 'bench', '--data', data, '--cache', cache, ...args], {
        env: { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'home') },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      return error as { code: number; stdout: string; stderr: string };
    }
  };

  it('refuses an unknown teacher in one line, before any work, even after a known one', async () => {
    for (const model of ['nope', `${RESNET20},nope`]) {
      const { code, stderr } = await cli('--model', model);
      expect(code).toBe(1);
      expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/^atl-studio: No teacher 'nope'\. Known: .*resnet20_cifar10/)]);
    }
  }, 60_000);

  it('refuses an empty teacher id as a usage error', async () => {
    const { code, stderr } = await cli('--model', `${RESNET20},,${MOBILENET}`);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--model takes teacher ids, comma-separated/);
  }, 60_000);
});
