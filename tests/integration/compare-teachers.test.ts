/**
 * Teachers side by side in a project's comparison (issue 11 §2): MobileNet v1 and ResNet-20 on
 * real CIFAR-10 images, through the studio's contract. Every teacher × strategy sees the same
 * episodes, so a teacher's cells equal its own single-teacher run on the same seed; every Δ is
 * against the first teacher's penultimate; the run is stored and reads back with its teachers.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pairedDifference } from '../../src/main/atl/episodes';
import { Studio } from '../../src/main/app/studio';
import type { ComparisonConfig, ComparisonDetail, JobProgress, StudioEvent } from '../../src/shared/contract';
import { comparisonVerdict } from '../../src/shared/verdict';
import { copyCifarClasses, tempDir } from '../helpers/fixtures';

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'ship'];
const PER_CLASS = 8;
const MOBILENET = 'mobilenet_v1_0.75_224';
const RESNET20 = 'resnet20_cifar10';

let dir: ReturnType<typeof tempDir>;
let studio: Studio;
const events: StudioEvent[] = [];

function config(changes: Partial<ComparisonConfig> = {}): ComparisonConfig {
  return { modelId: MOBILENET, modelIds: [MOBILENET, RESNET20], strategies: ['penultimate', 'atl', 'atl-teachers'], mode: 'episodes', shots: [1, 3], ways: 5, queries: 15, repeats: 8, testFraction: 0.25, seed: 3, ...changes };
}

async function compare(changes: Partial<ComparisonConfig> = {}): Promise<{ jobId: string; run: ComparisonDetail }> {
  const { jobId, runId } = await studio.invoke('compare.start', { config: config(changes) });
  await studio.idle();
  return { jobId, run: await studio.invoke('compare.get', { id: runId }) };
}

const key = (c: { teacher?: string; strategy: string; shots: number }) => `${c.teacher ?? ''} ${c.strategy}/${c.shots}`;

beforeAll(async () => {
  dir = tempDir();
  const images = join(dir.path, 'images');
  copyCifarClasses(images, CLASSES, PER_CLASS);
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  studio.onEvent((e) => events.push(e));
  // A few layers each: MobileNet's 27 layers at 224 px would take minutes on a CPU.
  await studio.invoke('models.setLayers', { id: MOBILENET, layers: ['conv_pw_5_relu', 'conv_pw_11_relu', 'conv_pw_13_relu'] });
  await studio.invoke('models.setLayers', { id: RESNET20, layers: ['stage2_block2', 'stage3_block0', 'stage3_block2'] });
  await studio.invoke('project.create', { name: 'compare-teachers' });
  await studio.invoke('import.start', { paths: [images], labelsFromFolders: true });
  await studio.idle();
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('a comparison of two teachers', () => {
  it('pairs every teacher × strategy on the same episodes, Δ against the first teacher’s penultimate, stored and read back', async () => {
    const { jobId, run } = await compare();
    expect(run.status).toBe('completed');
    expect(run.teachers).toEqual([
      { id: MOBILENET, name: expect.stringMatching(/MobileNet/) },
      { id: RESNET20, name: expect.stringMatching(/ResNet-20/) },
    ]);
    // Features of each teacher first, the progress naming it.
    const messages = events.flatMap((e) => (e.type === 'job.progress' && e.job.jobId === jobId ? [(e.job as JobProgress).message] : []));
    for (const t of run.teachers) expect(messages.some((m) => m.startsWith(`Extracting ${t.name}'s features of 40 labeled images`))).toBe(true);

    // Each teacher's own strategies (atl-teachers there would be atl), then atl-teachers once on both (teacher *).
    expect(run.cells.map(key)).toEqual(
      [1, 3].flatMap((s) => [...[MOBILENET, RESNET20].flatMap((t) => [`${t} penultimate/${s}`, `${t} atl/${s}`]), `* atl-teachers/${s}`]),
    );
    const project = studio.requireProject();
    for (const cell of run.cells) {
      const own = project.comparisons.episodeAccuracies(run.id, cell.strategy, cell.shots, cell.teacher);
      const baseline = project.comparisons.episodeAccuracies(run.id, 'penultimate', cell.shots, MOBILENET);
      expect(own).toHaveLength(8);
      const delta = pairedDifference(own, baseline);
      expect(cell.deltaVsPenultimate).toBeCloseTo(delta.mean, 12);
      expect(cell.deltaCi95).toBeCloseTo(delta.ci95, 12);
      expect(run.confusion.find((m) => key(m) === key(cell))!.matrix.flat().reduce((a, b) => a + b, 0)).toBe(8 * 5 * cell.queries);
      // Candidates carry their teacher; atl-teachers' may come from either.
      for (const candidate of Object.keys(cell.layersChosen)) expect(candidate.startsWith(`${cell.teacher === '*' ? '' : cell.teacher}`)).toBe(true);
    }
    expect(run.cells.find((c) => key(c) === `${MOBILENET} penultimate/3`)).toMatchObject({ deltaVsPenultimate: 0 });
    expect(run.mistakes.length).toBeGreaterThan(0);
    for (const m of run.mistakes) expect([MOBILENET, RESNET20, '*']).toContain(m.teacher);
    expect(new Set(run.profile.map((p) => p.teacher))).toEqual(new Set([MOBILENET, RESNET20]));
    for (const p of run.profile) expect(p.candidate.startsWith(`${p.teacher}/`)).toBe(true);
    // On CIFAR-10 images the CIFAR-10 teacher is far ahead of ImageNet's MobileNet.
    expect(run.cells.find((c) => key(c) === `${RESNET20} penultimate/3`)!.deltaVsPenultimate).toBeGreaterThan(0.1);
    const verdict = comparisonVerdict(run.cells, run.teachers)!;
    expect(verdict.teacher).not.toBe(MOBILENET);
    expect(verdict.text).toMatch(/^Train `[a-z-]+` with (ResNet-20 · CIFAR-10|MobileNet v1 0\.75 · ImageNet \+ ResNet-20 · CIFAR-10): \+\d+\.\d points over `penultimate` of MobileNet v1 0\.75 · ImageNet at 3 labels per class/);
    console.log(tableOf(run), `\n${verdict.text}`);

    // Each teacher's cells are its single-teacher run on the same seed: the same episodes.
    for (const teacher of [MOBILENET, RESNET20]) {
      const { run: alone } = await compare({ modelId: teacher, modelIds: undefined, strategies: ['penultimate', 'atl'] });
      expect(alone.teachers).toEqual([run.teachers.find((t) => t.id === teacher)]);
      expect(alone.cells.every((c) => c.teacher === undefined)).toBe(true);
      for (const cell of alone.cells) {
        const together = run.cells.find((c) => c.teacher === teacher && c.strategy === cell.strategy && c.shots === cell.shots)!;
        expect(together.mean).toBe(cell.mean);
        expect(project.comparisons.episodeAccuracies(run.id, cell.strategy, cell.shots, teacher)).toEqual(project.comparisons.episodeAccuracies(alone.id, cell.strategy, cell.shots));
        // Δ: against MobileNet's penultimate here, against its own alone.
        if (teacher === MOBILENET) expect(together.deltaVsPenultimate).toBeCloseTo(cell.deltaVsPenultimate, 12);
      }
    }

    // Reopened, the run reads back as it was; a single-teacher run reads back as one teacher.
    const path = project.path;
    await studio.invoke('project.close', {});
    await studio.invoke('project.open', { path });
    expect(await studio.invoke('compare.get', { id: run.id })).toEqual(run);
    const runs = await studio.invoke('compare.list', {});
    expect(runs.map((r) => r.teachers.length)).toEqual([1, 1, 2]);
  }, 600_000);

  it('refuses a baseline that is not the first teacher, or a teacher named twice, before storing a run', async () => {
    const before = (await studio.invoke('compare.list', {})).length;
    await expect(studio.invoke('compare.start', { config: config({ modelId: RESNET20 }) })).rejects.toThrow(/must be modelId/);
    await expect(studio.invoke('compare.start', { config: config({ modelIds: [MOBILENET, MOBILENET] }) })).rejects.toThrow(/named twice/);
    expect(await studio.invoke('compare.list', {})).toHaveLength(before);
  });

  it('reads an old run (no teachers column) as its one teacher', async () => {
    const project = studio.requireProject();
    const { run } = await compare({ modelId: RESNET20, modelIds: undefined, strategies: ['penultimate'], shots: [1], repeats: 2 });
    // As a studio before several teachers stored it: only teacher_name and teacher_key.
    const file = new Database(project.path, { readonly: true });
    expect(file.prepare('SELECT teachers FROM comparison_runs WHERE id = ?').get(run.id)).toEqual({ teachers: null });
    file.close();
    expect(run.teachers).toEqual([{ id: RESNET20, name: run.teacherName }]);
    expect(run.cells.map(key)).toEqual([' penultimate/1']);
  }, 120_000);
});

/** The run as the bench prints it: teacher, strategy, shots, accuracy, Δ. */
function tableOf(run: ComparisonDetail): string {
  const pct = (x: number) => (x * 100).toFixed(1);
  return run.cells.map((c) => `${(c.teacher ?? '').padEnd(22)} ${c.strategy.padEnd(13)} ${c.shots}  ${pct(c.mean)} ± ${pct(c.ci95)}  Δ ${pct(c.deltaVsPenultimate)} ± ${pct(c.deltaCi95)}`).join('\n');
}
