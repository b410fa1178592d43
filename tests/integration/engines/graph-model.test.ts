/**
 * TF.js graph models (tensorflowjs_converter's `format: "graph-model"`): a tiny GraphDef written by
 * the test is imported through the model store, its layer inventory found in the graph, and its
 * maps checked against the same network computed by hand.
 */
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureExtractor } from '../../../src/main/engines/feature-extractor';
import { GRAPH_PREPROCESS_FILE } from '../../../src/main/engines/teachers';
import { ModelStore, type LoadedTeacher } from '../../../src/main/models/model-store';
import { createExtractor } from '../../../src/main/models/teacher-service';
import { tempDir } from '../../helpers/fixtures';
import { relativeError } from './compare';
import { convSame, GRAPH_INPUT, seededRandom, toChw, writeTinyGraphModel, type GraphWeights } from './tiny-graph-model';

const LABELS = ['a', 'b', 'c', 'd', 'e'];
const { height: H, width: W } = GRAPH_INPUT;

function modelFolder(root: string, name: string, options: { sidecar?: boolean; replaceOp?: [string, string]; fused?: boolean } = {}): { dir: string; weights: GraphWeights } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const weights = writeTinyGraphModel(dir, options);
  if (options.sidecar !== false) {
    const sidecar = { name: 'Tiny graph', size: [H, W], layout: 'NHWC', scale: 1 / 127.5, offset: -1, labels: LABELS };
    writeFileSync(join(dir, GRAPH_PREPROCESS_FILE), JSON.stringify(sidecar));
  }
  return { dir, weights };
}

/** The tiny network by hand, one NHWC image → its maps in NCHW. */
function byHand(x: Float32Array, w: GraphWeights): Record<string, Float32Array> {
  const c1 = convSame(x, [H, W, 3], w.conv1, [3, 3, 4], 1);
  const relu = c1.data.map((v, i) => Math.max(v + w.bias1[i % 4], 0));
  const c2 = convSame(relu, c1.shape, w.conv2, [3, 3, 6], 2);
  const relu6 = c2.data.map((v) => Math.min(Math.max(v, 0), 6));
  const r = convSame(relu6, c2.shape, w.res, [1, 1, 6], 1);
  const sum = relu6.map((v, i) => v + r.data[i]);
  const [oh, ow] = c2.shape;
  const mean = new Float32Array(6);
  for (let p = 0; p < oh * ow; p++) for (let c = 0; c < 6; c++) mean[c] += sum[p * 6 + c] / (oh * ow);
  const logits = new Float32Array(5);
  for (let k = 0; k < 5; k++) for (let c = 0; c < 6; c++) logits[k] += mean[c] * w.fc[c * 5 + k];
  const top = Math.max(...logits);
  const exp = logits.map((v) => Math.exp(v - top));
  const total = exp.reduce((a, b) => a + b, 0);
  return {
    'conv1/Relu': toChw(relu, c1.shape),
    'conv2/Relu6': toChw(relu6, c2.shape),
    'res/add': toChw(sum, c2.shape),
    'pool/Mean': mean,
    probs: exp.map((v) => v / total),
  };
}

describe('TF.js graph-model teachers', () => {
  const tmp = tempDir('atl-graph-');
  let store: ModelStore;
  let weights: GraphWeights;
  let loaded: LoadedTeacher;
  let extractor: FeatureExtractor;

  beforeAll(async () => {
    store = new ModelStore(join(tmp.path, 'home'), [], 'http://127.0.0.1:9/');
    const folder = modelFolder(tmp.path, 'tiny_graph');
    weights = folder.weights;
    const entry = await store.import(folder.dir);
    expect(entry).toMatchObject({ id: 'tiny_graph', format: 'tfjs-graph', source: 'imported' });
    loaded = await store.load('tiny_graph');
    extractor = await createExtractor(loaded.spec);
  });
  afterAll(async () => {
    await extractor?.dispose();
    tmp.remove();
  });

  it('imports the folder as a tfjs-graph teacher and reads it back', () => {
    const record = JSON.parse(readFileSync(join(store.modelsDir, 'tiny_graph', 'atl-teacher.json'), 'utf8'));
    expect(record).toMatchObject({ id: 'tiny_graph', name: 'Tiny graph', format: 'tfjs-graph', kind: 'tfjs-graph' });
    expect(loaded.spec).toMatchObject({
      format: 'tfjs-graph',
      featureLayers: ['conv1/Relu', 'conv2/Relu6', 'res/add', 'pool/Mean'],
      penultimate: 'pool/Mean',
      classifier: { output: 'probs', labels: LABELS, scores: 'probabilities' },
      preprocess: { width: W, height: H, layout: 'NHWC', normalization: { kind: 'scale', offset: -1 } },
    });
    expect(loaded.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('finds the inventory in the graph: activations, the residual sum and the pooled penultimate', () => {
    expect(extractor.describe().engine).toBe('tfjs');
    expect(['tensorflow', 'wasm', 'cpu']).toContain(extractor.describe().backend);
    expect(extractor.layers).toEqual([
      { name: 'conv1/Relu', shape: [4, 9, 8], channels: 4, spatialSize: [9, 8], depth: 0, penultimate: false },
      { name: 'conv2/Relu6', shape: [6, 5, 4], channels: 6, spatialSize: [5, 4], depth: 1, penultimate: false },
      { name: 'res/add', shape: [6, 5, 4], channels: 6, spatialSize: [5, 4], depth: 2, penultimate: false },
      { name: 'pool/Mean', shape: [6, 1, 1], channels: 6, spatialSize: [1, 1], depth: 3, penultimate: true },
    ]);
  });

  it('returns NCHW maps and class scores that match the network computed by hand', async () => {
    const random = seededRandom(11);
    const batch = Float32Array.from({ length: 2 * H * W * 3 }, () => random() * 2);
    const names = ['conv1/Relu', 'conv2/Relu6', 'res/add', 'pool/Mean', 'probs'];
    const maps = await extractor.run(batch, 2, names);
    expect(maps.get('conv1/Relu')!.shape).toEqual([2, 4, 9, 8]);
    expect(maps.get('conv2/Relu6')!.shape).toEqual([2, 6, 5, 4]);
    expect(maps.get('pool/Mean')!.shape).toEqual([2, 6]);
    expect(maps.get('probs')!.shape).toEqual([2, 5]);
    for (const image of [0, 1]) {
      const expected = byHand(batch.subarray(image * H * W * 3, (image + 1) * H * W * 3), weights);
      for (const name of names) {
        const got = maps.get(name)!.data;
        const n = expected[name].length;
        expect(relativeError(expected[name], got.subarray(image * n, (image + 1) * n)), `${name}, image ${image}`).toBeLessThan(1e-5);
      }
    }
    await expect(extractor.run(batch, 2, ['nope'])).rejects.toThrow(/no node named 'nope'/);
  });

  it('finds activations fused into convolutions by the converter, with the same values', async () => {
    const folder = modelFolder(tmp.path, 'tiny_fused', { fused: true });
    await store.import(folder.dir);
    const fused = await createExtractor((await store.load('tiny_fused')).spec);
    try {
      expect(fused.layers).toEqual(extractor.layers);
      const random = seededRandom(5);
      const batch = Float32Array.from({ length: H * W * 3 }, () => random() * 2);
      const names = fused.layers.map((l) => l.name);
      const [a, b] = [await extractor.run(batch, 1, names), await fused.run(batch, 1, names)];
      for (const name of names) expect(relativeError(a.get(name)!.data, b.get(name)!.data), name).toBeLessThan(1e-6);
    } finally {
      await fused.dispose();
    }
  });

  it('names the shard that is missing or short', async () => {
    const missing = modelFolder(tmp.path, 'missing_shard');
    rmSync(join(missing.dir, 'group1-shard1of1.bin'));
    await expect(store.import(missing.dir)).rejects.toThrow(/Missing weight shard .*missing_shard\/group1-shard1of1\.bin/);
    const short = modelFolder(tmp.path, 'short_shard');
    truncateSync(join(short.dir, 'group1-shard1of1.bin'), 100);
    await expect(store.import(short.dir)).rejects.toThrow(/short_shard\/group1-shard1of1\.bin holds 100 bytes/);
    expect(store.list().map((t) => t.id)).not.toContain('missing_shard');
  });

  it('names an op TF.js cannot run, and the node using it', async () => {
    const folder = modelFolder(tmp.path, 'odd_op', { replaceOp: ['conv2/Relu6', 'FancyActivation'] });
    await expect(store.import(folder.dir)).rejects.toThrow(/node 'conv2\/Relu6' has op FancyActivation, which TF\.js does not support/);
  });

  it('without atl-preprocess.json expects 224×224 and says why the input does not fit', async () => {
    const folder = modelFolder(tmp.path, 'no_sidecar', { sidecar: false });
    await expect(store.import(folder.dir)).rejects.toThrow(/input 'input' takes \[\?,9,8,3\] but the preprocessing gives \[N,224,224,3\] \(NHWC\)/);
  });

  it('rejects a sidecar that mixes normalizations', async () => {
    const folder = modelFolder(tmp.path, 'bad_sidecar');
    writeFileSync(join(folder.dir, GRAPH_PREPROCESS_FILE), JSON.stringify({ size: [H, W], scale: 1, mean: [0, 0, 0], std: [1, 1, 1] }));
    await expect(store.import(folder.dir)).rejects.toThrow(/atl-preprocess\.json: .*either "scale"\/"offset" or "mean"\/"std"/);
  });
});
