/**
 * The labeled data set out (`export-data`), on real CIFAR-10 images with a real ResNet-20 head:
 * class folders of the original bytes with a manifest, CSV/JSON with predictions, human vs
 * accepted labels, a round trip through `import --labels-from-folders`, and an export that never
 * writes over files the studio did not write.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classFolders, exportData, labeledImages, uniqueFileName, type DataExportInput } from '../../src/main/app/export-data';
import { importImages } from '../../src/main/app/import-images';
import { Studio } from '../../src/main/app/studio';
import { Project } from '../../src/main/services/project';
import { CIFAR10_MINI, copyCifarClasses, tempDir } from '../helpers/fixtures';

const CLASSES = ['cat', 'dog', 'bird'];
let dir: ReturnType<typeof tempDir>;
let studio: Studio;
let project: Project;

const job = (signal = new AbortController().signal) => ({ signal, report: () => undefined });
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const exportTo = (name: string, input: Omit<DataExportInput, 'dir'>, signal?: AbortSignal) => exportData(project, { dir: join(dir.path, name), ...input }, job(signal));

beforeAll(async () => {
  dir = tempDir('atl-export-data-');
  const data = join(dir.path, 'data');
  copyCifarClasses(join(data, 'a'), CLASSES, 6);
  // Another 'cat/0000.jpg' (a different image): two files of one class with the same name.
  mkdirSync(join(data, 'b/cat'), { recursive: true });
  copyFileSync(join(CIFAR10_MINI, 'dog', readdirSync(join(CIFAR10_MINI, 'dog')).sort()[20]), join(data, 'b/cat/0000.jpg'));
  // Unlabeled images (directly in the imported folder): the head predicts them, and a person accepts some.
  mkdirSync(join(data, 'c'));
  for (const f of readdirSync(join(CIFAR10_MINI, 'bird')).sort().slice(30, 36)) copyFileSync(join(CIFAR10_MINI, 'bird', f), join(data, 'c', f));

  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  await studio.invoke('project.create', { name: 'export-data', path: join(dir.path, 'p.atl') });
  await studio.invoke('import.start', { paths: [join(data, 'a'), join(data, 'b'), join(data, 'c')], labelsFromFolders: true });
  await studio.idle();
  project = studio.requireProject();
  await studio.invoke('heads.train', { modelId: 'resnet20_cifar10', strategy: 'ncm' });
  await studio.idle();
  const [head] = await studio.invoke('heads.list', {});
  await studio.invoke('predictions.run', { headId: head.id });
  await studio.idle();
  const unlabeled = await studio.invoke('images.list', { filter: { kind: 'unlabeled' }, sort: 'import' });
  await studio.invoke('labels.acceptPredictions', { imageIds: unlabeled.slice(0, 4).map((r) => r.id) });
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('export-data', () => {
  it('folders: one folder per class holding the original bytes under unique names, and manifest.csv with sha256, class and source', async () => {
    const result = await exportTo('folders', { format: 'folders', source: 'human' });
    expect(result).toMatchObject({ images: 19, classes: 3, skipped: [], cancelled: false });
    const out = join(dir.path, 'folders');
    expect(readdirSync(out).sort()).toEqual(['.atl-export.json', 'bird', 'cat', 'dog', 'manifest.csv']);
    expect(readdirSync(join(out, 'cat')).sort()).toContain('0000 (2).jpg');
    const [header, ...rows] = readFileSync(join(out, 'manifest.csv'), 'utf8').trim().split('\n').map((line) => line.split(','));
    expect(header).toEqual(['path', 'class', 'source', 'sha256', 'original_path', 'predicted_class', 'confidence']);
    expect(rows).toHaveLength(19);
    for (const [path, className, source, sha, original, predicted, confidence] of rows) {
      expect(path.startsWith(`${className}/`)).toBe(true);
      expect(source).toBe('human');
      // Bytes unchanged: the copy, the original and the project's record agree.
      expect(sha256(join(out, path))).toBe(sha);
      expect(sha256(original)).toBe(sha);
      expect(predicted).toMatch(/^(cat|dog|bird)$/);
      expect(Number(confidence)).toBeGreaterThan(0);
    }
  });

  it('round trip: importing the exported folders with labels from folders gives the same images and labels', async () => {
    const copy = Project.create(join(dir.path, 'round-trip.atl'));
    try {
      const report = await importImages(copy, { paths: [join(dir.path, 'folders')], labelsFromFolders: true }, job());
      expect(report).toMatchObject({ imported: 19, failed: [] });
      const pairs = (p: Project) => labeledImages(p, 'all').map((i) => `${i.sha256} ${i.class}`).sort();
      expect(pairs(copy)).toEqual(labeledImages(project, 'human').map((i) => `${i.sha256} ${i.class}`).sort());
    } finally {
      copy.close();
    }
  });

  it('csv and json: every labeled image with its source; --source all adds the accepted predictions', async () => {
    await exportTo('csv-human', { format: 'csv', source: 'human' });
    const human = readFileSync(join(dir.path, 'csv-human/labels.csv'), 'utf8').trim().split('\n');
    expect(human).toHaveLength(1 + 19);
    await exportTo('json-all', { format: 'json', source: 'all' });
    const all = JSON.parse(readFileSync(join(dir.path, 'json-all/labels.json'), 'utf8')) as { path: string; source: string; predictedClass: string; confidence: number }[];
    expect(all).toHaveLength(23);
    const accepted = all.filter((r) => r.source === 'prediction');
    expect(accepted).toHaveLength(4);
    for (const r of all) expect(existsSync(r.path)).toBe(true); // the original file
    for (const r of accepted) expect(r.confidence).toBeGreaterThan(0);
  });

  it('never writes over files it did not write; replaces its own earlier export; a cancelled run changes nothing', async () => {
    const foreign = join(dir.path, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    await expect(exportTo('foreign', { format: 'csv', source: 'human' })).rejects.toThrow(/did not write or that changed since: notes\.txt\. Nothing was changed/);
    expect(readdirSync(foreign)).toEqual(['notes.txt']);

    await exportTo('folders', { format: 'csv', source: 'all' }); // over the earlier export: the studio wrote it
    expect(readdirSync(join(dir.path, 'folders')).sort()).toEqual(['.atl-export.json', 'labels.csv']);

    const cancel = new AbortController();
    cancel.abort();
    expect(await exportTo('cancelled', { format: 'folders', source: 'human' }, cancel.signal)).toMatchObject({ cancelled: true });
    expect(existsSync(join(dir.path, 'cancelled'))).toBe(false);
    expect(readdirSync(dir.path).filter((name) => name.startsWith('.'))).toEqual([]); // no lock, staging or backup left beside it
  });

  it('an original moved since import is left out and named; the export runs as a studio job with progress', async () => {
    const original = labeledImages(project, 'human')[0].originalPath;
    renameSync(original, `${original}.moved`);
    try {
      const events: string[] = [];
      studio.onEvent((e) => e.type === 'job.progress' && e.job.kind === 'export-data' && events.push(`${e.job.state}: ${e.job.message}`));
      await studio.invoke('export.data', { dir: join(dir.path, 'studio-job'), format: 'folders', source: 'human' });
      await studio.idle();
      expect(events.some((e) => e.startsWith('running: Copying images into class folders'))).toBe(true);
      expect(events.at(-1)).toMatch(/^done: Exported 18 images of 3 classes \([\d.]+ MB\) into .*studio-job$/);
      expect(readFileSync(join(dir.path, 'studio-job/manifest.csv'), 'utf8')).not.toContain(original);
    } finally {
      renameSync(`${original}.moved`, original);
    }
  });

  it('names class folders and files safely and uniquely', () => {
    expect([...classFolders(['Greek/alpha', 'a:b', 'a?b', 'Cat', 'cat', 'manifest.csv', '..']).values()]).toEqual([
      'Greek/alpha',
      'a_b',
      'a_b (2)',
      'Cat',
      'cat (2)',
      'manifest.csv (2)',
      'project',
    ]);
    const taken = new Set<string>();
    expect(['x.png', 'X.PNG', 'x.png', 'noext', 'noext'].map((n) => uniqueFileName(n, taken))).toEqual(['x.png', 'X (2).PNG', 'x (3).png', 'noext', 'noext (2)']);
  });
});
