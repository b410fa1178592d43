/**
 * Pooling inside the onnxruntime graph (`runPooled`): only vectors leave the session, and they
 * equal the maps pooled in JS (`run` + `poolMap`, what `poolInJs` does for the engines that cannot),
 * on real teachers and real images.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POOLINGS, poolMap, pooledLength } from '../../../src/main/core/pooling-spec';
import { runPooled, type FeatureExtractor } from '../../../src/main/engines/feature-extractor';
import { createOnnxExtractor } from '../../../src/main/engines/onnx-extractor';
import { pooledGraph, pooledOutputName } from '../../../src/main/engines/onnx-graph';
import { decodeOnnxModel } from '../../../src/main/engines/onnx-inventory';
import * as ort from 'onnxruntime-node';
import { preprocessImage } from '../../../src/main/engines/preprocess';
import { ModelStore } from '../../../src/main/models/model-store';
import { CIFAR10_MINI, OMNIGLOT_SMALL1, tempDir } from '../../helpers/fixtures';
import { relativeError } from './compare';

let home: ReturnType<typeof tempDir>;
let store: ModelStore;
beforeAll(() => {
  home = tempDir('atl-pooled-');
  store = new ModelStore(home.path);
});
afterAll(() => home.remove());

/** Four real images, two drawings and two photos, preprocessed for `extractor` and joined as one batch. */
async function realBatch(extractor: FeatureExtractor): Promise<Float32Array> {
  const alphabet = join(OMNIGLOT_SMALL1, readdirSync(OMNIGLOT_SMALL1).sort()[0]);
  const character = join(alphabet, readdirSync(alphabet).sort()[0]);
  const paths = [
    ...readdirSync(character).sort().slice(0, 2).map((f) => join(character, f)),
    ...['cat', 'ship'].map((c) => join(CIFAR10_MINI, c, readdirSync(join(CIFAR10_MINI, c)).sort()[0])),
  ];
  const tensors = await Promise.all(paths.map((path) => preprocessImage(readFileSync(path), extractor.preprocess)));
  const batch = new Float32Array(tensors.length * tensors[0].length);
  tensors.forEach((t, i) => batch.set(t, i * t.length));
  return batch;
}

describe('onnxruntime pools inside its graph', () => {
  // MobileNet v1 (a TF.js teacher converted to ONNX, maps up to 112×112) and ResNet-20 (a native
  // ONNX teacher whose 'pooled' output is already [N, 64]): every layer, every pooling.
  for (const id of ['mobilenet_v1_0.75_224', 'resnet20_cifar10']) {
    it(`${id}: every layer's pooled vectors equal the maps pooled in JS within 1e-5 relative`, async () => {
      const extractor = await createOnnxExtractor((await store.load(id)).spec, { cuda: false });
      try {
        expect(extractor.runPooled).toBeDefined();
        const batch = await realBatch(extractor);
        const maps = await extractor.run(batch, 4, extractor.layers.map((l) => l.name));
        const worst: Record<string, number> = {};
        for (const pooling of POOLINGS) {
          const inGraph = await runPooled(extractor, batch, 4, extractor.layers, pooling);
          for (const layer of extractor.layers) {
            const ours = inGraph.get(layer.name)!;
            expect(ours.shape, `${layer.name} ${pooling}`).toEqual([4, pooledLength(layer, pooling)]);
            const error = relativeError(poolMap(maps.get(layer.name)!, layer, pooling), ours.data);
            worst[pooling] = Math.max(worst[pooling] ?? 0, error);
            expect(error, `${layer.name} ${pooling}`).toBeLessThan(1e-5);
          }
        }
        console.log(`${id}: in-graph vs JS pooling, max relative error per pooling`, worst);
      } finally {
        await extractor.dispose();
      }
    });
  }

  it("a pooled graph's only outputs are its pooling's vectors, a tensor listed twice pooled once", async () => {
    // Any other output (a map, another pooling) would be computed on every run: onnxruntime runs
    // every node a graph output needs, whatever the run asks for.
    const spec = (await store.load('resnet20_cifar10')).spec;
    const extractor = await createOnnxExtractor(spec, { cuda: false });
    const [first, pooled] = [extractor.layers[0], extractor.layers.find((l) => l.name === 'pooled')!];
    await extractor.dispose();
    const model = pooledGraph(decodeOnnxModel(new Uint8Array(readFileSync(spec.modelPath)), spec.modelPath), [first, pooled, pooled], 'gmp');
    const session = await ort.InferenceSession.create(model);
    try {
      expect(session.outputNames).toEqual([pooledOutputName(first.name, 'gmp'), pooledOutputName('pooled', 'gmp')]);
    } finally {
      await session.release();
    }
  });

  it('checks the batch and the layers as run does, and run serves maps only', async () => {
    const extractor = await createOnnxExtractor((await store.load('resnet20_cifar10')).spec, { cuda: false });
    try {
      const image = new Float32Array(3 * 32 * 32);
      const [pooled] = extractor.layers.filter((l) => l.name === 'pooled');
      await expect(extractor.runPooled!(image.subarray(1), 1, [pooled], 'gap')).rejects.toThrow(/needs 3072 values/);
      await expect(extractor.runPooled!(image, 1, [{ ...pooled, name: 'nope' }], 'gap')).rejects.toThrow(/No feature layer named nope/);
      await expect(extractor.run(image, 1, ['atl_pooled/gap/pooled'])).rejects.toThrow(/No output named atl_pooled\/gap\/pooled/);
      expect((await extractor.runPooled!(image, 1, [], 'gap')).size).toBe(0);
    } finally {
      await extractor.dispose();
    }
  });
});
