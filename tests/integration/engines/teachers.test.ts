/**
 * The real teachers from ../shared: MobileNet v1 through the ONNX conversion and through TF.js,
 * and ResNet-56 as shipped in ONNX. Prints the figures docs/engines.md quotes.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureExtractor } from '../../../src/main/engines/feature-extractor';
import { createOnnxExtractor } from '../../../src/main/engines/onnx-extractor';
import { globalAveragePool } from '../../../src/main/core/pooling';
import { imageLength, preprocessImage, type PreprocessSpec } from '../../../src/main/engines/preprocess';
import { mobilenetV1Teacher, onnxSidecarTeacher, type TeacherSpec } from '../../../src/main/engines/teachers';
import { createTfjsExtractor } from '../../../src/main/engines/tfjs-extractor';
import { CIFAR10_MINI, SHARED } from '../../helpers/fixtures';
import { relativeError } from './compare';

const MODELS = join(SHARED, 'models');
const PHOTOS = join(SHARED, 'datasets/photos');
const present = existsSync(MODELS) && existsSync(PHOTOS) && existsSync(CIFAR10_MINI);
if (!present) console.log(`Skipping the real-teacher tests: ${MODELS}, ${PHOTOS} or ${CIFAR10_MINI} is missing`);

describe.skipIf(!present)('MobileNet v1 0.75 (TF.js layers)', () => {
  let teacher: TeacherSpec;
  let onnx: FeatureExtractor;
  let tfjs: FeatureExtractor;
  let batch: Float32Array; // chelsea, coffee

  beforeAll(async () => {
    teacher = await mobilenetV1Teacher(join(MODELS, 'mobilenet_v1_0.75_224'));
    [onnx, tfjs, batch] = await Promise.all([
      createOnnxExtractor(teacher),
      createTfjsExtractor(teacher),
      preprocessBatch(['chelsea.png', 'coffee.png'].map((f) => join(PHOTOS, f)), teacher.preprocess),
    ]);
    console.log('engines:', JSON.stringify(onnx.describe()), JSON.stringify(tfjs.describe()));
  });
  afterAll(async () => {
    await onnx?.dispose();
    await tfjs?.dispose();
  });

  it('lists its 27 candidate layers and the pooled penultimate layer', () => {
    expect(onnx.layers).toHaveLength(28);
    expect(onnx.layers[0]).toMatchObject({ name: 'conv1_relu', shape: [24, 112, 112], depth: 0 });
    expect(onnx.layers.at(-2)).toMatchObject({ name: 'conv_pw_13_relu', shape: [768, 7, 7] });
    expect(onnx.layers.at(-1)).toMatchObject({ name: 'global_average_pooling2d_1', shape: [768, 1, 1], penultimate: true });
    expect(tfjs.layers).toEqual(onnx.layers);
    expect(['cpu', 'cuda']).toContain(onnx.describe().backend);
    expect(['tensorflow', 'wasm', 'cpu']).toContain(tfjs.describe().backend);
  });

  it('through the ONNX conversion ranks a cat first for chelsea.png and espresso for coffee.png', async () => {
    const { classifier } = teacher;
    const scores = (await onnx.run(batch, 2, [classifier.output])).get(classifier.output)!;
    expect(scores.shape).toEqual([2, 1000]);
    const [cat, coffee] = [0, 1].map((i) => topK(scores.data.subarray(i * 1000, (i + 1) * 1000), 3));
    const named = (top: Array<[number, number]>): string => top.map(([c, p]) => `${classifier.labels[c]} ${p.toFixed(3)}`).join(' | ');
    console.log(`chelsea: ${named(cat)}\ncoffee: ${named(coffee)}`);
    expect(['Egyptian cat', 'tabby, tabby cat', 'tiger cat']).toContain(classifier.labels[cat[0][0]]);
    expect(classifier.labels[coffee[0][0]]).toBe('espresso');
  });

  it('pooled features of every layer agree between TF.js and the ONNX conversion (max rel. error ≤ 1e-3)', async () => {
    const names = teacher.featureLayers;
    const [a, b] = [await onnx.run(batch, 2, names), await tfjs.run(batch, 2, names)];
    const rows: string[] = [];
    let worst = 0;
    for (const name of names) {
      const errors = [0, 1].map((image) => {
        const pa = pooledImage(a.get(name)!, image);
        const pb = pooledImage(b.get(name)!, image);
        return relativeError(pb, pa); // TF.js is the reference
      });
      worst = Math.max(worst, ...errors);
      rows.push(`${name.padEnd(27)} chelsea ${errors[0].toExponential(2)}  coffee ${errors[1].toExponential(2)}`);
    }
    console.log(`max |tfjs − onnx| / max |tfjs| of the global-average-pooled features:\n${rows.join('\n')}\nworst ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(1e-3);
  });

  it('times both engines', async () => {
    const names = teacher.featureLayers;
    const eight = new Float32Array(8 * imageLength(teacher.preprocess));
    for (let i = 0; i < 4; i++) eight.set(batch, i * batch.length);
    await onnx.run(eight, 8, names); // warm-up
    const onnxMs = (await timed(() => onnx.run(eight, 8, names))) / 8;
    const tfjsMs = (await timed(() => tfjs.run(batch, 2, names))) / 2;
    console.log(`MobileNet, all 28 layers: onnxruntime ${onnxMs.toFixed(1)} ms/img (batch 8), tfjs ${tfjs.describe().backend} ${tfjsMs.toFixed(1)} ms/img (batch 2)`);
  });
});

describe.skipIf(!present)('ResNet-56 CIFAR-10 (ONNX with exposed blocks)', () => {
  let teacher: TeacherSpec;
  let extractor: FeatureExtractor;

  beforeAll(async () => {
    teacher = await onnxSidecarTeacher(join(MODELS, 'resnet56_cifar10'));
    extractor = await createOnnxExtractor(teacher);
  });
  afterAll(async () => {
    await extractor?.dispose();
  });

  it('describes its blocks from the sidecar, NCHW', () => {
    expect(extractor.layers).toHaveLength(29);
    expect(extractor.layers[0]).toMatchObject({ name: 'stem', shape: [16, 32, 32] });
    expect(extractor.layers.find((l) => l.name === 'stage3_block8')).toMatchObject({ shape: [64, 8, 8], depth: 27 });
    expect(extractor.layers.at(-1)).toMatchObject({ name: 'pooled', shape: [64, 1, 1], penultimate: true });
  });

  it('classifies at least 88% of cifar10-mini with sharp preprocessing', async () => {
    const files = teacher.classifier.labels.flatMap((label, c) =>
      readdirSync(join(CIFAR10_MINI, label)).map((f) => ({ path: join(CIFAR10_MINI, label, f), label: c })),
    );
    expect(files).toHaveLength(500);
    const start = performance.now();
    const batch = await preprocessBatch(files.map((f) => f.path), teacher.preprocess);
    const decodeMs = performance.now() - start;
    const { output } = teacher.classifier;
    let logits!: Float32Array;
    const runMs = await timed(async () => {
      logits = (await extractor.run(batch, files.length, [output])).get(output)!.data;
    });
    const correct = files.filter((f, i) => topK(logits.subarray(i * 10, (i + 1) * 10), 1)[0][0] === f.label).length;
    console.log(
      `ResNet-56 on cifar10-mini: ${correct}/500 = ${(correct / 5).toFixed(1)}%; decode ${(decodeMs / 500).toFixed(2)} ms/img, ` +
        `onnxruntime ${(runMs / 500).toFixed(2)} ms/img (batch 500, logits only)`,
    );
    expect(correct / 500).toBeGreaterThanOrEqual(0.88);
  });

  it('returns every block as an NCHW map in one run', async () => {
    const names = extractor.layers.map((l) => l.name);
    const four = new Float32Array(4 * imageLength(teacher.preprocess));
    const maps = await extractor.run(four, 4, names);
    expect(maps.get('stage2_block3')!.shape).toEqual([4, 32, 16, 16]);
    expect(maps.get('pooled')!.shape).toEqual([4, 64]);
  });
});

async function preprocessBatch(paths: string[], spec: PreprocessSpec): Promise<Float32Array> {
  const images = await Promise.all(paths.map(async (p) => preprocessImage(await readFile(p), spec)));
  const batch = new Float32Array(images.length * imageLength(spec));
  images.forEach((image, i) => batch.set(image, i * image.length));
  return batch;
}

/** The global-average-pooled features of one image of a batch's map. */
function pooledImage(map: { data: Float32Array; shape: number[] }, image: number): Float32Array {
  const pooled = globalAveragePool(map.data, map.shape);
  const channels = map.shape[1];
  return pooled.subarray(image * channels, (image + 1) * channels);
}


function topK(scores: Float32Array, k: number): Array<[number, number]> {
  return [...scores].map((s, i): [number, number] => [i, s]).sort((x, y) => y[1] - x[1]).slice(0, k);
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}
