/**
 * The WebGPU engine on real teachers and real images, against ONNX Runtime CPU: the same pooled
 * features (max relative difference ≤ 1e-3 per layer, `relativeError`). Without a GPU it runs on
 * Chromium's SwiftShader (slow: a few images only); prints the figures the report quotes.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pooling } from '../../../src/main/core/pooling-spec';
import { runPooled, type FeatureExtractor } from '../../../src/main/engines/feature-extractor';
import { createOnnxExtractor } from '../../../src/main/engines/onnx-extractor';
import { prepareBareOnnxTeacher } from '../../../src/main/engines/onnx-import';
import { imageLength, preprocessImage, type PreprocessSpec } from '../../../src/main/engines/preprocess';
import { mobilenetV1Teacher, onnxSidecarTeacher, type TeacherSpec } from '../../../src/main/engines/teachers';
import { createWebgpuExtractor, type WebgpuExtractor } from '../../../src/main/engines/webgpu-extractor';
import { CIFAR10_MINI, SHARED, tempDir } from '../../helpers/fixtures';
import { relativeError } from './compare';
import { webgpuSkipReason } from './webgpu-environment';

const MODELS = join(SHARED, 'models');
const PHOTOS = join(SHARED, 'datasets/photos');
const present = existsSync(MODELS) && existsSync(PHOTOS) && existsSync(CIFAR10_MINI);
if (!present) console.log(`Skipping the WebGPU tests: ${MODELS}, ${PHOTOS} or ${CIFAR10_MINI} is missing`);
const skip = !present || webgpuSkipReason() !== null;

async function preprocessBatch(paths: string[], spec: PreprocessSpec): Promise<Float32Array> {
  const images = await Promise.all(paths.map(async (p) => preprocessImage(await readFile(p), spec)));
  const batch = new Float32Array(images.length * imageLength(spec));
  images.forEach((image, i) => batch.set(image, i * image.length));
  return batch;
}

const CIFAR_IMAGES = ['airplane', 'cat', 'ship'].map((c) => join(CIFAR10_MINI, c, '0000.jpg'));

/** Every layer's pooled features on WebGPU against ONNX Runtime CPU; returns the worst relative error. */
async function worstPooledError(webgpu: FeatureExtractor, cpu: FeatureExtractor, batch: Float32Array, n: number, poolings: readonly Pooling[]): Promise<number> {
  let worst = 0;
  for (const pooling of poolings) {
    const [gpuVectors, cpuVectors] = [await runPooled(webgpu, batch, n, webgpu.layers, pooling), await runPooled(cpu, batch, n, cpu.layers, pooling)];
    for (const layer of cpu.layers) {
      const a = cpuVectors.get(layer.name)!;
      const b = gpuVectors.get(layer.name)!;
      expect(b.shape).toEqual(a.shape);
      worst = Math.max(worst, relativeError(a.data, b.data));
    }
  }
  return worst;
}

describe.skipIf(skip)('the WebGPU engine (TF.js on Dawn) against ONNX Runtime CPU', () => {
  const opened: FeatureExtractor[] = [];
  afterAll(async () => {
    for (const e of opened) await e.dispose();
  });
  const open = async <T extends FeatureExtractor>(extractor: Promise<T>): Promise<T> => {
    const e = await extractor;
    opened.push(e);
    return e;
  };

  let resnet20: TeacherSpec;
  beforeAll(async () => {
    resnet20 = await onnxSidecarTeacher(join(MODELS, 'resnet20_cifar10'));
  });

  // SwiftShader is slow (on 2 busy cores ~1 s per convolution of a CIFAR batch, shaders compiled
  // on first use): CI checks ResNet-20 on two images; ATL_WEBGPU_PARITY=all adds ResNet-56 and
  // MobileNet v1 (minutes on SwiftShader), for the figures in the report.
  const all = process.env.ATL_WEBGPU_PARITY === 'all';

  it('ResNet-20 (ONNX, through the ONNX → TF.js converter): same pooled features, every layer', async () => {
    const teachers = [resnet20, ...(all ? [await onnxSidecarTeacher(join(MODELS, 'resnet56_cifar10'))] : [])];
    for (const teacher of teachers) {
      const webgpu = await open(createWebgpuExtractor(teacher, { allowSoftware: true }));
      const cpu = await open(createOnnxExtractor(teacher, { cuda: false }));
      expect(webgpu.layers).toEqual(cpu.layers);
      const description = webgpu.describe();
      expect(description).toMatchObject({ engine: 'tfjs', backend: 'webgpu' });
      const images = CIFAR_IMAGES.slice(0, all ? 3 : 2);
      const batch = await preprocessBatch(images, teacher.preprocess);
      const worst = await worstPooledError(webgpu, cpu, batch, images.length, all ? ['gap', 'spatial'] : ['gap']);
      console.log(`${teacher.name} on ${description.device}: max relative difference ${worst.toExponential(2)} (${webgpu.layers.length} layers, ${images.length} images)`);
      expect(worst).toBeLessThanOrEqual(1e-3);
    }
  }, all ? 600_000 : 60_000);

  it.skipIf(!all)('MobileNet v1 (TF.js layers, through ONNX then TF.js graph): same pooled features on two photos', async () => {
    const teacher = await mobilenetV1Teacher(join(MODELS, 'mobilenet_v1_0.75_224'));
    const webgpu = await open(createWebgpuExtractor(teacher, { allowSoftware: true }));
    const cpu = await open(createOnnxExtractor(teacher, { cuda: false }));
    const batch = await preprocessBatch(['chelsea.png', 'coffee.png'].map((f) => join(PHOTOS, f)), teacher.preprocess);
    const worst = await worstPooledError(webgpu, cpu, batch, 2, ['gap', 'spatial']);
    console.log(`MobileNet v1 on WebGPU: max relative difference ${worst.toExponential(2)} (${webgpu.layers.length} layers, gap + spatial)`);
    expect(worst).toBeLessThanOrEqual(1e-3);
  }, 600_000);

  it('the int8 MobileNetV2 from the ONNX zoo (QLinear ops): the same pooled features, every layer', async () => {
    const scratch = tempDir();
    try {
      const prepared = await prepareBareOnnxTeacher(join(MODELS, 'third-party/mobilenetv2-12-int8.onnx'), 'mobilenetv2_int8.onnx', { preprocess: 'imagenet' });
      writeFileSync(join(scratch.path, 'mobilenetv2_int8.onnx'), prepared.model);
      writeFileSync(join(scratch.path, 'model.json'), JSON.stringify(prepared.sidecar));
      const teacher = await onnxSidecarTeacher(scratch.path);
      // Both compute its exact integers (engines/exact-integers.ts, the converter's ops-quantized.ts).
      const webgpu = await open(createWebgpuExtractor(teacher, { allowSoftware: true }));
      const cpu = await open(createOnnxExtractor(teacher, { cuda: false }));
      expect(webgpu.layers).toEqual(cpu.layers);
      const photos = (all ? ['chelsea.png', 'coffee.png'] : ['chelsea.png']).map((f) => join(PHOTOS, f));
      const batch = await preprocessBatch(photos, teacher.preprocess);
      const worst = await worstPooledError(webgpu, cpu, batch, photos.length, all ? ['gap', 'spatial'] : ['gap']);
      console.log(`MobileNetV2 int8 on ${webgpu.describe().device}: max relative difference ${worst.toExponential(2)} (${webgpu.layers.length} layers, ${photos.length} photos)`);
      expect(worst).toBeLessThanOrEqual(1e-3);
    } finally {
      scratch.remove();
    }
  }, all ? 600_000 : 120_000);

  it('cuts a batch to the adapter limits, and a lost device fails the run with a clear error', async () => {
    const webgpu = (await open(createWebgpuExtractor(resnet20, { allowSoftware: true }))) as WebgpuExtractor;
    expect(webgpu.maxImagesPerRun).toBeGreaterThan(1);
    const batch = await preprocessBatch(CIFAR_IMAGES, resnet20.preprocess);
    webgpu.loseDeviceForTest();
    await expect(webgpu.run(batch, CIFAR_IMAGES.length, ['pooled'])).rejects.toThrow(/WebGPU failed: the WebGPU device was lost/);
  }, 30_000);
});
