/**
 * Comparisons and trained heads on a real project: CIFAR-10 images labeled by their folders and a
 * real teacher (ResNet-20, CIFAR-10), through the studio's contract as every front calls it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairedDifference } from '../../src/main/atl/episodes';
import { headPredict } from '../../src/main/atl/head-params';
import { createStrategy } from '../../src/main/atl/strategies';
import { loadLabeledFeatures } from '../../src/main/services/labeled-features';
import { Studio } from '../../src/main/app/studio';
import { STRATEGY_NAMES, type ComparisonConfig, type JobProgress, type StudioEvent } from '../../src/shared/contract';
import { copyCifarClasses, tempDir } from '../helpers/fixtures';

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
  copyCifarClasses(images, CLASSES, PER_CLASS);
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
    // Features first, and why; then one count: episodes through every strategy, over both shot counts.
    const extracting = progress.filter((p) => p.message.startsWith('Extracting'));
    expect(extracting.length).toBeGreaterThan(0);
    for (const p of extracting) expect(p.message).toMatch(/^Extracting features of 40 labeled images first, needed by every strategy/);
    const episodes = progress.filter((p) => p.state === 'running' && !p.message.startsWith('Extracting'));
    expect(episodes.every((p) => p.total === 24)).toBe(true);
    expect(episodes.map((p) => p.done)).toEqual([...episodes.map((p) => p.done)].sort((a, b) => a - b));
    expect(episodes.map((p) => p.message)).toContain('3-shot, every strategy: episode 12 of 12');
    expect(progress.at(-1)).toMatchObject({ kind: 'compare', state: 'done', done: 24, total: 24 });

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
    const { jobId, runId } = await studio.invoke('compare.start', { config: config({ mode: 'splits', repeats: 5, strategies: ['penultimate', 'atl'] }) });
    await studio.idle();
    // Its progress counts splits, and says so.
    const counted = progressOf(jobId).filter((p) => p.state === 'running' && !p.message.startsWith('Extracting'));
    expect(counted.every((p) => p.total === 5)).toBe(true);
    expect(counted.map((p) => p.message)).toContain('Every strategy: split 5 of 5');
    const run = await studio.invoke('compare.get', { id: runId });
    expect(run.cells.map((c) => [c.shots, c.ways, c.queries, c.repeats])).toEqual([
      [0, 5, 2, 5],
      [0, 5, 2, 5],
    ]);
  }, 120_000);

  it('can be cancelled: the run is kept as cancelled with the episodes it finished; one left running by a crash reopens as failed', async () => {
    // Listening from before the start: over cached features the first episodes are reported before the start returns.
    const cancelled = new Promise<void>((resolve) => {
      const stop = studio.onEvent((e) => {
        if (e.type === 'job.progress' && e.job.kind === 'compare' && e.job.message.endsWith('episode 3 of 3000')) {
          stop();
          void studio.invoke('jobs.cancel', { jobId: e.job.jobId }).then(() => resolve());
        }
      });
    });
    const { jobId, runId } = await studio.invoke('compare.start', { config: config({ repeats: 3000 }) });
    await cancelled;
    await studio.idle();
    expect(progressOf(jobId).at(-1)!.state).toBe('cancelled');
    const run = await studio.invoke('compare.get', { id: runId });
    expect(run).toMatchObject({ status: 'cancelled', message: expect.stringMatching(/^Cancelled: the results hold the episodes finished before the cancel/) });
    // The 1-shot episodes done before the cancel, for every strategy; 3-shot never started.
    expect(run.cells.map((c) => `${c.shots}/${c.strategy}`)).toEqual(STRATEGY_NAMES.map((n) => `1/${n}`));
    const done = run.cells[0].repeats;
    expect(done).toBeGreaterThanOrEqual(3);
    expect(done).toBeLessThan(3000);
    for (const cell of run.cells) {
      expect(cell.repeats).toBe(done);
      expect(studio.requireProject().comparisons.episodeAccuracies(runId, cell.strategy, 1)).toHaveLength(done);
    }

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

describe('a trained head and the labels it learned from', () => {
  it('trains in three announced steps, the last one shown before its fit runs', async () => {
    let turnedAfterFinalFit = false;
    let turnedBeforeDone: boolean | null = null;
    const stop = studio.onEvent((e) => {
      if (e.type !== 'job.progress' || e.job.kind !== 'train') return;
      // A front hears an event only once the service's event loop turns after it.
      if (e.job.message.startsWith('Step 3 of 3')) setImmediate(() => (turnedAfterFinalFit = true));
      if (e.job.state === 'done') turnedBeforeDone = turnedAfterFinalFit;
    });
    const { jobId } = await studio.invoke('heads.train', { modelId: MODEL, strategy: 'atl' });
    await studio.idle();
    stop();
    const messages = progressOf(jobId).map((p) => p.message);
    // Step 1 (features) reports only when some must be extracted: here the comparisons cached them.
    expect(messages).toContain('Step 2 of 3, cross-validation (how good it is): split 10 of 10');
    expect(messages).toContain('Step 3 of 3, final fit on all 40 labels');
    const fit = progressOf(jobId).find((p) => p.message.startsWith('Step 3 of 3'))!;
    expect(fit.done).toBeLessThan(fit.total);
    expect(turnedBeforeDone).toBe(true);
  }, 120_000);

  it('is marked stale when labels are added, removed or moved or a class is renamed or deleted, and retrains with the same strategy and teacher', async () => {
    const headId = () => studio.invoke('heads.list', {}).then((heads) => heads[0].id);
    const stale = async () => (await studio.invoke('heads.list', {})).find((h) => h.id === trained)!.staleReason;
    const trained = await headId();
    expect(await stale()).toBeNull();

    const classes = await studio.invoke('classes.list', {});
    const byName = new Map(classes.map((c) => [c.name, c.id]));
    const imagesOf = async (name: string) => (await studio.invoke('images.list', { filter: { kind: 'class', classId: byName.get(name)! }, sort: 'import' })).map((i) => i.id);
    const [plane] = await imagesOf('airplane');
    const [car] = await imagesOf('automobile');

    // Moved: counts change.
    await studio.invoke('labels.assign', { imageIds: [plane], classId: byName.get('automobile')! });
    expect(await stale()).toBe('airplane: 8 → 7 labels; automobile: 8 → 9 labels');
    // Undone: the same labels again, so not stale.
    await studio.invoke('labels.undo', {});
    expect(await stale()).toBeNull();
    // Swapped: same counts, different labels.
    await studio.invoke('labels.assign', { imageIds: [plane], classId: byName.get('automobile')! });
    await studio.invoke('labels.assign', { imageIds: [car], classId: byName.get('airplane')! });
    expect(await stale()).toBe('labels were changed since it was trained');
    await studio.invoke('labels.undo', {});
    await studio.invoke('labels.undo', {});
    expect(await stale()).toBeNull();
    // Removed.
    await studio.invoke('labels.assign', { imageIds: [plane], classId: null });
    expect(await stale()).toBe('airplane: 8 → 7 labels');
    await studio.invoke('labels.undo', {});
    // Renamed, then back.
    await studio.invoke('classes.update', { id: byName.get('bird')!, name: 'birdie' });
    expect(await stale()).toBe('bird was renamed birdie');
    await studio.invoke('classes.update', { id: byName.get('bird')!, name: 'bird' });
    expect(await stale()).toBeNull();
    // Merged into another class.
    await studio.invoke('classes.merge', { sourceId: byName.get('ship')!, targetId: byName.get('cat')!, confirm: true });
    expect(await stale()).toBe('cat: 8 → 16 labels; ship was deleted or merged');

    // Retrain: the same strategy and teacher on the labels as they are now.
    const before = (await studio.invoke('heads.list', {})).find((h) => h.id === trained)!;
    await studio.invoke('heads.train', { modelId: before.modelId, strategy: before.strategy });
    await studio.idle();
    const [fresh] = await studio.invoke('heads.list', {});
    expect(fresh).toMatchObject({ strategy: before.strategy, modelId: before.modelId, staleReason: null });
    expect(fresh.classes.map((c) => [c.name, c.labels])).toEqual([['airplane', 8], ['automobile', 8], ['bird', 8], ['cat', 16]]);
    expect(await stale()).toMatch(/ship was deleted or merged/);
  }, 120_000);
});
