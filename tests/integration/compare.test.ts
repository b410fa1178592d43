/**
 * Comparisons and trained heads on a real project: CIFAR-10 images labeled by their folders and a
 * real teacher (ResNet-20, CIFAR-10), through the studio's contract as every front calls it.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairedDifference } from '../../src/main/atl/episodes';
import { headPredict } from '../../src/main/atl/head-params';
import { createStrategy } from '../../src/main/atl/strategies';
import { loadLabeledFeatures } from '../../src/main/services/labeled-features';
import { Studio } from '../../src/main/services/studio';
import { STRATEGY_NAMES, type ComparisonConfig, type JobProgress, type StudioEvent } from '../../src/shared/contract';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'ship'];
const PER_CLASS = 8;
const MODEL = 'resnet20_cifar10';

let dir: ReturnType<typeof tempDir>;
let studio: Studio;
const events: StudioEvent[] = [];

function config(changes: Partial<ComparisonConfig> = {}): ComparisonConfig {
  return { modelId: MODEL, strategies: [...STRATEGY_NAMES], mode: 'episodes', shots: [1, 3], ways: 5, queries: 15, repeats: 12, testFraction: 0.25, seed: 1, ...changes };
}

function progressOf(jobId: string): JobProgress[] {
  return events.flatMap((e) => (e.type === 'job.progress' && e.job.jobId === jobId ? [e.job] : []));
}

beforeAll(async () => {
  dir = tempDir();
  const images = join(dir.path, 'images');
  for (const c of CLASSES) {
    mkdirSync(join(images, c), { recursive: true });
    for (const f of readdirSync(join(CIFAR10_MINI, c)).sort().slice(0, PER_CLASS)) copyFileSync(join(CIFAR10_MINI, c, f), join(images, c, f));
  }
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  studio.onEvent((e) => events.push(e));
  await studio.invoke('project.create', { name: 'compare' });
  await studio.invoke('import.start', { paths: [images], labelsFromFolders: true });
  await studio.idle();
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('comparison runs', () => {
  it('run on the labels, are stored with per-episode results, and reopen as they were', async () => {
    const { jobId, runId } = await studio.invoke('compare.start', { config: config(), name: 'first' });
    await studio.idle();
    const progress = progressOf(jobId);
    expect(progress.some((p) => p.message.startsWith('Extracting'))).toBe(true);
    expect(progress.at(-1)).toMatchObject({ kind: 'compare', state: 'done' });

    const [summary] = await studio.invoke('compare.list', {});
    expect(summary).toMatchObject({ id: runId, name: 'first', status: 'completed', teacherName: expect.any(String) });
    const run = await studio.invoke('compare.get', { id: runId });
    expect(run.classes.map((c) => c.name)).toEqual(CLASSES);
    expect(run.cells.map((c) => `${c.shots}/${c.strategy}`)).toEqual([1, 3].flatMap((s) => STRATEGY_NAMES.map((n) => `${s}/${n}`)));
    const project = studio.requireProject();
    for (const cell of run.cells) {
      // 8 labels per class: 1-shot keeps 7 queries, 3-shot 5.
      expect(cell).toMatchObject({ ways: 5, queries: cell.shots === 1 ? 7 : 5, repeats: 12 });
      const stored = project.comparisons.episodeAccuracies(runId, cell.strategy, cell.shots);
      expect(stored).toHaveLength(12);
      expect(stored.reduce((a, b) => a + b, 0) / 12).toBeCloseTo(cell.mean, 12);
      const confusion = run.confusion.find((m) => m.strategy === cell.strategy && m.shots === cell.shots)!.matrix;
      const total = confusion.flat().reduce((a, b) => a + b, 0);
      const correct = confusion.reduce((a, row, t) => a + row[t], 0);
      expect(total).toBe(12 * 5 * cell.queries);
      expect(correct / total).toBeCloseTo(cell.mean, 12);
    }
    // A CIFAR-10 teacher on CIFAR-10 images.
    expect(run.cells.find((c) => c.strategy === 'penultimate' && c.shots === 3)!.mean).toBeGreaterThan(0.6);
    // A winner only where its paired difference to the runner-up is clear of 0, from the stored episodes.
    for (const shots of [1, 3]) {
      const column = run.cells.filter((c) => c.shots === shots).sort((a, b) => b.mean - a.mean);
      const winners = column.filter((c) => c.winner);
      expect(winners.length).toBeLessThanOrEqual(1);
      const d = pairedDifference(
        project.comparisons.episodeAccuracies(runId, column[0].strategy, shots),
        project.comparisons.episodeAccuracies(runId, column[1].strategy, shots),
      );
      expect(winners.length === 1).toBe(d.mean - d.ci95 > 0);
      if (winners.length === 1) expect(winners[0].strategy).toBe(column[0].strategy);
    }
    for (const m of run.mistakes) {
      expect(m.trueClassId).not.toBe(m.predictedClassId);
      expect(project.images.get(m.imageId).classId).toBe(m.trueClassId);
    }
    expect(run.mistakes.length).toBeGreaterThan(0);
    const profile3 = run.profile.filter((p) => p.shots === 3);
    expect(profile3.map((p) => p.depth)).toEqual([...profile3.map((p) => p.depth)].sort((a, b) => a - b));
    expect(profile3.find((p) => p.candidate === 'pooled:gap')!.mean).toBe(run.cells.find((c) => c.strategy === 'ncm' && c.shots === 3)!.mean);
    expect(run.timings.totalSeconds).toBeGreaterThan(run.timings.strategiesSeconds);

    // Reopen the project: the run is there as it was.
    const path = project.path;
    await studio.invoke('project.close', {});
    await studio.invoke('project.open', { path });
    expect(await studio.invoke('compare.get', { id: runId })).toEqual(run);
  }, 180_000);

  it('say at once when the labels cannot support a shot count, and leave out only that one', async () => {
    const before = (await studio.invoke('compare.list', {})).length;
    await expect(studio.invoke('compare.start', { config: config({ shots: [8] }) })).rejects.toThrow(/8-shot needs 2 classes with ≥ 9 labeled images/);
    expect(await studio.invoke('compare.list', {})).toHaveLength(before);

    const { runId } = await studio.invoke('compare.start', { config: config({ shots: [2, 8], strategies: ['atl'], repeats: 4 }) });
    await studio.idle();
    const run = await studio.invoke('compare.get', { id: runId });
    expect(run.status).toBe('completed');
    expect(run.message).toMatch(/8-shot/);
    expect(run.cells.map((c) => `${c.shots}/${c.strategy}`)).toEqual(['2/penultimate', '2/atl']);
  }, 120_000);

  it('hold out a share of every class in splits mode', async () => {
    const { runId } = await studio.invoke('compare.start', { config: config({ mode: 'splits', repeats: 5, strategies: ['penultimate', 'atl'] }) });
    await studio.idle();
    const run = await studio.invoke('compare.get', { id: runId });
    expect(run.cells.map((c) => [c.shots, c.ways, c.queries, c.repeats])).toEqual([
      [0, 5, 2, 5],
      [0, 5, 2, 5],
    ]);
  }, 120_000);

  it('can be cancelled: the run is kept as cancelled, without results; one left running by a crash reopens as failed', async () => {
    const { jobId, runId } = await studio.invoke('compare.start', { config: config({ repeats: 3000 }) });
    await new Promise<void>((resolve) => {
      const stop = studio.onEvent((e) => {
        if (e.type === 'job.progress' && e.job.jobId === jobId && e.job.message.includes('episode')) {
          stop();
          void studio.invoke('jobs.cancel', { jobId }).then(() => resolve());
        }
      });
    });
    await studio.idle();
    expect(progressOf(jobId).at(-1)!.state).toBe('cancelled');
    const run = await studio.invoke('compare.get', { id: runId });
    expect(run).toMatchObject({ status: 'cancelled', cells: [] });

    const project = studio.requireProject();
    const teacher = await studio.teachers.get(MODEL);
    const stuck = project.comparisons.create(config(), teacher);
    const path = project.path;
    await studio.invoke('project.close', {});
    await studio.invoke('project.open', { path });
    expect(await studio.invoke('compare.get', { id: stuck })).toMatchObject({ status: 'failed', message: expect.stringMatching(/Interrupted/) });
    await studio.invoke('compare.delete', { id: stuck, confirm: true });
    await expect(studio.invoke('compare.get', { id: stuck })).rejects.toThrow(/No comparison run/);
  }, 120_000);
});

describe('trained heads', () => {
  it('train on every human label, store a cross-validated accuracy, and predict as the strategy fitted now does', async () => {
    const { jobId } = await studio.invoke('heads.train', { modelId: MODEL, strategy: 'atl', name: 'my head' });
    await studio.idle();
    expect(progressOf(jobId).at(-1)).toMatchObject({ kind: 'train', state: 'done' });
    const [head] = await studio.invoke('heads.list', {});
    expect(head).toMatchObject({ name: 'my head', strategy: 'atl', modelId: MODEL, cvSplits: 10 });
    expect(head.classes).toEqual(CLASSES.map((name) => ({ id: expect.any(Number), name, labels: PER_CLASS })));
    expect(head.cvAccuracy).toBeGreaterThan(0.5);
    expect(head.cvCi95).toBeGreaterThan(0);
    // Every split holds out 2 of the 8 labels of each class; all splits are the same size, so the
    // confusion's diagonal share is the mean accuracy.
    const confusion = head.cvConfusion!;
    const total = confusion.flat().reduce((a, b) => a + b, 0);
    expect(total).toBe(10 * 5 * 2);
    expect(confusion.reduce((a, row, t) => a + row[t], 0) / total).toBeCloseTo(head.cvAccuracy!, 12);
    const teacher = await studio.teachers.get(MODEL);
    expect(head.teacherSha256).toBe(teacher.weightsSha256);

    // The stored head predicts the labeled images exactly as a head fitted now on the same labels.
    const project = studio.requireProject();
    const stored = project.heads.get(head.id);
    expect(stored.candidates.map((c) => c.key)).toEqual(head.candidates);
    const labeled = await loadLabeledFeatures(project, teacher, await studio.teachers.resolveLayers(MODEL, 'all'));
    const rows = labeled.classes.flatMap((c) => c.rows);
    const labels = Int32Array.from(labeled.classes.flatMap((c, k) => c.rows.map(() => k)));
    const fresh = createStrategy('atl').fit(labeled.features.select(rows), labels);
    expect([...headPredict(stored.params, labeled.features.select(rows))]).toEqual([...fresh.predict(labeled.features.select(rows))]);

    await studio.invoke('heads.delete', { id: head.id, confirm: true });
    expect(await studio.invoke('heads.list', {})).toEqual([]);
  }, 120_000);
});
