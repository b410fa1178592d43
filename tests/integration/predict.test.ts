/**
 * The expert's loop on a real project: train a head, predict every image, accept predictions,
 * ask what to label next, and export the head as ONNX that reproduces the studio's probabilities.
 * Real teachers (ResNet-20 CIFAR-10; MobileNet v1), real images (Omniglot characters, CIFAR-10).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../src/main/app/studio';
import type { HeadSummary, ImageRow, JobProgress } from '../../src/shared/contract';
import { OMNIGLOT_SMALL1, REPO, tempDir } from '../helpers/fixtures';
import { importAndLabelFirst } from '../helpers/labeled-project';
import { runExportedOnnx, runExportedTfjs } from './export/run-exported';

const run = promisify(execFile);
const CHARACTERS = ['Korean/character01', 'Korean/character02', 'Korean/character03', 'Korean/character04', 'Korean/character05'];
const LABELED_PER_CLASS = 12;

let dir: ReturnType<typeof tempDir>;
let studio: Studio;
/** Image id → the character it shows (its folder). */
let truth: Map<number, string>;

async function trainHead(modelId: string, strategy: HeadSummary['strategy']): Promise<HeadSummary> {
  await studio.invoke('heads.train', { modelId, strategy });
  await studio.idle();
  return (await studio.invoke('heads.list', {}))[0];
}

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

beforeAll(async () => {
  dir = tempDir();
  const images = join(dir.path, 'images');
  for (const c of CHARACTERS) {
    mkdirSync(join(images, c), { recursive: true });
    for (const f of readdirSync(join(OMNIGLOT_SMALL1, c)).sort()) copyFileSync(join(OMNIGLOT_SMALL1, c, f), join(images, c, f));
  }
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  truth = await importAndLabelFirst(studio, { project: 'predict', images, classes: CHARACTERS, labeledPerClass: LABELED_PER_CLASS });
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('predict and correct', () => {
  let rows: ImageRow[];
  it('runs a head over every image: the grid rows carry predicted class and confidence, and most unlabeled ones are right', async () => {
    const head = await trainHead('resnet56_cifar10', 'atl');
    await studio.invoke('predictions.run', { headId: head.id });
    await studio.idle();
    const status = await studio.invoke('predictions.status', {});
    expect(status).toMatchObject({ predicted: 100, images: 100 });
    expect(status.head!.id).toBe(head.id);
    rows = await studio.invoke('images.list', { filter: { kind: 'unlabeled' }, sort: 'import' });
    expect(rows).toHaveLength(100 - 5 * LABELED_PER_CLASS);
    const classes = new Map((await studio.invoke('classes.list', {})).map((c) => [c.id, c.name]));
    const right = rows.filter((r) => classes.get(r.predictedClassId!) === truth.get(r.id)).length;
    expect(right / rows.length).toBeGreaterThan(0.6); // chance: 0.2
    for (const r of rows) expect(r.confidence).toBeGreaterThan(0.2 - 1e-9);

    const byConfidence = await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'confidence' });
    const confidences = byConfidence.map((r) => r.confidence!);
    expect(confidences).toEqual([...confidences].sort((a, b) => a - b));
    const someClass = rows[0].predictedClassId!;
    const predictedAs = await studio.invoke('images.list', { filter: { kind: 'predicted', classId: someClass }, sort: 'import' });
    expect(predictedAs.length).toBeGreaterThan(0);
    for (const r of predictedAs) expect(r).toMatchObject({ predictedClassId: someClass, classId: null });
  }, 180_000);

  it('accepts predictions as labels with source "prediction", never over a human label, as one undo step', async () => {
    const labeled = (await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })).find((r) => r.source === 'human')!;
    const picked = rows.slice(0, 5);
    const result = await studio.invoke('labels.acceptPredictions', { imageIds: [...picked.map((r) => r.id), labeled.id] });
    expect(result.changed.map((c) => c.imageId).sort()).toEqual(picked.map((r) => r.id).sort());
    const after = new Map((await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })).map((r) => [r.id, r]));
    for (const r of picked) expect(after.get(r.id)).toMatchObject({ classId: r.predictedClassId, source: 'prediction' });
    expect(after.get(labeled.id)).toMatchObject({ classId: labeled.classId, source: 'human' });
    // Human examples only: accepted predictions do not count as shots.
    expect((await studio.invoke('classes.list', {})).every((c) => c.shots === LABELED_PER_CLASS)).toBe(true);

    await studio.invoke('labels.undo', {});
    const undone = new Map((await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })).map((r) => [r.id, r]));
    for (const r of picked) expect(undone.get(r.id)).toMatchObject({ classId: null, source: null });
    await studio.invoke('labels.redo', {});
    const redone = new Map((await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })).map((r) => [r.id, r]));
    for (const r of picked) expect(redone.get(r.id)).toMatchObject({ classId: r.predictedClassId, source: 'prediction' });
  });

  it('suggests unlabeled images to label next, each once, with the reason, as a job with progress', async () => {
    const events: JobProgress[] = [];
    const unsubscribe = studio.onEvent((event) => {
      if (event.type === 'job.progress' && event.job.kind === 'suggest') events.push(event.job);
    });
    const { suggestions, cancelled } = await studio.invoke('suggest.next', { count: 12 }).finally(unsubscribe);
    expect(cancelled).toBe(false);
    expect(suggestions).toHaveLength(12);
    // Every pass over the pool is reported, then the picks, then the end; one job throughout.
    const messages = events.filter((e) => e.state === 'running').map((e) => e.message);
    expect(messages.some((m) => /how typical each image is/.test(m))).toBe(true);
    expect(messages.some((m) => /distances to the labeled images/.test(m))).toBe(true);
    expect(messages.at(-1)).toBe('Label next: picking 12 images');
    expect(events.at(-1)).toMatchObject({ state: 'done', done: 12, total: 12 });
    expect(new Set(events.map((e) => e.jobId)).size).toBe(1);
    const labeled = new Set((await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })).filter((r) => r.classId !== null).map((r) => r.id));
    expect(new Set(suggestions.map((s) => s.imageId)).size).toBe(12);
    for (const s of suggestions) {
      expect(labeled.has(s.imageId)).toBe(false);
      expect(s.reason).toMatch(/uncertain between .* and /);
    }
  }, 60_000);

  it('a newer label-next request cancels the older one, which answers "cancelled"; a ranking never blocks another job', async () => {
    const older = studio.invoke('suggest.next', { count: 5 });
    const newer = studio.invoke('suggest.next', { count: 5 });
    expect(await older).toEqual({ suggestions: [], cancelled: true });
    const latest = await newer;
    expect(latest.cancelled).toBe(false);
    expect(latest.suggestions).toHaveLength(5);
    // While a ranking runs, another job may still start (the ranking only reads).
    const ranking = studio.invoke('suggest.next', { count: 5 });
    await studio.invoke('predictions.run', { headId: (await studio.invoke('predictions.status', {})).head!.id });
    expect((await ranking).cancelled).toBe(false);
    await studio.idle();
  }, 60_000);

  it('closing the project cancels a running ranking (which blocks no close), and reopening finds it whole', async () => {
    const path = studio.requireProject().path;
    const images = studio.requireProject().images.count();
    const ranking = studio.invoke('suggest.next', { count: 5 });
    await studio.invoke('project.close', {});
    expect(await ranking).toEqual({ suggestions: [], cancelled: true });
    await studio.invoke('project.open', { path });
    expect(studio.requireProject().images.count()).toEqual(images);
    expect((await studio.invoke('suggest.next', { count: 5 })).suggestions).toHaveLength(5);
  }, 60_000);
});

describe('export', () => {
  it('writes an ONNX model with labels, preprocessing, a model card and predict.mjs that reproduce the studio (a head on every layer)', async () => {
    const project = studio.requireProject();
    // The point of this test: a head that reads hidden layers, not only the penultimate. (atl reads
    // them only where the labels show they help: here, with antialiased 32 px characters, they do not.)
    const trained = await trainHead('resnet56_cifar10', 'all-layers');
    await studio.invoke('predictions.run', { headId: trained.id });
    await studio.idle();
    const head = project.heads.get(trained.id);
    expect(head.candidates.length).toBeGreaterThan(1);
    const out = join(dir.path, 'export-onnx');
    const result = await studio.invoke('export.head', { headId: head.summary.id, format: 'onnx', dir: out });
    expect(result.files.map((f) => f.name)).toEqual(['.atl-export.json', '.npmrc', 'decode.mjs', 'labels.json', 'model-card.md', 'model.onnx', 'package.json', 'predict-browser.html', 'predict-browser.mjs', 'predict.mjs', 'preprocessing.json', 'web-runtime/']);
    console.log(`ONNX export sizes: ${result.files.map((f) => `${f.name} ${(f.bytes / 1024).toFixed(1)} KiB`).join(', ')}`);
    expect(JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')).classes.map((c: { name: string }) => c.name)).toEqual(CHARACTERS);
    const card = readFileSync(join(out, 'model-card.md'), 'utf8');
    expect(card).toContain('`all-layers`');
    expect(card).toContain(head.summary.teacherSha256);
    for (const c of head.candidates) expect(card).toContain(`\`${c.layer}\``);

    // Parity: the studio's stored probabilities vs the exported graph on the same images.
    const predictions = project.predictions.list().slice(0, 12);
    const exported = await runExportedOnnx(out, predictions.map((p) => p.path));
    const worst = Math.max(...predictions.map((p, i) => maxAbsDifference(p.probabilities, exported[i])));
    console.log(`ONNX export parity (${head.summary.modelId}, all-layers on ${head.candidates.length} blocks): max |Δp| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);

    // The TF.js export of the same head.
    const tfjsOut = join(dir.path, 'export-tfjs');
    const tfjsFiles = await studio.invoke('export.head', { headId: head.summary.id, format: 'tfjs', dir: tfjsOut });
    expect(tfjsFiles.files.map((f) => f.name)).toEqual(['.atl-export.json', '.npmrc', 'decode.mjs', 'group1-shard1of1.bin', 'labels.json', 'model-card.md', 'model.json', 'package.json', 'predict-browser.html', 'predict-browser.mjs', 'predict.mjs', 'preprocessing.json', 'web-runtime/']);
    console.log(`TF.js export sizes: ${tfjsFiles.files.map((f) => `${f.name} ${(f.bytes / 1024).toFixed(1)} KiB`).join(', ')}`);
    const fromTfjs = await runExportedTfjs(tfjsOut, predictions.map((p) => p.path));
    const worstTfjs = Math.max(...predictions.map((p, i) => maxAbsDifference(p.probabilities, fromTfjs[i])));
    console.log(`TF.js export parity (${head.summary.modelId}, all-layers): max |Δp| = ${worstTfjs.toExponential(2)}`);
    expect(worstTfjs).toBeLessThanOrEqual(1e-4);
    symlinkSync(join(REPO, 'node_modules'), join(tfjsOut, 'node_modules'));
    const tfjsRun = JSON.parse((await run(process.execPath, [join(tfjsOut, 'predict.mjs'), predictions[0].path])).stdout);
    expect(tfjsRun[0].class).toBe(project.classes.get(predictions[0].classId).name);

    // predict.mjs as a user runs it (its dependencies resolved from this checkout).
    symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'));
    const { stdout } = await run(process.execPath, [join(out, 'predict.mjs'), ...predictions.slice(0, 3).map((p) => p.path)]);
    const printed = JSON.parse(stdout) as { path: string; class: string; confidence: number }[];
    const names = new Map(project.classes.list().map((c) => [c.id, c.name]));
    printed.forEach((r, i) => {
      expect(r.path).toBe(predictions[i].path);
      expect(r.class).toBe(names.get(predictions[i].classId));
      expect(Math.abs(r.confidence - predictions[i].confidence)).toBeLessThanOrEqual(1e-4);
    });
  }, 120_000);

  it('reproduces the studio for a MobileNet head and a head2toe head (kept features) too', async () => {
    const project = studio.requireProject();
    for (const [modelId, strategy] of [
      ['mobilenet_v1_0.75_224', 'penultimate'],
      ['resnet20_cifar10', 'head2toe'],
    ] as const) {
      const head = await trainHead(modelId, strategy);
      await studio.invoke('predictions.run', { headId: head.id });
      await studio.idle();
      const out = join(dir.path, `export-${strategy}`);
      const written = await studio.invoke('export.head', { headId: head.id, format: 'onnx', dir: out });
      console.log(`ONNX export (${modelId}, ${strategy}): model.onnx ${(written.files.find((f) => f.name === 'model.onnx')!.bytes / 1024).toFixed(1)} KiB`);
      const predictions = project.predictions.list().slice(0, 6);
      const exported = await runExportedOnnx(out, predictions.map((p) => p.path));
      const worst = Math.max(...predictions.map((p, i) => maxAbsDifference(p.probabilities, exported[i])));
      console.log(`ONNX export parity (${modelId}, ${strategy}): max |Δp| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-4);
      const tfjsOut = join(dir.path, `export-tfjs-${strategy}`);
      const tfjsWritten = await studio.invoke('export.head', { headId: head.id, format: 'tfjs', dir: tfjsOut });
      console.log(`TF.js export (${modelId}, ${strategy}): ${tfjsWritten.files.filter((f) => /\.(bin|json)$/.test(f.name) && f.name.startsWith('group') || f.name === 'model.json').map((f) => `${f.name} ${(f.bytes / 1024).toFixed(1)} KiB`).join(', ')}`);
      const fromTfjs = await runExportedTfjs(tfjsOut, predictions.slice(0, 3).map((p) => p.path));
      const worstTfjs = Math.max(...fromTfjs.map((p, i) => maxAbsDifference(predictions[i].probabilities, p)));
      console.log(`TF.js export parity (${modelId}, ${strategy}): max |Δp| = ${worstTfjs.toExponential(2)}`);
      expect(worstTfjs).toBeLessThanOrEqual(1e-4);
    }
  }, 240_000);

  it('writes the predictions as CSV and JSON', async () => {
    const csv = join(dir.path, 'predictions.csv');
    await studio.invoke('export.predictions', { format: 'csv', path: csv });
    const lines = readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^path,class,confidence,label,p_/);
    expect(lines).toHaveLength(101);
    await expect(studio.invoke('export.predictions', { format: 'csv', path: csv })).rejects.toThrow(/exists already/);
    await expect(studio.invoke('export.predictions', { format: 'json', path: join(dir.path, 'p.csv') })).rejects.toThrow(/ends in \.json/);
    const json = join(dir.path, 'predictions.json');
    await studio.invoke('export.predictions', { format: 'json', path: json });
    const records = JSON.parse(readFileSync(json, 'utf8'));
    expect(records).toHaveLength(100);
    for (const r of records) expect(Object.values(r.probabilities as Record<string, number>).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });
});

describe('a class deleted after training', () => {
  it('is never given by accepting a prediction; other predictions still are', async () => {
    const project = studio.requireProject();
    const { id } = await studio.invoke('classes.create', { name: 'doomed' });
    // Relabel one character's labeled images as 'doomed', train and predict: some images are predicted 'doomed'.
    const labeled = project.images.list({ kind: 'all' }, 'import').filter((r) => r.source === 'human' && truth.get(r.id) === CHARACTERS[0]);
    await studio.invoke('labels.assign', { imageIds: labeled.map((r) => r.id), classId: id });
    const head = await trainHead('resnet20_cifar10', 'penultimate');
    await studio.invoke('predictions.run', { headId: head.id });
    await studio.idle();
    const unlabeled = await studio.invoke('images.list', { filter: { kind: 'unlabeled' }, sort: 'import' });
    const doomed = unlabeled.filter((r) => r.predictedClassId === id);
    const others = unlabeled.filter((r) => r.predictedClassId !== id);
    expect(doomed.length).toBeGreaterThan(0);
    await studio.invoke('classes.delete', { id, confirm: true });
    const after = new Map((await studio.invoke('images.list', { filter: { kind: 'all' }, sort: 'import' })).map((r) => [r.id, r]));
    for (const r of doomed) expect(after.get(r.id)).toMatchObject({ predictedClassId: null, confidence: null });
    await expect(studio.invoke('labels.acceptPredictions', { imageIds: doomed.map((r) => r.id) })).rejects.toThrow(/existing class/);
    const result = await studio.invoke('labels.acceptPredictions', { imageIds: [doomed[0].id, others[0].id] });
    expect(result.changed).toEqual([{ imageId: others[0].id, classId: others[0].predictedClassId }]);
  }, 120_000);
});
