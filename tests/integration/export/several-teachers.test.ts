/**
 * A head on several teachers (issue 11 §3): trained on MobileNet v1 and ResNet-20 together, it
 * predicts, suggests what to label next, and exports as one model (ONNX, and TF.js) with one input
 * per teacher that reproduces the studio's probabilities from the raw images (|Δp| ≤ 1e-4),
 * predict.mjs included. The CLI trains such a head with `--model a,b`; a project names each of its
 * teachers when one is missing. Real teachers, real CIFAR-10 images.
 */
import { execFile } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/app/studio';
import { missingTeachers } from '../../../src/main/app/teachers';
import { ModelStore } from '../../../src/main/models/model-store';
import { StudioTeacherService } from '../../../src/main/models/teacher-service';
import { Project } from '../../../src/main/services/project';
import type { HeadSummary } from '../../../src/shared/contract';
import { copyCifarClasses, REPO, tempDir } from '../../helpers/fixtures';
import { importAndLabelFirst } from '../../helpers/labeled-project';
import { maxAbsDifference, runExportedOnnx, runExportedTfjs } from './run-exported';

const run = promisify(execFile);
const TEACHERS = ['mobilenet_v1_0.75_224', 'resnet20_cifar10'];
const CLASSES = ['airplane', 'frog', 'ship'];
const IMAGES_PER_CLASS = 14;
const LABELED_PER_CLASS = 8;

let dir: ReturnType<typeof tempDir>;
let studio: Studio;
let projectPath: string;
let head: HeadSummary;

beforeAll(async () => {
  dir = tempDir();
  const images = join(dir.path, 'images');
  copyCifarClasses(images, CLASSES, IMAGES_PER_CLASS);
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  await importAndLabelFirst(studio, { project: 'several-teachers', images, classes: CLASSES, labeledPerClass: LABELED_PER_CLASS });
  projectPath = studio.requireProject().path;
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('a head on several teachers', () => {
  it('trains on MobileNet and ResNet-20 together (all-layers: blocks of both) and stores both teachers', async () => {
    await studio.invoke('heads.train', { modelId: TEACHERS[0], modelIds: TEACHERS, strategy: 'all-layers' });
    await studio.idle();
    [head] = await studio.invoke('heads.list', {});
    expect(head.strategy).toBe('all-layers');
    expect(head.teachers.map((t) => t.id)).toEqual(TEACHERS);
    expect(head.modelId).toBe(TEACHERS[0]);
    // The point: a head that reads blocks of both teachers.
    for (const t of TEACHERS) expect(head.candidates.some((key) => key.startsWith(`${t}/`))).toBe(true);
    expect(head.cvAccuracy).toBeGreaterThan(0.5); // chance: 1/3
    await expect(studio.invoke('heads.train', { modelId: TEACHERS[1], modelIds: TEACHERS, strategy: 'atl' })).rejects.toThrow(/must start with modelId/);
  }, 300_000);

  it('predicts every image and suggests what to label next with it', async () => {
    await studio.invoke('predictions.run', { headId: head.id });
    await studio.idle();
    expect(await studio.invoke('predictions.status', {})).toMatchObject({ predicted: 3 * IMAGES_PER_CLASS, images: 3 * IMAGES_PER_CLASS });
    const { suggestions } = await studio.invoke('suggest.next', { count: 5 });
    expect(suggestions).toHaveLength(5);
    for (const s of suggestions) expect(s.reason).toMatch(/uncertain between .* and /);
  }, 180_000);

  it('exports one ONNX model that takes the pixels once for both teachers and reproduces the studio, predict.mjs included', async () => {
    const project = studio.requireProject();
    const out = join(dir.path, 'export-onnx');
    const result = await studio.invoke('export.head', { headId: head.id, format: 'onnx', dir: out });
    console.log(`ONNX export sizes (${TEACHERS.join(' + ')}): ${result.files.map((f) => `${f.name} ${(f.bytes / 1024).toFixed(1)} KiB`).join(', ')}`);
    const preprocessing = JSON.parse(readFileSync(join(out, 'preprocessing.json'), 'utf8'));
    expect(preprocessing.teachers.map((i: { teacher: string }) => i.teacher)).toEqual(TEACHERS);
    expect(preprocessing.teachers.map((i: { width: number }) => i.width)).toEqual([224, 32]);
    const card = readFileSync(join(out, 'model-card.md'), 'utf8');
    for (const t of TEACHERS) expect(card).toContain(`(\`${t}\`)`);
    expect(card).toContain('its input `pixels`');

    const predictions = project.predictions.list().slice(0, 12);
    const worst = maxAbsDifference(predictions, await runExportedOnnx(out, predictions.map((p) => p.path)));
    console.log(`ONNX export parity (${TEACHERS.join(' + ')}, ${head.candidates.length} candidates): max |Δp| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);

    symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'));
    const { stdout } = await run(process.execPath, [join(out, 'predict.mjs'), ...predictions.slice(0, 3).map((p) => p.path)]);
    const names = new Map(project.classes.list().map((c) => [c.id, c.name]));
    (JSON.parse(stdout) as { path: string; class: string; confidence: number }[]).forEach((r, i) => {
      expect(r.path).toBe(predictions[i].path);
      expect(r.class).toBe(names.get(predictions[i].classId));
      expect(Math.abs(r.confidence - predictions[i].confidence)).toBeLessThanOrEqual(1e-4);
    });
  }, 180_000);

  it('exports it as a TF.js graph model that takes the pixels once for both teachers and reproduces the studio, predict.mjs included', async () => {
    const project = studio.requireProject();
    const out = join(dir.path, 'export-tfjs');
    const result = await studio.invoke('export.head', { headId: head.id, format: 'tfjs', dir: out });
    console.log(`TF.js export sizes (${TEACHERS.join(' + ')}): ${result.files.map((f) => `${f.name} ${(f.bytes / 1024).toFixed(1)} KiB`).join(', ')}`);
    const predictions = project.predictions.list().slice(0, 6);
    const worst = maxAbsDifference(predictions, await runExportedTfjs(out, predictions.map((p) => p.path)));
    console.log(`TF.js export parity (${TEACHERS.join(' + ')}, ${head.candidates.length} candidates): max |Δp| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);

    symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'));
    const printed = JSON.parse((await run(process.execPath, [join(out, 'predict.mjs'), predictions[0].path])).stdout);
    expect(printed[0].class).toBe(project.classes.get(predictions[0].classId).name);
    expect(Math.abs(printed[0].confidence - predictions[0].confidence)).toBeLessThanOrEqual(1e-4);
  }, 180_000);

  it('trains with atl-teachers from the CLI (--model a,b) and predicts with it', async () => {
    await studio.dispose();
    const env = { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'home') };
    const cli = (...args: string[]) => run(process.execPath, [join(REPO, 'bin/atl-studio.mjs'), ...args], { env });
    const trained = JSON.parse((await cli('train', projectPath, '--strategy', 'atl-teachers', '--model', TEACHERS.join(','), '--json')).stdout);
    expect(trained).toMatchObject({ strategy: 'atl-teachers', model: TEACHERS[0], teachers: TEACHERS });
    const predicted = JSON.parse((await cli('predict', projectPath, '--head', String(trained.id), '--json')).stdout) as { class: string }[];
    expect(predicted).toHaveLength(3 * IMAGES_PER_CLASS);
    for (const p of predicted) expect(CLASSES).toContain(p.class);
  }, 300_000);

  it("exports a head whose teachers weigh the same ('teacher' weighting, atl-teachers' union) with that weighting", async () => {
    // The all-layers head, stored with 'teacher' weighting: MobileNet's 14 blocks together then weigh what ResNet-20's 11 do.
    const env = { ...process.env, ATL_STUDIO_HOME: join(dir.path, 'home') };
    const cli = async (...args: string[]) => (await run(process.execPath, [join(REPO, 'bin/atl-studio.mjs'), ...args], { env })).stdout;
    const predict = async () => (JSON.parse(await cli('predict', projectPath, '--head', String(head.id), '--json')) as { path: string; class: string; confidence: number }[]).slice(0, 8);
    const byBlock = await predict();
    const db = new Database(projectPath);
    db.prepare("UPDATE heads SET weighting = 'teacher' WHERE id = ?").run(head.id);
    db.close();
    const byTeacher = await predict();
    // The studio's own predictions follow the weighting...
    expect(Math.max(...byTeacher.map((p, i) => Math.abs(p.confidence - byBlock[i].confidence)))).toBeGreaterThan(1e-3);
    const out = join(dir.path, 'export-teacher-weighting');
    await cli('export', projectPath, '--head', String(head.id), '--out', out);
    // ...and the export's.
    const exported = await runExportedOnnx(out, byTeacher.map((p) => p.path));
    const worst = Math.max(...byTeacher.map((p, i) => Math.abs(Math.max(...exported[i]) - p.confidence)));
    console.log(`ONNX export parity ('teacher' weighting, ${head.candidates.length} candidates): max |Δ confidence| = ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-4);
    const { classes } = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')) as { classes: { name: string }[] };
    expect(byTeacher.map((_, i) => classes[exported[i].indexOf(Math.max(...exported[i]))].name)).toEqual(byTeacher.map((p) => p.class));
  }, 180_000);

  it('counts a head on several teachers for each of its teachers when they are not installed', async () => {
    const bare = new StudioTeacherService(new ModelStore(join(dir.path, 'bare-home'), [], 'http://127.0.0.1:9/'));
    const project = Project.open(projectPath);
    try {
      const missing = missingTeachers(bare, project);
      // Both heads (the panel's all-layers and the CLI's atl-teachers) read both teachers.
      for (const id of TEACHERS) expect(missing.find((m) => m.id === id)).toMatchObject({ features: true, heads: 2 });
    } finally {
      project.close();
      await bare.dispose();
    }
  });
});
