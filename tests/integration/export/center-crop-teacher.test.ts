/**
 * A head on a center-crop teacher exports as ONNX and as TF.js, and both reproduce the studio on
 * images of other aspects than the teacher's (wide, tall, odd margins): the crop box is computed in
 * the graph from each image's shape (`CenterCrop`). The teacher: ResNet-20's ONNX file imported as
 * a user's own, with ImageNet preprocessing (center-crop). Real CIFAR-10 images, resized by sharp
 * to 48×32, 32×45 and 37×52.
 */
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/app/studio';
import type { HeadSummary } from '../../../src/shared/contract';
import { CIFAR10_MINI, SHARED, tempDir } from '../../helpers/fixtures';
import { importAndLabelFirst } from '../../helpers/labeled-project';
import { maxAbsDifference, runExportedOnnx, runExportedTfjs } from './run-exported';

const CLASSES = ['airplane', 'frog', 'ship'];
const IMAGES_PER_CLASS = 8;
const LABELED_PER_CLASS = 5;
const SIZES = [[48, 32], [32, 45], [37, 52]];

let dir: ReturnType<typeof tempDir>;
let studio: Studio;
let head: HeadSummary;

beforeAll(async () => {
  dir = tempDir('atl-crop-');
  const source = join(dir.path, 'source');
  mkdirSync(source);
  copyFileSync(join(SHARED, 'models/resnet20_cifar10/resnet20_cifar10.onnx'), join(source, 'my_resnet.onnx'));
  const images = join(dir.path, 'images');
  for (const c of CLASSES) {
    mkdirSync(join(images, c), { recursive: true });
    const files = readdirSync(join(CIFAR10_MINI, c)).sort().slice(0, IMAGES_PER_CLASS);
    for (const [i, f] of files.entries()) {
      const [width, height] = SIZES[i % SIZES.length];
      await sharp(join(CIFAR10_MINI, c, f)).resize({ width, height, fit: 'fill' }).png().toFile(join(images, c, `${i}.png`));
    }
  }
  studio = new Studio({ home: join(dir.path, 'home'), front: 'web' });
  await studio.invoke('models.import', { path: join(source, 'my_resnet.onnx'), preprocess: 'imagenet' });
  await importAndLabelFirst(studio, { project: 'center-crop', images, classes: CLASSES, labeledPerClass: LABELED_PER_CLASS });
}, 120_000);
afterAll(async () => {
  await studio.dispose();
  dir.remove();
});

describe('a head on a center-crop teacher', () => {
  it('trains on the imported teacher, which center-crops', async () => {
    expect((await studio.invoke('models.inspect', { id: 'my_resnet' })).preprocess).toMatch(/^32×32 RGB, center-crop, /);
    await studio.invoke('heads.train', { modelId: 'my_resnet', strategy: 'all-layers' });
    await studio.idle();
    [head] = await studio.invoke('heads.list', {});
    await studio.invoke('predictions.run', { headId: head.id });
    await studio.idle();
    expect(await studio.invoke('predictions.status', {})).toMatchObject({ predicted: CLASSES.length * IMAGES_PER_CLASS });
  }, 180_000);

  for (const format of ['onnx', 'tfjs'] as const) {
    it(`exports as ${format === 'onnx' ? 'ONNX' : 'TF.js'}, and the export reproduces the studio on images of every aspect`, async () => {
      const out = join(dir.path, `export-${format}`);
      await studio.invoke('export.head', { headId: head.id, format, dir: out });
      const predictions = studio.requireProject().predictions.list();
      const paths = predictions.map((p) => p.path);
      const worst = maxAbsDifference(predictions, format === 'onnx' ? await runExportedOnnx(out, paths) : await runExportedTfjs(out, paths));
      console.log(`${format} export of a center-crop teacher (${head.candidates.length} candidates, ${paths.length} images of ${SIZES.map(([w, h]) => `${w}×${h}`).join(', ')}): max |Δp| = ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-4);
    }, 180_000);
  }
});
