/**
 * `atl-studio bench` end to end on a real teacher (ResNet-20, CIFAR-10) and real images: the
 * command as the CLI runs it, its JSON, and a second run served from the feature cache.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerBenchCommand, type BenchReport } from '../../../src/main/cli/bench-command';
import { STRATEGY_NAMES } from '../../../src/main/atl/strategies';
import { CIFAR10_MINI, tempDir } from '../../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let home: string | undefined;
beforeAll(() => {
  dir = tempDir();
  home = process.env.ATL_STUDIO_HOME;
  process.env.ATL_STUDIO_HOME = join(dir.path, 'home');
});
afterAll(() => {
  if (home === undefined) delete process.env.ATL_STUDIO_HOME;
  else process.env.ATL_STUDIO_HOME = home;
  dir.remove();
});

async function bench(out: string): Promise<BenchReport> {
  const program = new Command().exitOverride();
  registerBenchCommand(program);
  const args = ['bench', '--data', CIFAR10_MINI, '--model', 'resnet20_cifar10', '--ways', '5', '--shots', '1,5', '--queries', '15'];
  await program.parseAsync([...args, '--episodes', '20', '--strategies', 'all', '--seed', '1', '--profile', '--json', out, '--cache', join(dir.path, 'features.sqlite')], { from: 'user' });
  return JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
}

describe('atl-studio bench', () => {
  it('writes every strategy for every shot count, with sane accuracies, and is the same again from the cache', async () => {
    const first = await bench(join(dir.path, 'first.json'));
    expect(first).toMatchObject({ model: 'resnet20_cifar10', data: CIFAR10_MINI, ways: 5, queries: 15, episodes: 20, seed: 1 });
    expect(first.results.map((r) => `${r.strategy}/${r.shots}`)).toEqual(
      [1, 5].flatMap((shots) => STRATEGY_NAMES.map((name) => `${name}/${shots}`)),
    );
    for (const r of first.results) {
      expect(Object.keys(r).sort()).toEqual(['ci95', 'delta_ci95', 'delta_vs_penultimate', 'fit_s', 'layers_chosen', 'mean', 'shots', 'strategy']);
      expect(r.mean).toBeGreaterThan(0.2); // chance is 1/5
      expect(r.mean).toBeLessThanOrEqual(1);
      expect(r.ci95).toBeGreaterThanOrEqual(0);
      expect(Object.keys(r.layers_chosen).length).toBeGreaterThan(0);
      for (const fraction of Object.values(r.layers_chosen)) expect(fraction).toBeGreaterThan(0);
    }
    const penultimate = first.results.filter((r) => r.strategy === 'penultimate');
    for (const r of penultimate) {
      expect(r.layers_chosen).toEqual({ 'pooled:gap': 1 });
      expect(r.mean).toBeGreaterThan(0.7); // CIFAR-10 images, a CIFAR-10 teacher
    }
    // 1-shot: nothing to hold out. CIFAR-10 is the teacher's own domain, so the one-shot domain check
    // (fewer than 4 hidden candidates keep the support further apart than the penultimate) keeps the
    // penultimate, exactly, in all 20 episodes.
    const atl1 = first.results.find((r) => r.strategy === 'atl' && r.shots === 1)!;
    expect(atl1.delta_vs_penultimate).toBe(0);
    expect(first.candidates).toContain('stage2_block1:spatial');
    expect(first.candidates).not.toContain('stage3_block2:gap'); // the penultimate's duplicate
    // The profile scores every candidate alone with a nearest-mean head on the same episodes, so
    // its penultimate entry is the ncm strategy exactly.
    expect(first.layer_profile).toHaveLength(2 * first.candidates.length);
    for (const shots of [1, 5]) {
      const ncm = first.results.find((r) => r.strategy === 'ncm' && r.shots === shots)!;
      const point = first.layer_profile.find((p) => p.candidate === 'pooled:gap' && p.shots === shots)!;
      expect(point.mean).toBe(ncm.mean);
      const depths = first.layer_profile.filter((p) => p.shots === shots).map((p) => p.depth);
      expect(depths).toEqual([...depths].sort((a, b) => a - b));
    }
    expect(first.timings.extract_s).toBeGreaterThan(0);
    expect(first.timings.fit_s).toBeGreaterThan(0);

    const second = await bench(join(dir.path, 'second.json'));
    expect(second.timings.extract_s).toBeLessThan(first.timings.extract_s);
    expect(second.results.map(({ fit_s: _, ...r }) => r)).toEqual(first.results.map(({ fit_s: _, ...r }) => r));
  });
});
