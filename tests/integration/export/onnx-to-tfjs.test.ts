/**
 * ONNX → TF.js graph model: the converted model, written to disk and loaded back with
 * `loadGraphModel`, must give what onnxruntime gives on the ONNX model, on real images:
 * ResNet-20 (CIFAR-10), the MobileNet v1 conversion, and a small graph of the classifier-head ops.
 * Prints the measured differences.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareBareOnnxTeacher } from '../../../src/main/engines/onnx-import';
import { preprocessImage, type PreprocessSpec } from '../../../src/main/engines/preprocess';
import { mobilenetV1Teacher, onnxSidecarTeacher } from '../../../src/main/engines/teachers';
import { readLayersModelFiles, readModelJson } from '../../../src/main/engines/tfjs-layers-files';
import { convertTfjsLayersModel } from '../../../src/main/engines/tfjs-to-onnx';
import { convertOnnxToTfjsGraph, writeTfjsGraphModel, type ConvertedGraphModel } from '../../../src/main/export/onnx-to-tfjs';
import { CIFAR10_MINI, SHARED, tempDir } from '../../helpers/fixtures';
import { withUint8Weights } from '../../helpers/quantized';
import { relativeError } from '../engines/compare';
import { seededRandom } from '../engines/tiny-graph-model';

const { onnx } = onnxProto;
const MODELS = join(SHARED, 'models');
const RESNET = join(MODELS, 'resnet20_cifar10');
const MOBILENET = join(MODELS, 'mobilenet_v1_0.75_224');
const INT8_MOBILENET = join(MODELS, 'third-party/mobilenetv2-12-int8.onnx');
const present = existsSync(join(RESNET, 'resnet20_cifar10.onnx')) && existsSync(join(MOBILENET, 'model.json')) && existsSync(CIFAR10_MINI);
if (!present) console.log(`Skipping the real-model ONNX → TF.js tests: ${RESNET}, ${MOBILENET} or ${CIFAR10_MINI} is missing`);

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('atl-onnx-tfjs-');
});
afterAll(() => dir.remove());

type Outputs = Map<string, { data: Float32Array; shape: number[] }>;

async function runOnnx(model: Uint8Array, input: Float32Array, shape: number[], names: string[]): Promise<Outputs> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  try {
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, shape) }, names);
    return new Map(names.map((n) => [n, { data: result[n].data as Float32Array, shape: [...result[n].dims] }]));
  } finally {
    await session.release();
  }
}

/** Writes the conversion, reads it back as the app would (files → in-memory IO handler). */
async function loadConverted(converted: ConvertedGraphModel, name: string): Promise<GraphModel> {
  const folder = join(dir.path, name);
  await writeTfjsGraphModel(folder, converted);
  const path = join(folder, 'model.json');
  const json = await readModelJson(path);
  const files = await readLayersModelFiles(path, { dtypes: ['float32', 'int32'] });
  return loadGraphModel({
    load: async () => ({
      modelTopology: files.modelTopology,
      weightSpecs: files.weightSpecs,
      weightData: files.weightData,
      format: 'graph-model',
      signature: json.signature as object,
      userDefinedMetadata: json.userDefinedMetadata as Record<string, object>,
    }),
  });
}

/** Runs the graph model, fetching outputs by their ONNX names (mapped by the signature). */
async function runTfjs(model: GraphModel, input: Float32Array, shape: number[], names: string[]): Promise<Outputs> {
  const x = tf.tensor(input, shape);
  const ys = model.execute(x, names);
  const list = Array.isArray(ys) ? ys : [ys];
  const out: Outputs = new Map();
  for (const [i, name] of names.entries()) out.set(name, { data: (await list[i].data()) as Float32Array, shape: list[i].shape });
  tf.dispose([x, ...list]);
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** ONNX Runtime is the reference: same shapes, relative error (maps) or absolute (probabilities), at most `tolerance`. */
function compare(label: string, ref: Outputs, got: Outputs, absolute: ReadonlySet<string> = new Set(), tolerance = 1e-4): void {
  const figures: string[] = [];
  for (const [name, r] of ref) {
    const g = got.get(name)!;
    expect(g.shape, `${label} ${name}`).toEqual(r.shape);
    if (absolute.has(name)) {
      const d = maxAbsDiff(r.data, g.data);
      figures.push(`${name} abs ${d.toExponential(2)}`);
      expect(d, `${label} ${name}`).toBeLessThanOrEqual(tolerance);
    } else {
      const e = relativeError(r.data, g.data);
      figures.push(`${name} rel ${e.toExponential(2)}`);
      expect(e, `${label} ${name}`).toBeLessThanOrEqual(tolerance);
    }
  }
  console.log(`${label}: ${figures.join(', ')}`);
}

/** Converts, then runs ONNX Runtime and the written graph model on each backend; returns the conversion. */
async function checkParity(p: {
  label: string;
  bytes: Uint8Array;
  input: Float32Array;
  shape: number[];
  names: string[];
  backends: string[];
  absolute?: ReadonlySet<string>;
  /** The model ONNX Runtime runs as the reference (default: `bytes`), and the largest difference allowed (default 1e-4). */
  reference?: Uint8Array;
  tolerance?: number;
}): Promise<ConvertedGraphModel> {
  const converted = convertOnnxToTfjsGraph(p.bytes, { source: p.label });
  const ref = await runOnnx(p.reference ?? p.bytes, p.input, p.shape, p.names);
  for (const backend of p.backends) {
    await tf.setBackend(backend);
    const model = await loadConverted(converted, `${p.label}-${backend}`);
    compare(`${p.label} [${backend}]`, ref, await runTfjs(model, p.input, p.shape, p.names), p.absolute, p.tolerance);
    model.dispose();
  }
  return converted;
}

function countOps(converted: ConvertedGraphModel, op: string): number {
  const topology = converted.modelJson.modelTopology as { node: Array<{ op: string }> };
  return topology.node.filter((n) => n.op === op).length;
}

async function images(files: string[], spec: PreprocessSpec): Promise<Float32Array> {
  const parts = await Promise.all(files.map(async (f) => preprocessImage(await readFile(f), spec)));
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.forEach((p, i) => out.set(p, i * p.length));
  return out;
}

const firstImage = (cls: string): string => join(CIFAR10_MINI, cls, readdirSync(join(CIFAR10_MINI, cls)).sort()[0]);

describe.skipIf(!present)('ONNX → TF.js graph model on real networks', () => {
  it('ResNet-20: logits and block outputs match onnxruntime (cpu and wasm backends)', async () => {
    const bytes = new Uint8Array(await readFile(join(RESNET, 'resnet20_cifar10.onnx')));
    const teacher = await onnxSidecarTeacher(RESNET);
    const input = await images([firstImage('cat'), firstImage('ship')], teacher.preprocess);
    const shape = [2, 3, 32, 32];
    const names = ['logits', 'stem', 'stage1_block2', 'stage2_block0', 'stage3_block2', 'pooled'];
    const converted = await checkParity({ label: 'ResNet-20', bytes, input, shape, names, backends: ['cpu', 'wasm'] });
    expect(converted.inputs).toEqual([{ onnx: 'input', node: 'input', shape: [-1, 3, 32, 32] }]);
    const block = converted.outputs.find((o) => o.onnx === 'stage2_block0');
    expect(block).toEqual({ onnx: 'stage2_block0', node: 'stage2_block0', shape: [-1, 32, 16, 16] });
    // NCHW in, NHWC inside: one transpose for the input, one per 4-D graph output.
    expect(countOps(converted, 'Transpose')).toBe(1 + 10);
  });

  it('MobileNet v1 (converted from TF.js layers): probabilities and conv_pw_5/13 maps match onnxruntime', async () => {
    const { onnx: bytes } = await convertTfjsLayersModel(join(MOBILENET, 'model.json'), ['conv_pw_13_relu', 'conv_pw_5_relu']);
    const teacher = await mobilenetV1Teacher(MOBILENET);
    const input = await images([firstImage('dog'), firstImage('airplane')], teacher.preprocess);
    const shape = [2, 224, 224, 3];
    const names = ['conv_pw_13_relu', 'conv_pw_5_relu', 'reshape_2'];
    const absolute = new Set(['reshape_2']);
    const converted = await checkParity({ label: 'MobileNet v1', bytes, input, shape, names, backends: ['wasm'], absolute });
    // Keras's NHWC input + Transpose is absorbed: only the two NCHW map outputs transpose back.
    expect(countOps(converted, 'Transpose')).toBe(2);
    expect(countOps(converted, 'FusedDepthwiseConv2dNative')).toBe(13);
  });

  it.skipIf(!existsSync(INT8_MOBILENET))('the ONNX zoo int8 MobileNetV2 (QLinear ops): every exposed block, the penultimate and the logits are the integers ONNX Runtime computes', async () => {
    // As the studio imports it: its blocks exposed dequantized (docs/engines.md).
    const prepared = await prepareBareOnnxTeacher(INT8_MOBILENET, 'mobilenetv2_int8.onnx', { preprocess: 'imagenet' });
    const folder = join(dir.path, 'mobilenetv2_int8');
    mkdirSync(folder);
    writeFileSync(join(folder, 'mobilenetv2_int8.onnx'), prepared.model);
    writeFileSync(join(folder, 'model.json'), JSON.stringify(prepared.sidecar));
    const teacher = await onnxSidecarTeacher(folder);
    const input = await images(['chelsea.png', 'coffee.png'].map((f) => join(SHARED, 'datasets/photos', f)), teacher.preprocess);
    const shape = [2, 3, 224, 224];
    const names = teacher.featureLayers.concat('output');
    expect(names).toHaveLength(27);
    // The reference is the exact integer arithmetic (tests/helpers/quantized.ts): equal to the last bit.
    const reference = withUint8Weights(prepared.model);
    const converted = await checkParity({ label: 'MobileNetV2 int8', bytes: prepared.model, reference, input, shape, names, backends: ['cpu'], tolerance: 0 });
    expect(countOps(converted, 'Round')).toBeGreaterThan(50);
    // ONNX Runtime's u8s8 kernels on this machine's CPU may saturate (no VNNI); the classes agree all the same.
    const own = await runOnnx(prepared.model, input, shape, ['output']);
    const logits = (await runOnnx(reference, input, shape, ['output'])).get('output')!.data;
    const top = (v: Float32Array, image: number) => Array.from(v.subarray(image * 1000, (image + 1) * 1000).keys()).sort((a, b) => v[image * 1000 + b] - v[image * 1000 + a])[0];
    expect([top(logits, 0), top(logits, 1)]).toEqual([285, 967]);
    expect([top(own.get('output')!.data, 0), top(own.get('output')!.data, 1)]).toEqual([285, 967]);
    console.log(`MobileNetV2 int8: ONNX Runtime's own u8s8 logits against the exact integers: relative difference ${relativeError(logits, own.get('output')!.data).toExponential(2)}`);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// A hand-built graph with every classifier-head op

const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;

const randomInput = (shape: number[], seed: number): Float32Array => {
  const random = seededRandom(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * random());
};

/** A ModelProto (opset 13) with one input [N, ...dims]; outputs need no types. */
function onnxModel(
  nodes: Onnx.INodeProto[],
  initializers: Onnx.ITensorProto[],
  inputDims: number[],
  outputs: string[],
  inputName = 'input',
): Uint8Array {
  const dims = [{ dimParam: 'N' }, ...inputDims.map((d) => ({ dimValue: d }))];
  const model: Onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'onnx-to-tfjs test',
    graph: {
      name: 'test',
      node: nodes,
      initializer: initializers,
      input: [{ name: inputName, type: { tensorType: { elemType: T.FLOAT, shape: { dim: dims } } } }],
      output: outputs.map((name) => ({ name })),
    },
  };
  return onnx.ModelProto.encode(model).finish();
}

function floats(name: string, dims: number[], values: ArrayLike<number>): Onnx.ITensorProto {
  const data = Float32Array.from(values);
  return { name, dims, dataType: T.FLOAT, rawData: new Uint8Array(data.buffer) };
}
function int64s(name: string, dims: number[], values: number[]): Onnx.ITensorProto {
  const data = BigInt64Array.from(values.map(BigInt));
  return { name, dims, dataType: T.INT64, rawData: new Uint8Array(data.buffer) };
}
const ints = (name: string, values: number[]): Onnx.IAttributeProto => ({ name, type: A.INTS, ints: values });
const int = (name: string, i: number): Onnx.IAttributeProto => ({ name, type: A.INT, i });
const node = (opType: string, input: string[], output: string, attribute: Onnx.IAttributeProto[] = []): Onnx.INodeProto => ({
  opType,
  input,
  output: [output],
  name: output,
  attribute,
});

/**
 * The graph the export appends to a teacher (`poolingNodes`, then the head):
 * input [N,8,4,4] → AveragePool [1,4] → AveragePool [4,1] → Reshape [N,8] ──────────────┐
 *                 → MatMul [2,4] · map → MatMul · [4,2] (spatial pool, 2×2) → Reshape [N,32] ┤
 *   each: Sub(mean) → ReduceL2 → Max(eps) → Div → Mul(scale); Concat → Gather(axis 1)
 *   → MatMul [28,5] → Add → Softmax(axis 1); a Conv stem feeds it so the input is NHWC inside.
 */
function headGraph(replaceOp?: [string, string]): Uint8Array {
  const random = seededRandom(3);
  const values = (n: number): number[] => Array.from({ length: n }, () => random());
  const g = {
    nodes: [
      node('Conv', ['input', 'stem_w', 'stem_b'], 'stem', [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])]),
      node('Relu', ['stem'], 'stem_relu'),
      // Global branch: [N,8]
      node('AveragePool', ['stem_relu'], 'row_means', [ints('kernel_shape', [1, 4])]),
      node('AveragePool', ['row_means'], 'means', [ints('kernel_shape', [4, 1])]),
      node('Reshape', ['means', 'shape_vector'], 'gap'),
      node('Sub', ['gap', 'g_mean'], 'g_centered'),
      node('ReduceL2', ['g_centered'], 'g_norm', [ints('axes', [1]), int('keepdims', 1)]),
      node('Max', ['g_norm', 'eps'], 'g_safe'),
      node('Div', ['g_centered', 'g_safe'], 'g_unit'),
      node('Mul', ['g_unit', 'g_scale'], 'g_feat'),
      // Spatial branch: [2,4] × [N,8,4,4] → [N,8,2,4] × [4,2] → [N,8,2,2] → [N,32]
      node('MatMul', ['row_cells', 'stem_relu'], 's_rows'),
      node('MatMul', ['s_rows', 'col_cells'], 's_pooled'),
      node('Reshape', ['s_pooled', 'shape_flat'], 's_flat'),
      node('Sub', ['s_flat', 's_mean'], 's_centered'),
      node('ReduceL2', ['s_centered'], 's_norm', [ints('axes', [-1]), int('keepdims', 1)]),
      node('Max', ['s_norm', 'eps'], 's_safe'),
      node('Div', ['s_centered', 's_safe'], 's_unit'),
      node('Mul', ['s_unit', 's_scale'], 's_feat'),
      // Head: [N,40] → pick 28 features → [N,5]
      node('Concat', ['g_feat', 's_feat'], 'features', [int('axis', 1)]),
      node('Gather', ['features', 'keep'], 'selected', [int('axis', 1)]),
      node('MatMul', ['selected', 'fc_w'], 'fc'),
      node('Add', ['fc', 'fc_b'], 'logits'),
      node('Softmax', ['logits'], 'probs', [int('axis', 1)]),
      // A keepdims mean over a 4-D map, as an output in NCHW.
      node('ReduceMean', ['stem_relu'], 'gap4', [ints('axes', [2, 3]), int('keepdims', 1)]),
    ],
    initializers: [
      floats('stem_w', [8, 3, 3, 3], values(8 * 27)),
      floats('stem_b', [8], values(8)),
      floats('g_mean', [8], values(8)),
      floats('eps', [], [1e-6]),
      floats('g_scale', [1], [3]),
      int64s('shape_vector', [2], [0, 8]),
      floats('row_cells', [2, 4], [0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5]),
      floats('col_cells', [4, 2], [0.5, 0, 0.5, 0, 0, 0.5, 0, 0.5]),
      int64s('shape_flat', [2], [-1, 32]),
      floats('s_mean', [1, 32], values(32)),
      floats('s_scale', [1, 32], values(32).map((v) => 1 + v)),
      int64s('keep', [28], Array.from({ length: 28 }, (_, i) => (i % 2 === 0 ? i : -1 - i))),
      floats('fc_w', [28, 5], values(140).map((v) => 4 * v)),
      floats('fc_b', [5], values(5)),
    ],
  };
  if (replaceOp) g.nodes.find((n) => n.name === replaceOp[0])!.opType = replaceOp[1];
  return onnxModel(g.nodes, g.initializers, [3, 4, 4], ['probs', 'features', 'gap4', 's_rows']);
}

const f = (name: string, attribute: number): Onnx.IAttributeProto => ({ name, type: A.FLOAT, f: attribute });
const s = (name: string, value: string): Onnx.IAttributeProto => ({ name, type: A.STRING, s: Buffer.from(value) });

const LAYOUT_OUTPUTS = ['grouped', 'depthwise', 'bn', 'clipped', 'transposed', 'channel_softmax', 'sliced', 'padded'];
LAYOUT_OUTPUTS.push('joined', 'picked', 'flat', 'gemm', 'mixed', 'averaged');

/** input [N,4,6,5]: convolutions of every kind, then layout-sensitive ops on NHWC-held maps. */
function layoutGraph(): Uint8Array {
  const random = seededRandom(4);
  const values = (n: number): number[] => Array.from({ length: n }, () => random());
  const nodes = [
    // group 2, asymmetric pads (top 1, left 0, bottom 1, right 2)
    node('Conv', ['input', 'grouped_w', 'grouped_b'], 'grouped', [
      ints('kernel_shape', [3, 3]),
      int('group', 2),
      ints('pads', [1, 0, 1, 2]),
    ]),
    node('Conv', ['grouped', 'dw_w'], 'depthwise', [int('group', 6), s('auto_pad', 'SAME_UPPER'), ints('strides', [2, 2])]),
    node('BatchNormalization', ['grouped', 'bn_g', 'bn_b', 'bn_m', 'bn_v'], 'bn', [f('epsilon', 1e-3)]),
    node('Clip', ['bn', 'lo', 'hi'], 'clipped'),
    node('Transpose', ['clipped'], 'transposed', [ints('perm', [0, 2, 3, 1])]),
    node('Softmax', ['depthwise'], 'channel_softmax', [int('axis', 1)]),
    node('Slice', ['clipped', 'sl_starts', 'sl_ends', 'sl_axes', 'sl_steps'], 'sliced'),
    node('Pad', ['sliced', 'pad_pads'], 'padded', [s('mode', 'reflect')]),
    node('Sigmoid', ['grouped'], 'sig'),
    node('Tanh', ['bn'], 'tanh'),
    node('Concat', ['sig', 'tanh'], 'joined', [int('axis', 1)]),
    node('Constant', [], 'which', [{ name: 'value', type: A.TENSOR, t: int64s('', [], [2]) }]),
    node('Gather', ['joined', 'which'], 'picked', [int('axis', 1)]),
    node('Flatten', ['depthwise'], 'flat'),
    node('Gemm', ['flat', 'gemm_w', 'gemm_c'], 'gemm', [int('transB', 1), f('alpha', 0.5), f('beta', 2)]),
    node('Sum', ['gemm', 'gemm', 'gemm_c'], 'summed'),
    node('Min', ['summed', 'cap'], 'mixed'),
    // [N,6,6,5] → [N,6,3,3]
    node('AveragePool', ['grouped'], 'averaged', [ints('kernel_shape', [2, 3]), ints('strides', [2, 1])]),
  ];
  const initializers = [
    floats('grouped_w', [6, 2, 3, 3], values(108)),
    floats('grouped_b', [6], values(6)),
    floats('dw_w', [12, 1, 3, 3], values(108)),
    floats('bn_g', [6], values(6).map((v) => 1 + v)),
    floats('bn_b', [6], values(6)),
    floats('bn_m', [6], values(6)),
    floats('bn_v', [6], values(6).map((v) => 1 + v)),
    floats('lo', [], [-0.2]),
    floats('hi', [], [0.3]),
    int64s('sl_starts', [3], [-1, 1, 4]),
    int64s('sl_ends', [3], [-1000, 99, 0]),
    int64s('sl_axes', [3], [1, 2, 3]),
    int64s('sl_steps', [3], [-2, 2, -1]),
    int64s('pad_pads', [8], [0, 0, 1, 2, 0, 0, 1, 0]),
    floats('gemm_w', [3, 12 * 3 * 3], values(324)),
    floats('gemm_c', [3], values(3)),
    floats('cap', [1, 3], [0.5, 1, 2]),
  ];
  return onnxModel(nodes, initializers, [4, 6, 5], LAYOUT_OUTPUTS);
}

/**
 * A QDQ graph (QuantizeLinear / DequantizeLinear around float ops, as quantization-aware training
 * exports): input → Q(uint8, zp 128) → DQ → Conv (int8 weights per output channel, through a DQ)
 * → Q(zp 0: a fused ReLU) → DQ → GlobalAveragePool. Weights stay under 64 in magnitude, so ONNX
 * Runtime's u8s8 kernels cannot saturate (tests/helpers/quantized.ts).
 */
function qdqGraph(): Uint8Array {
  const bytes = (name: string, dataType: number, dims: number[], values: number[]): Onnx.ITensorProto => ({ name, dims, dataType, rawData: dataType === T.INT8 ? new Uint8Array(Int8Array.from(values).buffer) : Uint8Array.from(values) });
  const random = seededRandom(11);
  const weights = Array.from({ length: 4 * 3 * 3 * 3 }, () => Math.round(120 * random()) - 60);
  return onnxModel(
    [
      node('QuantizeLinear', ['input', 'in_scale', 'in_zp'], 'input_q'),
      node('DequantizeLinear', ['input_q', 'in_scale', 'in_zp'], 'input_dq'),
      { ...node('DequantizeLinear', ['w_q', 'w_scale', 'w_zp'], 'w'), attribute: [int('axis', 0)] },
      node('Conv', ['input_dq', 'w'], 'conv', [ints('pads', [1, 1, 1, 1])]),
      node('QuantizeLinear', ['conv', 'out_scale', 'out_zp'], 'conv_q'),
      node('DequantizeLinear', ['conv_q', 'out_scale', 'out_zp'], 'block'),
      node('GlobalAveragePool', ['block'], 'pooled'),
    ],
    [
      floats('in_scale', [], [0.01]),
      bytes('in_zp', T.UINT8, [], [128]),
      bytes('w_q', T.INT8, [4, 3, 3, 3], weights),
      floats('w_scale', [4], [0.01, 0.02, 0.015, 0.03]),
      bytes('w_zp', T.INT8, [4], [0, 0, 0, 0]),
      floats('out_scale', [], [0.05]),
      bytes('out_zp', T.UINT8, [], [0]),
    ],
    [3, 8, 8],
    ['block', 'pooled'],
  );
}

describe('ONNX → TF.js graph model: quantized (QDQ) graphs', () => {
  it('quantizes, dequantizes per channel and rounds as onnxruntime does (batch of 2)', async () => {
    const shape = [2, 3, 8, 8];
    const input = randomInput(shape, 3).map((v) => v - 1);
    await checkParity({ label: 'QDQ graph', bytes: qdqGraph(), input, shape, names: ['block', 'pooled'], backends: ['cpu', 'wasm'] });
  });
});

describe('ONNX → TF.js graph model: classifier-head ops', () => {
  it('every head op matches onnxruntime (batch of 3, cpu and wasm backends)', async () => {
    const shape = [3, 3, 4, 4];
    const names = ['probs', 'features', 'gap4', 's_rows'];
    const absolute = new Set(['probs']);
    const input = randomInput(shape, 9);
    await checkParity({ label: 'head graph', bytes: headGraph(), input, shape, names, backends: ['cpu', 'wasm'], absolute });
  });

  it('the other supported ops and layouts match onnxruntime (batch of 2)', async () => {
    const shape = [2, 4, 6, 5];
    const absolute = new Set(['channel_softmax']);
    const input = randomInput(shape, 5);
    const backends = ['cpu', 'wasm'];
    await checkParity({ label: 'layout graph', bytes: layoutGraph(), input, shape, names: LAYOUT_OUTPUTS, backends, absolute });
  });

  it('names the node and op it does not support', () => {
    expect(() => convertOnnxToTfjsGraph(headGraph(['g_norm', 'ReduceLogSumExp']), { source: 'head.onnx' })).toThrow(
      /head\.onnx: node 'g_norm' has op ReduceLogSumExp, which the ONNX → TF\.js converter does not support\. Supported: Add, /,
    );
    expect(() => convertOnnxToTfjsGraph(headGraph(['gap', 'LpNormalization']))).toThrow(/node 'gap' has op LpNormalization/);
    const padded = onnxModel([node('AveragePool', ['input'], 'avg', [ints('kernel_shape', [2, 2]), ints('pads', [1, 1, 1, 1])])], [], [3, 4, 4], ['avg']);
    expect(() => convertOnnxToTfjsGraph(padded)).toThrow(/node 'avg' \(AveragePool\): only average pooling without padding/);
  });

  it('sanitizes names TF does not allow and maps them in the signature', async () => {
    const converted = convertOnnxToTfjsGraph(onnxModel([node('Relu', ['x:0'], 'out put:1')], [], [3], ['out put:1'], 'x:0'));
    expect(converted.inputs.map((i) => i.node)).toEqual(['x_0']);
    expect(converted.outputs).toEqual([{ onnx: 'out put:1', node: 'out_put_1', shape: [-1, 3] }]);
    await tf.setBackend('cpu');
    const graph = await loadConverted(converted, 'names');
    const y = graph.execute(tf.tensor2d([[-1, 0, 2]]), ['out put:1']) as tf.Tensor;
    expect(Array.from(await y.data())).toEqual([0, 0, 2]);
    tf.dispose(y);
    graph.dispose();
  });
});
