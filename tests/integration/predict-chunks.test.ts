/**
 * Prediction over a large project holds the features of one chunk of images at a time: chunked,
 * it gives the same probabilities as in one go, and its progress counts every image once.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createTeacherService } from '../../src/main/app/composition-root';
import { predictImages } from '../../src/main/services/prediction-service';
import { Project } from '../../src/main/services/project';
import { copyCifarClasses, tempDir } from '../helpers/fixtures';

const dir = tempDir();
const teachers = createTeacherService(join(dir.path, 'home'));
afterAll(async () => {
  await teachers.dispose();
  dir.remove();
});

it('predicts in chunks exactly as in one go, progress reaching every image', async () => {
  copyCifarClasses(join(dir.path, 'images'), ['cat', 'ship', 'truck'], 12);
  const project = Project.create(join(dir.path, 'chunks.atl'));
  await project.imports.run({ roots: [join(dir.path, 'images')], labelsFromFolders: true });
  const teacher = await teachers.get('resnet20_cifar10');
  const inUse = await teachers.resolveLayers('resnet20_cifar10', 'all');
  const head = project.heads.get((await project.heads.train(project, [{ teacher, inUse }], 'penultimate'))!.id);
  const images = project.images.sources();
  const whole = await predictImages(head, [teacher], project.features, images);
  const progress: number[] = [];
  const chunked = await predictImages(head, [teacher], project.features, images, { chunkSize: 5, onProgress: (p) => progress.push(p.cached + p.done) });
  expect(chunked.rows).toEqual(whole.rows);
  expect(whole.rows).toHaveLength(36);
  expect(Array.from(chunked.probabilities)).toEqual(Array.from(whole.probabilities));
  expect(progress.at(-1)).toBe(36);
  expect(progress).toEqual([...progress].sort((a, b) => a - b));
  project.close();
});
