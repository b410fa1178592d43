/**
 * `atl-studio bench` with `atl-teachers` on real CIFAR-10 images and real teachers: with several
 * teachers it runs once on all of them (teacher `*`), on the same episodes, with Δ against the
 * first teacher's penultimate; with one teacher it is `atl`.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACROSS_TEACHERS, runBench, type BenchReport } from '../../src/main/app/bench';
import { formatBenchTable } from '../../src/main/cli/bench-command';
import type { StrategyName } from '../../src/shared/contract';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

const MOBILENET = 'mobilenet_v1_0.75_224';
const RESNET20 = 'resnet20_cifar10';
const SETTINGS = { ways: 5, shots: [1, 5], queries: 10, episodes: 12, seed: 3 };

let dir: ReturnType<typeof tempDir>;
let data: string;
let home: string | undefined;
beforeAll(() => {
  dir = tempDir();
  home = process.env.ATL_STUDIO_HOME;
  process.env.ATL_STUDIO_HOME = join(dir.path, 'home');
  data = join(dir.path, 'data');
  for (const name of ['airplane', 'automobile', 'bird', 'cat', 'deer']) {
    mkdirSync(join(data, name), { recursive: true });
    for (const file of readdirSync(join(CIFAR10_MINI, name)).sort().slice(0, 20)) copyFileSync(join(CIFAR10_MINI, name, file), join(data, name, file));
  }
});
afterAll(() => {
  if (home === undefined) delete process.env.ATL_STUDIO_HOME;
  else process.env.ATL_STUDIO_HOME = home;
  dir.remove();
});

const bench = (model: string[], strategies: StrategyName[]): Promise<BenchReport> =>
  runBench({ data, model, ...SETTINGS, strategies, cache: join(dir.path, 'features.sqlite') });

describe('atl-studio bench with atl-teachers', () => {
  it('several teachers: one more row per shot count with teacher *, on the same episodes, Δ against the first teacher’s penultimate', async () => {
    const report = await bench([MOBILENET, RESNET20], ['penultimate', 'atl', 'atl-teachers']);
    // Each teacher runs every strategy but atl-teachers (there it would be atl); then atl-teachers once across both.
    expect(report.results.map((r) => `${r.teacher} ${r.strategy}/${r.shots}`)).toEqual([
      ...[MOBILENET, RESNET20].flatMap((t) => SETTINGS.shots.flatMap((s) => [`${t} penultimate/${s}`, `${t} atl/${s}`])),
      ...SETTINGS.shots.map((s) => `${ACROSS_TEACHERS} atl-teachers/${s}`),
    ]);
    expect(report.candidates.every((c) => c.startsWith(`${MOBILENET}/`) || c.startsWith(`${RESNET20}/`))).toBe(true);
    expect(report.layer_profile).toEqual([]);
    for (const shots of SETTINGS.shots) {
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
    const report = await bench([RESNET20], ['penultimate', 'atl', 'atl-teachers']);
    for (const shots of SETTINGS.shots) {
      const [atl, teachers] = ['atl', 'atl-teachers'].map((name) => report.results.find((r) => r.strategy === name && r.shots === shots)!);
      expect(teachers.teacher).toBeUndefined();
      expect([teachers.mean, teachers.ci95, teachers.delta_vs_penultimate, teachers.layers_chosen]).toEqual([atl.mean, atl.ci95, atl.delta_vs_penultimate, atl.layers_chosen]);
    }
  }, 120_000);
});
