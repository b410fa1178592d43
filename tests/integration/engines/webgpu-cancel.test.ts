/**
 * Cancel inside a batch on the WebGPU engine: a batch is cut into runs of `maxImagesPerRun` images
 * (the adapter's buffer limits), and the job's signal is checked between those runs. ResNet-20 on
 * real CIFAR-10 images, one image a run, so a batch of three is three runs; on SwiftShader without a
 * GPU (webgpu-environment.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPooled, RunCancelled, type FeatureExtractor, type FeatureLayer } from '../../../src/main/engines/feature-extractor';
import { createOnnxExtractor } from '../../../src/main/engines/onnx-extractor';
import { imageLength, preprocessImage } from '../../../src/main/engines/preprocess';
import { onnxSidecarTeacher, type TeacherSpec } from '../../../src/main/engines/teachers';
import { createWebgpuExtractor, type WebgpuExtractor } from '../../../src/main/engines/webgpu-extractor';
import { extractFeatures, type ExtractionImage } from '../../../src/main/features/extraction';
import { FeatureCache } from '../../../src/main/features/feature-cache';
import { createExtractor, FallbackOnDeviceLoss } from '../../../src/main/models/engine-choice';
import { CIFAR10_MINI, SHARED, tempDir } from '../../helpers/fixtures';
import { relativeError } from './compare';
import { webgpuSkipReason } from './webgpu-environment';

const RESNET20 = join(SHARED, 'models/resnet20_cifar10');
const present = existsSync(RESNET20) && existsSync(CIFAR10_MINI);
if (!present) console.log(`Skipping the WebGPU cancel test: ${RESNET20} or ${CIFAR10_MINI} is missing`);
const skip = !present || webgpuSkipReason() !== null;

const KEY = 'resnet20-webgpu-cancel-test';
const BATCH = 3;
const IMAGES: ExtractionImage[] = ['airplane', 'cat', 'ship', 'dog', 'frog', 'truck'].map((c) => {
  const path = join(CIFAR10_MINI, c, '0000.jpg');
  return { path, sha256: existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : c };
});

describe.skipIf(skip)('cancelling a WebGPU extraction inside a batch', () => {
  let teacher: TeacherSpec;
  let webgpu: WebgpuExtractor;
  let cpu: FeatureExtractor;
  let layers: FeatureLayer[];
  const scratch = tempDir();
  beforeAll(async () => {
    teacher = await onnxSidecarTeacher(RESNET20);
    webgpu = await createWebgpuExtractor(teacher, { allowSoftware: true, mostImagesPerRun: 1 });
    cpu = await createOnnxExtractor(teacher, { cuda: false });
    // The first block and the penultimate: enough to see whole rows, cheap to pool.
    layers = [webgpu.layers[0], webgpu.layers.find((l) => l.penultimate)!];
  }, 60_000);
  afterAll(async () => {
    await webgpu?.dispose();
    await cpu?.dispose();
    scratch.remove();
  });

  it('stops after the run in progress, reports cancelled, keeps the batches written before whole and valid, and resumes', async () => {
    expect(webgpu.maxImagesPerRun).toBe(1);
    // Counts the engine's forward passes (one per run) and cancels while the second batch's first runs.
    const model = (webgpu as unknown as { model: { execute: (...args: unknown[]) => unknown } }).model;
    const execute = model.execute.bind(model);
    const controller = new AbortController();
    let runs = 0;
    model.execute = (...args: unknown[]) => {
      runs += 1;
      if (runs === BATCH + 1) controller.abort();
      return execute(...args);
    };

    const cache = FeatureCache.openFile(join(scratch.path, 'features.sqlite'));
    try {
      const options = { extractor: webgpu, cache, teacherKey: KEY, layers, pooling: 'gap' as const, images: IMAGES, batchSize: BATCH };
      const report = await extractFeatures({ ...options, signal: controller.signal });
      // Without the check between runs the batch would run to its end (6 runs) and be written.
      expect(runs).toBe(BATCH + 1);
      expect(report).toMatchObject({ cancelled: true, total: 6, cached: 0, done: BATCH, computed: BATCH, failed: 0 });

      const first = IMAGES.slice(0, BATCH).map((i) => i.sha256);
      const second = IMAGES.slice(BATCH).map((i) => i.sha256);
      const names = layers.map((l) => l.name);
      expect(cache.missing(first, KEY, names, 'gap')).toEqual([]);
      // Nothing of the cut batch: not one layer of one image.
      for (const layer of names) expect(cache.get(second, KEY, layer, 'gap')).toEqual([undefined, undefined, undefined]);

      // What was cached is what ONNX Runtime CPU computes for those images.
      const tensors = await Promise.all(IMAGES.slice(0, BATCH).map((i) => preprocessImage(readFileSync(i.path), teacher.preprocess)));
      const batch = new Float32Array(BATCH * imageLength(teacher.preprocess));
      tensors.forEach((t, i) => batch.set(t, i * t.length));
      const expected = await runPooled(cpu, batch, BATCH, layers, 'gap');
      for (const layer of layers) {
        const cached = cache.get(first, KEY, layer.name, 'gap');
        const joined = new Float32Array(cached.reduce((n, v) => n + v!.length, 0));
        cached.forEach((v, i) => joined.set(v!, i * v!.length));
        expect(relativeError(expected.get(layer.name)!.data, joined)).toBeLessThanOrEqual(1e-3);
      }

      // A new job computes only the cut batch.
      const resumed = await extractFeatures(options);
      expect(resumed).toMatchObject({ cancelled: false, cached: BATCH, computed: BATCH, failed: 0 });
      expect(runs).toBe(BATCH + 1 + BATCH);
      expect(cache.missing([...first, ...second], KEY, names, 'gap')).toEqual([]);
    } finally {
      cache.close();
    }
  }, 120_000);

  it('the studio\'s WebGPU extractor (behind FallbackOnDeviceLoss) hands the signal on: an aborted run computes nothing', async () => {
    const extractor = await createExtractor(teacher, { engine: 'webgpu' });
    try {
      expect(extractor).toBeInstanceOf(FallbackOnDeviceLoss);
      expect(extractor.describe().backend).toBe('webgpu');
      const image = await preprocessImage(readFileSync(IMAGES[0].path), teacher.preprocess);
      const aborted = AbortSignal.abort();
      await expect(runPooled(extractor, image, 1, layers, 'gap', aborted)).rejects.toBeInstanceOf(RunCancelled);
      await expect(extractor.run(image, 1, [layers[0].name], aborted)).rejects.toBeInstanceOf(RunCancelled);
    } finally {
      await extractor.dispose();
    }
  }, 60_000);
});
