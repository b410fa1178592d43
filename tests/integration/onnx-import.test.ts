/**
 * Any ONNX image backbone imports as a teacher without a sidecar (issue 11 §1): the third-party
 * int8 MobileNetV2 no one here made, the CIFAR ResNets from their .onnx alone, MobileNet v1
 * converted by the studio and saved with only its final output, a graph exported with a fixed
 * batch of 1, and the bad files each refused with what is wrong, leaving nothing in the store.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBench } from '../../src/main/app/bench';
import { importTeacher, inspectTeacher, listTeachers, missingTeachers, removeTeacher, setTeacherLayers } from '../../src/main/app/teachers';
import { teacherKey } from '../../src/main/features/feature-cache';
import { Project } from '../../src/main/services/project';
import { preprocessImage } from '../../src/main/engines/preprocess';
import { convertTfjsLayersModel } from '../../src/main/engines/tfjs-to-onnx';
import { GraphBuilder } from '../../src/main/engines/onnx-graph';
import { ModelStore } from '../../src/main/models/model-store';
import { StudioTeacherService, type OpenTeacher, type TeacherService } from '../../src/main/models/teacher-service';
import { CIFAR10_MINI, REPO, SHARED, tempDir } from '../helpers/fixtures';

const MODELS = join(SHARED, 'models');
const THIRD_PARTY = join(MODELS, 'third-party/mobilenetv2-12-int8.onnx');
const PHOTOS = join(SHARED, 'datasets/photos');
const { onnx } = onnxProto;

let dir: ReturnType<typeof tempDir>;
let store: ModelStore;
let teachers: TeacherService;

beforeAll(() => {
  dir = tempDir('atl-onnx-import-');
  store = new ModelStore(join(dir.path, 'home'), [MODELS], 'http://127.0.0.1:9/');
  teachers = new StudioTeacherService(store);
});
afterAll(async () => {
  await teachers.dispose();
  dir.remove();
});

async function photoBatch(teacher: OpenTeacher, files: string[]): Promise<Float32Array[]> {
  return Promise.all(files.map(async (file) => preprocessImage(readFileSync(file), teacher.spec.preprocess)));
}

function topClasses(scores: Float32Array, k: number): number[] {
  return [...scores.keys()].sort((a, b) => scores[b] - scores[a]).slice(0, k);
}

/** A copy of `source` in a folder of its own (no sidecar beside it), changed by `edit` first. */
function bareCopy(source: string, name: string, edit?: (model: onnxProto.onnx.ModelProto) => void): string {
  const folder = join(dir.path, `source-${name}`);
  mkdirSync(folder, { recursive: true });
  const target = join(folder, `${name}.onnx`);
  if (!edit) cpSync(source, target);
  else {
    const model = onnx.ModelProto.decode(readFileSync(source));
    edit(model);
    writeFileSync(target, onnx.ModelProto.encode(model).finish());
  }
  return target;
}

describe('the third-party int8 MobileNetV2 (QLinear ops, only input and output exposed)', () => {
  let teacher: OpenTeacher;

  beforeAll(async () => {
    const before = statSync(THIRD_PARTY).mtimeMs;
    const entry = await store.import(THIRD_PARTY, { preprocess: 'imagenet', id: 'mobilenetv2_int8', name: 'MobileNetV2 int8 (ONNX zoo)' });
    expect(entry).toMatchObject({ id: 'mobilenetv2_int8', name: 'MobileNetV2 int8 (ONNX zoo)', source: 'imported', format: 'onnx', problem: null });
    // Read only: the source folder keeps just the file, untouched.
    expect(readdirSync(join(MODELS, 'third-party'))).toEqual(['mobilenetv2-12-int8.onnx']);
    expect(statSync(THIRD_PARTY).mtimeMs).toBe(before);
    teacher = await teachers.get('mobilenetv2_int8');
  });

  it('lists its blocks in depth order and its 1280-d penultimate, found from the graph', async () => {
    const { layers } = await teachers.inventory('mobilenetv2_int8');
    console.log(`MobileNetV2 int8 inventory (${layers.length}): ${layers.map((l) => `${l.name}[${l.shape.join(',')}]`).join(' ')}`);
    expect(layers).toHaveLength(26);
    expect(layers[0]).toMatchObject({ name: '474', shape: [32, 112, 112], depth: 0, enabled: true });
    expect(layers.at(-2)).toMatchObject({ name: '627', shape: [1280, 7, 7] });
    expect(layers.at(-1)).toMatchObject({ name: '472', shape: [1280, 1, 1], penultimate: true });
    // Deeper blocks never grow in resolution, and every residual Add's output is one of them.
    const sides = layers.map((l) => l.shape[1]);
    expect(sides).toEqual([...sides].sort((a, b) => b - a));
    for (const add of ['339', '356', '365', '382', '391', '400', '417', '426', '443', '452']) expect(layers.map((l) => l.name)).toContain(add);
  });

  it('records the source sha256 and its preprocessing with the resize policy', () => {
    const sidecar = JSON.parse(readFileSync(join(store.modelsDir, 'mobilenetv2_int8/model.json'), 'utf8'));
    expect(sidecar.generated.source_sha256).toBe('83530ad811bc31d2b60a5599a21265a5057608c9b044b4ee758cc22f2309f54f');
    expect(teacher.spec.preprocess).toMatchObject({ width: 224, height: 224, layout: 'NCHW', resize: 'center-crop' });
    expect(teacher.spec.preprocess.normalization).toEqual({ kind: 'mean-std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(readdirSync(join(store.modelsDir, 'mobilenetv2_int8')).sort()).toEqual(['atl-teacher.json', 'mobilenetv2_int8.onnx', 'model.json']);
  });

  it("ranks Egyptian cat (285) first for chelsea.png and espresso (967) for coffee.png with its own logits", async () => {
    const images = await photoBatch(teacher, ['chelsea.png', 'coffee.png'].map((f) => join(PHOTOS, f)));
    const batch = new Float32Array(images.flatMap((image) => [...image]));
    const scores = (await teacher.extractor.run(batch, 2, ['output'])).get('output')!;
    expect(scores.shape).toEqual([2, 1000]);
    const [cat, coffee] = [0, 1].map((i) => topClasses(scores.data.subarray(i * 1000, (i + 1) * 1000), 3));
    console.log(`MobileNetV2 int8 top-3: chelsea ${cat.join(', ')}; coffee ${coffee.join(', ')}`);
    expect(cat[0]).toBe(285);
    expect(cat).toEqual(expect.arrayContaining([281, 282])); // tabby, tiger cat
    expect(coffee[0]).toBe(967);
  });

  it('extracts every block and the penultimate, dequantized, for a batch', async () => {
    const images = await photoBatch(teacher, ['chelsea.png', 'coffee.png', 'chelsea.png'].map((f) => join(PHOTOS, f)));
    const batch = new Float32Array(images.flatMap((image) => [...image]));
    const names = teacher.extractor.layers.map((l) => l.name);
    const maps = await teacher.extractor.run(batch, 3, names);
    for (const layer of teacher.extractor.layers) {
      const map = maps.get(layer.name)!;
      expect(map.shape).toEqual(layer.penultimate ? [3, 1280] : [3, ...layer.shape]);
      expect(map.data.every(Number.isFinite)).toBe(true);
    }
    // Asking for no layer runs nothing (the bench asks so for a pooling no layer in use needs).
    expect((await teacher.extractor.run(batch, 3, [])).size).toBe(0);
    const pooled = maps.get('472')!.data;
    // Real-valued (a quantized uint8 would be whole numbers) and the same for the same image.
    expect(pooled.some((v) => !Number.isInteger(v))).toBe(true);
    expect([...pooled.subarray(0, 1280)]).toEqual([...pooled.subarray(2560)]);
    expect([...pooled.subarray(0, 1280)]).not.toEqual([...pooled.subarray(1280, 2560)]);
  });
});

describe('the CIFAR ResNets imported from the .onnx alone', () => {
  for (const [id, blocks] of [['resnet20_cifar10', 3], ['resnet56_cifar10', 9]] as const) {
    it(`${id}: finds the stem, its ${3 * blocks} residual blocks and the 64-d pooled penultimate, as its sidecar lists them`, async () => {
      const source = bareCopy(join(MODELS, id, `${id}.onnx`), `${id}_bare`);
      await store.import(source);
      const { layers, teacher } = await teachers.inventory(`${id}_bare`);
      const stages = [1, 2, 3].flatMap((s) => Array.from({ length: blocks }, (_, b) => `stage${s}_block${b}`));
      expect(layers.map((l) => l.name)).toEqual(['stem', ...stages, 'pooled']);
      expect(layers.at(-1)).toMatchObject({ shape: [64, 1, 1], penultimate: true });
      expect(layers.at(-2)).toMatchObject({ shape: [64, 8, 8] });
      expect(teacher.spec.preprocess).toMatchObject({ width: 32, height: 32, layout: 'NCHW' });
      // The same features as the teacher with its sidecar.
      const withSidecar = await teachers.get(id);
      const image = (await photoBatch(teacher, [join(CIFAR10_MINI, 'cat', readdirSync(join(CIFAR10_MINI, 'cat'))[0])]))[0];
      const [ours, theirs] = await Promise.all([teacher, withSidecar].map(async (t) => (await t.extractor.run(image, 1, ['stage2_block1', 'pooled']))));
      for (const name of ['stage2_block1', 'pooled']) expect([...ours.get(name)!.data]).toEqual([...theirs.get(name)!.data]);
    });
  }
});

describe('plain fp32 graphs with no exposed outputs', () => {
  it("MobileNet v1 converted by the studio and saved with only its final output: 27 ReLU blocks and the 768-d pool, NHWC, inception's [-1, 1]", async () => {
    const converted = await convertTfjsLayersModel(join(MODELS, 'mobilenet_v1_0.75_224/model.json'), []);
    const folder = join(dir.path, 'source-mobilenet-bare');
    mkdirSync(folder);
    writeFileSync(join(folder, 'mobilenet_v1_bare.onnx'), converted.onnx);
    const model = onnx.ModelProto.decode(converted.onnx);
    expect(model.graph!.output!.map((o) => o.name)).toEqual(['reshape_2']);

    await store.import(join(folder, 'mobilenet_v1_bare.onnx'), { preprocess: 'inception' });
    const { teacher, layers } = await teachers.inventory('mobilenet_v1_bare');
    expect(teacher.spec.preprocess).toMatchObject({ width: 224, height: 224, layout: 'NHWC', resize: 'stretch' });
    expect(teacher.spec.preprocess.normalization).toEqual({ kind: 'mean-std', mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    const blocks = layers.filter((l) => !l.penultimate);
    expect(blocks).toHaveLength(27);
    expect(blocks.map((l) => l.shape)).toEqual((await teachers.inventory('mobilenet_v1_0.75_224')).layers.filter((l) => !l.penultimate).map((l) => l.shape));
    expect(layers.at(-1)).toMatchObject({ channels: 768, spatialSize: [1, 1], penultimate: true });
    // Keras's penultimate is a [N, 1, 1, 768] map: listed once, as the penultimate, never also as a block.
    expect(layers.filter((l) => l.name === layers.at(-1)!.name)).toHaveLength(1);
    // Its own classifier still works: a cat first for chelsea.png.
    const [image] = await photoBatch(teacher, [join(PHOTOS, 'chelsea.png')]);
    const scores = (await teacher.extractor.run(image, 1, ['reshape_2'])).get('reshape_2')!.data;
    expect([281, 282, 285]).toContain(topClasses(scores, 1)[0]);
  });

  it('a QDQ graph: a ReLU fused into a QuantizeLinear (zero point 0) ends a block, and the dequantized tensor is exposed', async () => {
    // input → Q/DQ → Conv → Q(zero point 0)/DQ → Conv → Relu → GlobalAveragePool → Flatten → Gemm
    const g = new GraphBuilder();
    const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i + 1) / 4);
    g.initializer('scale', [], Float32Array.of(0.05));
    g.initializers.push({ name: 'zero', dims: [], dataType: onnx.TensorProto.DataType.UINT8, rawData: Uint8Array.of(0) });
    g.initializers.push({ name: 'mid', dims: [], dataType: onnx.TensorProto.DataType.UINT8, rawData: Uint8Array.of(128) });
    g.node('QuantizeLinear', ['image', 'scale', 'mid'], 'image_q');
    g.node('DequantizeLinear', ['image_q', 'scale', 'mid'], 'image_dq');
    g.node('Conv', ['image_dq', g.initializer('w1', [4, 3, 3, 3], values(108))], 'conv1', [{ name: 'pads', type: onnx.AttributeProto.AttributeType.INTS, ints: [1, 1, 1, 1] }]);
    g.node('QuantizeLinear', ['conv1', 'scale', 'zero'], 'conv1_q');
    g.node('DequantizeLinear', ['conv1_q', 'scale', 'zero'], 'block1');
    g.node('Conv', ['block1', g.initializer('w2', [6, 4, 1, 1], values(24))], 'conv2');
    g.node('Relu', ['conv2'], 'block2');
    g.node('GlobalAveragePool', ['block2'], 'gap');
    g.node('Flatten', ['gap'], 'features');
    g.node('Gemm', ['features', g.initializer('fc', [5, 6], values(30))], 'scores', [{ name: 'transB', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]);
    const folder = join(dir.path, 'source-qdq');
    mkdirSync(folder);
    writeFileSync(join(folder, 'tiny_qdq.onnx'), g.graph({ name: 'image', shape: [3, 16, 16] }, [{ name: 'scores', shape: [5] }]));

    await store.import(join(folder, 'tiny_qdq.onnx'), { preprocess: 'unit' });
    const { layers } = await teachers.inventory('tiny_qdq');
    expect(layers.map((l) => [l.name, l.shape])).toEqual([['block1', [4, 16, 16]], ['block2', [6, 16, 16]], ['features', [6, 1, 1]]]);
    const teacher = await teachers.get('tiny_qdq');
    const image = (await photoBatch(teacher, [join(PHOTOS, 'coffee.png')]))[0];
    const block1 = (await teacher.extractor.run(image, 1, ['block1'])).get('block1')!.data;
    // Dequantized: multiples of the scale, none below zero (the fused ReLU).
    expect(block1.every((v) => v >= 0 && Math.abs(v / 0.05 - Math.round(v / 0.05)) < 1e-3)).toBe(true);
    expect(block1.some((v) => v > 0)).toBe(true);
  });

  it('a headless backbone with no global pool: its last block, average-pooled, is the penultimate', async () => {
    // input → Conv → Relu → Conv → Relu, the last map the only output.
    const g = new GraphBuilder();
    const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(i + 1) / 3);
    const strided = [{ name: 'strides', type: onnx.AttributeProto.AttributeType.INTS, ints: [2, 2] }];
    g.node('Relu', [g.node('Conv', ['image', g.initializer('w1', [4, 3, 1, 1], values(12))], 'conv1', strided)], 'stage1');
    g.node('Relu', [g.node('Conv', ['stage1', g.initializer('w2', [8, 4, 1, 1], values(32))], 'conv2', strided)], 'stage2');
    const folder = join(dir.path, 'source-headless');
    mkdirSync(folder);
    writeFileSync(join(folder, 'headless.onnx'), g.graph({ name: 'image', shape: [3, 32, 32] }, [{ name: 'stage2', shape: [8, 8, 8] }]));

    await store.import(join(folder, 'headless.onnx'));
    const { layers, teacher } = await teachers.inventory('headless');
    expect(layers.map((l) => [l.name, l.shape, l.penultimate])).toEqual([['stage1', [4, 16, 16], false], ['stage2', [8, 8, 8], false], ['stage2_pooled', [8, 1, 1], true]]);
    const image = (await photoBatch(teacher, [join(PHOTOS, 'chelsea.png')]))[0];
    const maps = await teacher.extractor.run(image, 1, ['stage2', 'stage2_pooled']);
    const mean = maps.get('stage2')!.data.subarray(0, 64).reduce((a, b) => a + b, 0) / 64;
    expect(maps.get('stage2_pooled')!.data[0]).toBeCloseTo(mean, 5);
  });

  it('a graph exported with a fixed batch of 1 that cannot take more runs a batch one image at a time', async () => {
    // ResNet-20 with batch 1 fixed in its input and in a Reshape's shape, and only its logits exposed.
    const source = bareCopy(join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx'), 'resnet20_batch1', (model) => {
      const graph = model.graph!;
      graph.input![0].type!.tensorType!.shape!.dim![0] = { dimValue: 1 };
      graph.output = graph.output!.filter((o) => o.name === 'logits');
      const flatten = graph.node!.find((n) => n.opType === 'Flatten')!;
      Object.assign(flatten, { opType: 'Reshape', input: [flatten.input![0], 'fixed_shape'], attribute: [] });
      const builder = new GraphBuilder();
      builder.int64('fixed_shape', [1, 64]);
      graph.initializer!.push(...builder.initializers.map((t) => onnx.TensorProto.create(t)));
    });
    await store.import(source);
    const sidecar = JSON.parse(readFileSync(join(store.modelsDir, 'resnet20_batch1/model.json'), 'utf8'));
    expect(sidecar.generated.fixed_batch).toBe(true);
    const teacher = await teachers.get('resnet20_batch1');
    const files = readdirSync(join(CIFAR10_MINI, 'dog')).slice(0, 3).map((f) => join(CIFAR10_MINI, 'dog', f));
    const images = await photoBatch(teacher, files);
    const together = await teacher.extractor.run(new Float32Array(images.flatMap((i) => [...i])), 3, ['stage3_block2', 'pooled']);
    expect(together.get('stage3_block2')!.shape).toEqual([3, 64, 8, 8]);
    for (const [i, image] of images.entries()) {
      const alone = (await teacher.extractor.run(image, 1, ['pooled'])).get('pooled')!.data;
      expect([...together.get('pooled')!.data.subarray(i * 64, (i + 1) * 64)]).toEqual([...alone]);
    }
  });
});

describe('bad files are refused with what is wrong, and nothing is left in the teacher store', () => {
  const storeEntries = (): string[] => readdirSync(store.modelsDir).filter((name) => name.startsWith('.'));
  const refuse = async (path: string, why: RegExp, options = {}): Promise<void> => {
    const installed = store.list().filter((t) => t.source === 'imported').length;
    await expect(store.import(path, options)).rejects.toThrow(why);
    expect(storeEntries()).toEqual([]);
    expect(store.list().filter((t) => t.source === 'imported')).toHaveLength(installed);
  };

  it('not an ONNX model', async () => {
    const path = join(dir.path, 'bad/notes.onnx');
    mkdirSync(join(dir.path, 'bad'), { recursive: true });
    writeFileSync(path, 'these are my notes, not a model\n'.repeat(20));
    await refuse(path, /notes\.onnx is not an ONNX model/);
  });

  it('no image-like input', async () => {
    const builder = new GraphBuilder();
    builder.node('Relu', ['features'], 'out');
    const path = join(dir.path, 'bad/tabular.onnx');
    writeFileSync(path, builder.graph({ name: 'features', shape: [10] }, [{ name: 'out', shape: [10] }]));
    await refuse(path, /tabular\.onnx has no image-like input: its input 'features' \[N,10\] is not a float32 \[N,3,H,W\] \(NCHW\) or \[N,H,W,3\] \(NHWC\) image/);
  });

  it('an operator ONNX Runtime cannot run', async () => {
    const path = bareCopy(join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx'), 'unknown_op', (model) => {
      model.graph!.node!.find((n) => n.opType === 'Relu')!.opType = 'NoSuchActivation';
    });
    await refuse(path, /ONNX Runtime cannot run .*unknown_op\.onnx: .*NoSuchActivation/);
  });

  it('a model too large to load', async () => {
    const path = join(dir.path, 'bad/huge.onnx');
    writeFileSync(path, '');
    truncateSync(path, 2 * 1024 ** 3 + 1); // sparse: takes no disk
    await refuse(path, /huge\.onnx is too large: 2\.0 GB/);
  });

  it('a size the graph does not take, and preprocessing given to a model with a sidecar', async () => {
    const path = bareCopy(join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx'), 'resnet20_sized');
    await refuse(path, /takes 32×32 images only; leave out --size or give 32/, { size: 64 });
    const withSidecar = join(dir.path, 'source-sidecar');
    mkdirSync(withSidecar);
    for (const file of ['model.json', 'resnet20_cifar10.onnx']) cpSync(join(MODELS, 'resnet20_cifar10', file), join(withSidecar, file));
    await refuse(join(withSidecar, 'resnet20_cifar10.onnx'), /model\.json gives this teacher's preprocessing and size: leave out --preprocess and --size/, { preprocess: 'unit' });
    expect(existsSync(join(store.modelsDir, 'resnet20_sized'))).toBe(false);
  });
});

describe('the teachers use-case (what the Models view and `atl-studio models` call)', () => {
  it('imports a bare .onnx with the options given, lists it, and removes only its own files', async () => {
    const source = bareCopy(join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx'), 'resnet20_to_remove');
    const info = await importTeacher(teachers, source, { id: 'short-lived', name: 'Short-lived ResNet', preprocess: 'unit' });
    expect(info).toMatchObject({ id: 'short-lived', name: 'Short-lived ResNet', installed: true, source: 'imported' });
    expect(listTeachers(teachers).map((t) => t.id)).toContain('short-lived');
    const detail = await inspectTeacher(teachers, 'short-lived');
    expect(detail.preprocess).toBe('32×32 RGB, stretch, (x/255 − mean) / std, NCHW');
    await setTeacherLayers(teachers, 'short-lived', ['stage3_block2', 'pooled']);
    const folder = join(store.modelsDir, 'short-lived');
    writeFileSync(join(folder, 'my-notes.txt'), 'not the studio’s');

    expect(await removeTeacher(teachers, 'short-lived')).toEqual(['my-notes.txt']);
    expect(readdirSync(folder)).toEqual(['my-notes.txt']);
    expect(existsSync(join(store.modelsDir, 'layers/short-lived.json'))).toBe(false);
    expect(listTeachers(teachers).map((t) => t.id)).not.toContain('short-lived');
    expect(readdirSync(join(source, '..'))).toEqual(['resnet20_to_remove.onnx']);
  });

  it('through `atl-studio models import|remove`: flags checked first, the inventory and the preprocessing printed', async () => {
    const home = join(dir.path, 'cli-home');
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(REPO, 'bin/atl-studio.mjs'), ...args], { env: { ...process.env, ATL_STUDIO_HOME: home }, encoding: 'utf8' });
    const source = bareCopy(join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx'), 'resnet20_cli');
    const bad = cli('models', 'import', source, '--preprocess', 'bogus');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--preprocess is imagenet, inception or unit/);

    const imported = cli('models', 'import', source, '--id', 'cli_resnet', '--preprocess', 'imagenet');
    expect(imported.stderr).toBe('');
    expect(imported.stdout).toMatch(/Imported teacher 'cli_resnet' into .*cli-home\/models\/cli_resnet\n  10 block layers \(stem … stage3_block2\), penultimate pooled \(64-d\)/);
    const listed = cli('models');
    expect(listed.stdout).toMatch(/ cli_resnet \(onnx\): onnxruntime · cpu · CPU[^\n]*\n(    fallback: [^\n]*\n)?    input: 32×32 RGB, center-crop, \(x\/255 − mean\) \/ std, NCHW\n    11 of 11 layers in use: stem, /);
    const removed = cli('models', 'remove', 'cli_resnet');
    expect(removed.stdout).toBe("Removed teacher 'cli_resnet'\n");
    expect(existsSync(join(home, 'models/cli_resnet'))).toBe(false);
  });

  it('never removes a teacher loading from outside the studio home', async () => {
    await expect(removeTeacher(teachers, 'resnet56_cifar10')).rejects.toThrow(/loads from .*shared\/models\/resnet56_cifar10, outside the studio home/);
    expect(existsSync(join(MODELS, 'resnet56_cifar10/resnet56_cifar10.onnx'))).toBe(true);
  });
});

describe('a project whose teacher is not installed', () => {
  it('says which teacher is missing and how to get it back, deletes nothing, and works again when the same file comes back', async () => {
    const home = new StudioTeacherService(new ModelStore(join(dir.path, 'home-missing'), [], 'http://127.0.0.1:9/'));
    const source = bareCopy(join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx'), 'resnet20_for_project');
    await importTeacher(home, source, { id: 'my_resnet', name: 'My ResNet' });
    const project = Project.create(join(dir.path, 'missing-teacher.atl'));
    try {
      const cats = readdirSync(join(CIFAR10_MINI, 'cat')).slice(0, 3).map((f) => join(CIFAR10_MINI, 'cat', f));
      await project.imports.run({ roots: cats, labelsFromFolders: false });
      const teacher = await home.get('my_resnet');
      await project.extractFeatures({ extractor: teacher.extractor, teacherKey: teacher.key, layers: await home.resolveLayers('my_resnet', ['pooled']), pooling: 'gap' });
      // A known teacher's features too, from a home where it is not installed.
      project.features.put(teacherKey('resnet56_cifar10', 'ab'.repeat(32), teacher.spec.preprocess), 'gap', [{ imageSha256: 'f'.repeat(64), layer: 'pooled', vector: new Float32Array(64) }]);
      expect(missingTeachers(home, project).map((m) => m.id)).toEqual(['resnet56_cifar10']);

      await removeTeacher(home, 'my_resnet');
      const missing = missingTeachers(home, project);
      expect(missing.map((m) => m.id)).toEqual(['my_resnet', 'resnet56_cifar10']);
      expect(missing[0]).toMatchObject({ features: true, heads: 0, weightsSha256: teacher.weightsSha256.slice(0, 16) });
      expect(missing[0].message).toMatch(
        /^This project's cached features came from the teacher 'my_resnet' \(weights sha256 [0-9a-f]{16}…\), which is not installed: import its model file again under the same id \(`atl-studio models import <file> --id my_resnet`, or the Models view\); or, with a portable copy of the project \(`atl-studio pack`\), `atl-studio unpack <file> --out <project\.atl>` installs its teachers\. Nothing in the project was deleted\.$/,
      );
      expect(missing[1].message).toMatch(/install it with `atl-studio models fetch resnet56_cifar10`/);
      expect(project.features.completeCount(teacher.key, ['pooled'], 'gap')).toBe(3);

      // The same file, from another folder and under another name: the same weights, so its features are found again.
      await importTeacher(home, bareCopy(join(MODELS, 'resnet20_cifar10/resnet20_cifar10.onnx'), 'moved_and_renamed'), { id: 'my_resnet' });
      expect(missingTeachers(home, project).map((m) => m.id)).toEqual(['resnet56_cifar10']);
      const back = await home.get('my_resnet');
      expect(back.key).toBe(teacher.key);
      expect(project.features.completeCount(back.key, ['pooled'], 'gap')).toBe(3);
      // Other preprocessing: other features.
      await removeTeacher(home, 'my_resnet');
      await importTeacher(home, source, { id: 'my_resnet', preprocess: 'unit' });
      expect((await home.get('my_resnet')).key).not.toBe(teacher.key);
    } finally {
      project.close();
      await home.dispose();
    }
  });
});

describe.skipIf(!existsSync(CIFAR10_MINI))('5-shot accuracy with its own penultimate on cifar10-mini', () => {
  it('MobileNetV2 int8 is within a few points of MobileNet v1 0.75', async () => {
    process.env.ATL_STUDIO_HOME = store.home;
    const accuracy: Record<string, number> = {};
    for (const model of ['mobilenetv2_int8', 'mobilenet_v1_0.75_224']) {
      // Only the penultimate is extracted: the bench reads the layers in use from the same home.
      await teachers.setEnabledLayers(model, [(await teachers.inventory(model)).layers.find((l) => l.penultimate)!.name]);
      const report = await runBench(
        { data: CIFAR10_MINI, model: [model], ways: 5, shots: [5], queries: 15, episodes: 100, strategies: ['penultimate'], seed: 1, cache: join(dir.path, `bench-${model}.atl`) },
        () => undefined,
        () => undefined,
      );
      accuracy[model] = report.results[0].mean;
    }
    console.log(`cifar10-mini 5-way 5-shot penultimate, 100 episodes: ${JSON.stringify(accuracy)}`);
    expect(Math.abs(accuracy.mobilenetv2_int8 - accuracy['mobilenet_v1_0.75_224'])).toBeLessThan(0.05);
  }, 600_000);
});
