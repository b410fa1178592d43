import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOnnxExtractor } from '../../../src/main/engines/onnx-extractor';
import { onnxSidecarTeacher } from '../../../src/main/engines/teachers';
import { createTfjsExtractor } from '../../../src/main/engines/tfjs-extractor';
import { convertTfjsLayersModel } from '../../../src/main/engines/tfjs-to-onnx';
import { tempDir } from '../../helpers/fixtures';
import { relativeError } from './compare';
import { TINY_FEATURES, TINY_INPUT, TINY_LAYERS, seeded, tinyTeacher, writeTinyModel } from './tiny-model';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir('atl-engines-');
});
afterEach(() => dir.remove());

describe('TF.js layers → ONNX converter', () => {
  it('agrees with TF.js on every supported layer type (random weights, batch of 3)', async () => {
    writeTinyModel(dir.path);
    const teacher = tinyTeacher(dir.path);
    const onnx = await createOnnxExtractor(teacher, { cuda: false });
    const tfjs = await createTfjsExtractor(teacher);
    const random = seeded(11);
    const batch = Float32Array.from({ length: 3 * TINY_INPUT.height * TINY_INPUT.width * 3 }, () => 2 * random() - 1);
    const names = [...TINY_FEATURES];
    const [a, b] = await Promise.all([onnx.run(batch, 3, names), tfjs.run(batch, 3, names)]);
    for (const name of names) {
      const x = a.get(name)!;
      const y = b.get(name)!;
      expect(x.shape, name).toEqual(y.shape);
      expect(relativeError(y.data, x.data), name).toBeLessThan(1e-5); // TF.js is the reference
    }
    // Both engines describe the layers alike ([C,H,W], NCHW order).
    expect(onnx.layers).toEqual(tfjs.layers);
    expect(onnx.layers.find((l) => l.name === 'dw')?.shape).toEqual([12, 7, 5]);
    await Promise.all([onnx.dispose(), tfjs.dispose()]);
  });

  it('both engines reject a batch of the wrong length, naming both numbers, and run the next good one', async () => {
    writeTinyModel(dir.path);
    const teacher = tinyTeacher(dir.path);
    const perImage = TINY_INPUT.height * TINY_INPUT.width * 3;
    for (const extractor of [await createOnnxExtractor(teacher, { cuda: false }), await createTfjsExtractor(teacher)]) {
      const engine = extractor.describe().engine;
      await expect(extractor.run(new Float32Array(2 * perImage - 1), 2, ['dw']), engine).rejects.toThrow(
        `A batch of 2 needs ${2 * perImage} values (${perImage} per image), got ${2 * perImage - 1}`,
      );
      expect((await extractor.run(new Float32Array(perImage), 1, ['dw'])).get('dw')?.shape, engine).toEqual([1, 12, 7, 5]);
      await extractor.dispose();
    }
  });

  it('outputs the requested layers, then the model outputs, with per-image shapes in NCHW', async () => {
    writeTinyModel(dir.path);
    const converted = await convertTfjsLayersModel(join(dir.path, 'model.json'), ['dw', 'gap']);
    expect(converted.input).toEqual({ name: 'input_1', shape: [23, 18, 3] });
    expect(converted.outputs).toEqual([
      { name: 'dw', shape: [12, 7, 5] },
      { name: 'gap', shape: [24] },
      { name: 'probs', shape: [6] },
      { name: 'conv_c', shape: [4, 3, 4] },
    ]);
  });
});

describe('bad models name the file or layer at fault', () => {
  const convert = (): Promise<unknown> => convertTfjsLayersModel(join(dir.path, 'model.json'), []);

  it('malformed model.json', async () => {
    writeTinyModel(dir.path);
    writeFileSync(join(dir.path, 'model.json'), '{"modelTopology": {');
    await expect(convert()).rejects.toThrow(/model\.json is not valid JSON/);
    writeFileSync(join(dir.path, 'model.json'), '{"format": "graph-model"}');
    await expect(convert()).rejects.toThrow(/model\.json is not a TF\.js layers model/);
    await expect(createTfjsExtractor(tinyTeacher(dir.path))).rejects.toThrow(/model\.json is not a TF\.js layers model/);
  });

  it('a missing shard', async () => {
    writeTinyModel(dir.path);
    rmSync(join(dir.path, 'group1-shard2of2'));
    await expect(convert()).rejects.toThrow(/Missing weight shard .*group1-shard2of2/);
    await expect(createTfjsExtractor(tinyTeacher(dir.path))).rejects.toThrow(/Missing weight shard .*group1-shard2of2/);
  });

  it('a truncated shard', async () => {
    writeTinyModel(dir.path);
    const shard = join(dir.path, 'group1-shard2of2');
    truncateSync(shard, readFileSync(shard).length - 3);
    await expect(convert()).rejects.toThrow(/Weight shard .*group1-shard1of2, .*group1-shard2of2 holds \d+ bytes but .* need \d+/);
  });

  it('an unsupported layer type', async () => {
    const layers = TINY_LAYERS.map((l) => (l.name === 'act_sig' ? { ...l, type: 'Conv3D' } : l));
    writeTinyModel(dir.path, layers);
    await expect(convert()).rejects.toThrow("layer 'act_sig' has type Conv3D, which the ONNX converter does not support");
  });

  it('an unsupported option of a supported layer', async () => {
    const layers = TINY_LAYERS.map((l) => (l.name === 'act_sig' ? { ...l, config: { activation: 'selu' } } : l));
    writeTinyModel(dir.path, layers);
    await expect(convert()).rejects.toThrow("layer 'act_sig' (Activation): activation 'selu' is not supported");
  });

  it('a layer missing its weights', async () => {
    const layers = TINY_LAYERS.map((l) => (l.name === 'dense' ? { ...l, weights: l.weights!.slice(0, 1) } : l));
    writeTinyModel(dir.path, layers);
    await expect(convert()).rejects.toThrow("layer 'dense' (Dense) lacks its weight 'dense/bias'");
  });

  it('an ONNX teacher with a broken sidecar or model file', async () => {
    const sidecar = join(dir.path, 'model.json');
    writeFileSync(sidecar, JSON.stringify({ name: 'x', classes: ['a', 'b'], onnx: { file: 'x.onnx' } }));
    await expect(onnxSidecarTeacher(dir.path)).rejects.toThrow(`${sidecar}: input:`);
    const teacher = { ...tinyTeacher(dir.path), format: 'onnx' as const, modelPath: join(dir.path, 'x.onnx') };
    writeFileSync(teacher.modelPath, 'not a protobuf');
    await expect(createOnnxExtractor(teacher, { cuda: false })).rejects.toThrow(`${teacher.modelPath} is not an ONNX model`);
    // A model with a graph that onnxruntime cannot load (an operator it does not know).
    const io = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 3 }, { dimValue: 32 }, { dimValue: 32 }] } } } });
    const graph = { name: 'g', node: [{ opType: 'NoSuchOperator', input: ['x'], output: ['y'] }], input: [io('x')], output: [io('y')] };
    writeFileSync(teacher.modelPath, onnxProto.onnx.ModelProto.encode({ irVersion: 7, opsetImport: [{ domain: '', version: 13 }], graph }).finish());
    await expect(createOnnxExtractor(teacher, { cuda: false })).rejects.toThrow(`onnxruntime cannot load ${teacher.modelPath}`);
  });

  it('a teacher whose declared preprocessing does not fit the model input', async () => {
    writeTinyModel(dir.path);
    const teacher = tinyTeacher(dir.path);
    const wrong = { ...teacher, preprocess: { ...teacher.preprocess, width: 20 } };
    const message = `${teacher.modelPath} takes [N,23,18,3] but its preprocessing gives [N,23,20,3] (NHWC)`;
    await expect(createOnnxExtractor(wrong, { cuda: false })).rejects.toThrow(message);
    await expect(createTfjsExtractor(wrong)).rejects.toThrow(message);
  });

  it('an output that is not a layer', async () => {
    writeTinyModel(dir.path);
    await expect(convertTfjsLayersModel(join(dir.path, 'model.json'), ['nope'])).rejects.toThrow("no layer named 'nope'");
  });
});
