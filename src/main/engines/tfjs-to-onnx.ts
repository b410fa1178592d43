/**
 * Converts a TF.js layers model (Keras topology + float32 weights) to an ONNX model, with chosen
 * internal layers exposed as extra graph outputs: onnxruntime runs it an order of magnitude faster
 * than TF.js's WebAssembly backend, and on CUDA without libtensorflow.
 *
 * Layouts: the ONNX graph takes the Keras input as is (NHWC, e.g. [N,224,224,3]), transposes it
 * once to NCHW and computes in NCHW. Every 4-D output (a feature map) is NCHW [N,C,H,W]; other
 * outputs keep Keras's shape ([N,C] for pooled vectors, [N,1000] for class scores).
 *
 * Keras shapes are tracked per tensor (without the batch dim), so 'same' padding becomes explicit
 * pads with TF's rule (the odd pixel goes at the bottom/right), and axes map from NHWC to NCHW.
 */
import type { onnx as Onnx } from 'onnx-proto';
import { StudioError } from '../core/errors';
import { chwFromHwc } from './feature-extractor';
import { float, GraphBuilder, int, ints } from './onnx-graph';
import { elementCount, isObject, readLayersModelFiles, weightsByName } from './tfjs-layers-files';

export interface ConvertedModel {
  onnx: Uint8Array;
  /** The graph input: the Keras input layer's name and its NHWC shape per image. */
  input: { name: string; shape: number[] };
  /** Graph outputs in order: requested layers, then the model's own outputs; shapes per image. */
  outputs: Array<{ name: string; shape: number[] }>;
}

/** Reads model.json and its shards, then converts; see `convertLayersModel`. */
export async function convertTfjsLayersModel(
  modelJsonPath: string,
  extraOutputs: readonly string[],
): Promise<ConvertedModel> {
  const files = await readLayersModelFiles(modelJsonPath);
  return convertLayersModel(files.modelTopology, weightsByName(files), extraOutputs, modelJsonPath);
}

// ---------------------------------------------------------------------------------------------
// Keras topology

interface KerasLayer {
  className: string;
  name: string;
  config: Record<string, unknown>;
  inputs: string[];
}

interface KerasModel {
  layers: KerasLayer[];
  inputs: string[];
  outputs: string[];
}

/** A functional Keras config ('Model' / 'Functional') as one list of wired layers. */
function parseTopology(modelTopology: Record<string, unknown>, source: string): KerasModel {
  // Keras ≥ 2.1 nests the model under "model_config"; older exports put it at the top.
  const model = isObject(modelTopology.model_config) ? modelTopology.model_config : modelTopology;
  const bad = (why: string): StudioError => new StudioError('bad_file', `${source}: ${why}`);
  if (model.class_name === 'Sequential') throw bad('Sequential models are not supported; the converter reads functional ones');
  const config = model.config;
  if (!isObject(config) || !Array.isArray(config.layers)) throw bad('the topology has no list of layers');
  const layers = config.layers.map((raw: unknown, i: number): KerasLayer => {
    if (!isObject(raw) || typeof raw.class_name !== 'string' || !isObject(raw.config)) {
      throw bad(`layer #${i} has no class_name or config`);
    }
    const name = typeof raw.config.name === 'string' ? raw.config.name : String(raw.name);
    return { className: raw.class_name, name, config: raw.config, inputs: inboundNames(raw, name, source) };
  });
  return { layers, inputs: tensorNames(config.input_layers, source), outputs: tensorNames(config.output_layers, source) };
}

/** Keras 2 wiring: inbound_nodes = [[ [layerName, nodeIndex, tensorIndex, kwargs], ... ]]. */
function inboundNames(raw: Record<string, unknown>, layer: string, source: string): string[] {
  const nodes = raw.inbound_nodes;
  if (nodes === undefined || (Array.isArray(nodes) && nodes.length === 0)) return [];
  if (!Array.isArray(nodes) || !nodes.every(Array.isArray)) {
    throw new StudioError('bad_file', `${source}: layer '${layer}' has inbound_nodes in a format this converter does not read`);
  }
  if (nodes.length > 1) {
    const why = `layer '${layer}' is shared (called ${nodes.length} times); shared layers are not supported`;
    throw new StudioError('bad_file', `${source}: ${why}`);
  }
  return (nodes[0] as unknown[]).map((entry) => {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || entry[2] !== 0) {
      throw new StudioError('bad_file', `${source}: layer '${layer}' has an inbound tensor this converter does not read`);
    }
    return entry[0];
  });
}

function tensorNames(list: unknown, source: string): string[] {
  if (!Array.isArray(list) || !list.every((e) => Array.isArray(e) && typeof e[0] === 'string')) {
    throw new StudioError('bad_file', `${source}: input_layers/output_layers are missing or malformed`);
  }
  return list.map((e) => e[0] as string);
}

// ---------------------------------------------------------------------------------------------
// Conversion

/** A tensor while converting: its ONNX name and its Keras shape without the batch dim. */
interface Tensor {
  name: string;
  shape: number[];
}

type Weights = Map<string, { shape: number[]; values: Float32Array }>;

export function convertLayersModel(
  modelTopology: Record<string, unknown>,
  weights: Weights,
  extraOutputs: readonly string[],
  source = 'model.json',
): ConvertedModel {
  const model = parseTopology(modelTopology, source);
  if (model.inputs.length !== 1) {
    const why = `the model has ${model.inputs.length} inputs; only one image input is supported`;
    throw new StudioError('bad_file', `${source}: ${why}`);
  }
  const g = new GraphBuilder();
  const tensors = new Map<string, Tensor>();
  let input: { name: string; shape: number[] } | undefined;
  for (const layer of model.layers) {
    if (layer.className === 'InputLayer') {
      input = { name: layer.name, shape: inputShape(layer, source) };
      tensors.set(layer.name, toInternal(g, { name: layer.name, shape: input.shape }, `${layer.name}/nchw`));
      continue;
    }
    const convert = CONVERTERS[layer.className];
    if (!convert) {
      throw new StudioError(
        'bad_file',
        `${source}: layer '${layer.name}' has type ${layer.className}, which the ONNX converter does not support`,
      );
    }
    const inputs = layer.inputs.map((name) => {
      const t = tensors.get(name);
      if (t) return t;
      throw new StudioError('bad_file', `${source}: layer '${layer.name}' takes '${name}', which comes later or does not exist`);
    });
    const weight = (param: string): Float32Array => {
      const w = weights.get(`${layer.name}/${param}`);
      if (w) return w.values;
      const why = `layer '${layer.name}' (${layer.className}) lacks its weight '${layer.name}/${param}'`;
      throw new StudioError('bad_file', `${source}: ${why}`);
    };
    try {
      tensors.set(layer.name, convert({ layer, inputs, weight, g }));
    } catch (error) {
      if (error instanceof StudioError) throw error;
      throw new StudioError('bad_file', `${source}: layer '${layer.name}' (${layer.className}): ${(error as Error).message}`);
    }
  }
  if (!input) throw new StudioError('bad_file', `${source}: the model has no InputLayer`);

  const outputNames = [...new Set([...extraOutputs, ...model.outputs])];
  const outputs = outputNames.map((name) => {
    const t = tensors.get(name);
    if (!t) throw new StudioError('invalid_input', `${source}: no layer named '${name}' to expose as an output`);
    return { name, shape: chwFromHwc(t.shape) };
  });
  const graph = g.graph(input, outputs);
  return { onnx: graph, input, outputs };
}

function inputShape(layer: KerasLayer, source: string): number[] {
  const shape = layer.config.batch_input_shape ?? layer.config.batch_shape;
  if (!Array.isArray(shape) || shape.slice(1).some((d) => typeof d !== 'number' || d < 1)) {
    throw new StudioError(
      'bad_file',
      `${source}: input '${layer.name}' has shape ${JSON.stringify(shape)}; ` +
        'the converter needs a fixed size such as [null,224,224,3]',
    );
  }
  return shape.slice(1) as number[];
}

/** A Keras axis (counting the batch, NHWC for 4-D) → the same axis in the graph's layout. */
export function internalAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return rank === 4 ? [0, 2, 3, 1][a] : a;
}

/** Keras NHWC → graph NCHW for a 4-D tensor; other ranks are the same in both. */
function toInternal(g: GraphBuilder, t: Tensor, out: string): Tensor {
  if (t.shape.length !== 3) return { name: g.node('Identity', [t.name], out), shape: t.shape };
  return { name: g.node('Transpose', [t.name], out, [ints('perm', [0, 3, 1, 2])]), shape: t.shape };
}

/** Graph NCHW → Keras NHWC, where element order matters (Reshape, Flatten). */
function toKeras(g: GraphBuilder, t: Tensor, out: string): string {
  return t.shape.length === 3 ? g.node('Transpose', [t.name], out, [ints('perm', [0, 2, 3, 1])]) : t.name;
}

// ---------------------------------------------------------------------------------------------
// Layers

interface LayerArgs {
  layer: KerasLayer;
  inputs: Tensor[];
  weight: (param: string) => Float32Array;
  g: GraphBuilder;
}

const CONVERTERS: Record<string, (args: LayerArgs) => Tensor> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  BatchNormalization: batchNormalization,
  Activation: ({ layer, inputs: [x], g }) => activation(g, layer.config.activation, x, layer.name),
  ReLU: relu,
  Softmax: ({ layer, inputs: [x], g }) => softmax(g, x, layer.name, num(layer.config.axis ?? -1)),
  Add: add,
  Concatenate: concatenate,
  MaxPooling2D: (args) => pool2d(args, 'MaxPool'),
  AveragePooling2D: (args) => pool2d(args, 'AveragePool'),
  GlobalAveragePooling2D: (args) => globalPool(args, 'GlobalAveragePool'),
  GlobalMaxPooling2D: (args) => globalPool(args, 'GlobalMaxPool'),
  ZeroPadding2D: zeroPadding2d,
  Dense: dense,
  Reshape: reshape,
  Flatten: ({ layer, inputs: [x], g }) => ({
    name: g.node('Flatten', [toKeras(g, x, `${layer.name}/nhwc`)], layer.name, [int('axis', 1)]),
    shape: [elementCount(x.shape)],
  }),
  // Identity at inference; a node keeps the layer's name available as an output.
  Dropout: ({ layer, inputs: [x], g }) => ({ name: g.node('Identity', [x.name], layer.name), shape: x.shape }),
};

function conv2d({ layer, inputs: [x], weight, g }: LayerArgs): Tensor {
  const c = layer.config;
  checkChannelsLast(layer);
  const [h, w, cin] = spatial(x);
  const groups = num(c.groups ?? 1);
  const [kh, kw] = pair(c.kernel_size);
  const filters = num(c.filters);
  const kernel = permute(weight('kernel'), [kh, kw, cin / groups, filters], [3, 2, 0, 1]);
  const win = windows(c, [h, w], [kh, kw]);
  const inputs = [x.name, g.initializer(`${layer.name}/W`, [filters, cin / groups, kh, kw], kernel)];
  if (c.use_bias !== false) inputs.push(g.initializer(`${layer.name}/B`, [filters], weight('bias')));
  const conv = g.node('Conv', inputs, `${layer.name}/conv`, [...win.attributes, int('group', groups)]);
  return activation(g, c.activation, { name: conv, shape: [win.out[0], win.out[1], filters] }, layer.name);
}

function depthwiseConv2d({ layer, inputs: [x], weight, g }: LayerArgs): Tensor {
  const c = layer.config;
  checkChannelsLast(layer);
  const [h, w, cin] = spatial(x);
  const multiplier = num(c.depth_multiplier ?? 1);
  const [kh, kw] = pair(c.kernel_size);
  // TF orders depthwise outputs channel-major (c·multiplier + m), which is ONNX's grouped order.
  const kernel = permute(weight('depthwise_kernel'), [kh, kw, cin, multiplier], [2, 3, 0, 1]);
  const win = windows(c, [h, w], [kh, kw]);
  const cout = cin * multiplier;
  const inputs = [x.name, g.initializer(`${layer.name}/W`, [cout, 1, kh, kw], kernel)];
  if (c.use_bias !== false) inputs.push(g.initializer(`${layer.name}/B`, [cout], weight('bias')));
  const conv = g.node('Conv', inputs, `${layer.name}/conv`, [...win.attributes, int('group', cin)]);
  return activation(g, c.activation, { name: conv, shape: [win.out[0], win.out[1], cout] }, layer.name);
}

/** Emitted as ONNX BatchNormalization (inference form); onnxruntime folds it into the conv before. */
function batchNormalization({ layer, inputs: [x], weight, g }: LayerArgs): Tensor {
  const c = layer.config;
  const rank = x.shape.length + 1;
  const axis = Array.isArray(c.axis) && c.axis.length === 1 ? num(c.axis[0]) : num(c.axis ?? -1);
  if (internalAxis(axis, rank) !== 1) throw new Error(`normalizes axis ${axis}; only the channel axis is supported`);
  const channels = x.shape[x.shape.length - 1];
  // center = false drops beta (0) and scale = false drops gamma (1) from the weights.
  const params: Array<[string, Float32Array]> = [
    ['gamma', c.scale === false ? new Float32Array(channels).fill(1) : weight('gamma')],
    ['beta', c.center === false ? new Float32Array(channels) : weight('beta')],
    ['moving_mean', weight('moving_mean')],
    ['moving_variance', weight('moving_variance')],
  ];
  const inputs = [x.name, ...params.map(([name, values]) => g.initializer(`${layer.name}/${name}`, [channels], values))];
  const epsilon = float('epsilon', num(c.epsilon ?? 1e-3));
  return { name: g.node('BatchNormalization', inputs, layer.name, [epsilon]), shape: x.shape };
}

/** Keras's ReLU layer: plain, or capped (ReLU6 is max_value 6). */
function relu({ layer, inputs: [x], g }: LayerArgs): Tensor {
  const c = layer.config;
  if (num(c.negative_slope ?? 0) !== 0 || num(c.threshold ?? 0) !== 0) {
    throw new Error('negative_slope and threshold are not supported');
  }
  const max = c.max_value ?? null;
  return max === null ? { name: g.node('Relu', [x.name], layer.name), shape: x.shape } : clip(g, x, layer.name, 0, num(max));
}

function add({ layer, inputs, g }: LayerArgs): Tensor {
  const shape = inputs[0].shape;
  if (inputs.some((t) => t.shape.join() !== shape.join())) {
    throw new Error(`adds tensors of different shapes ${inputs.map((t) => `[${t.shape}]`).join(', ')}`);
  }
  return { name: g.node('Sum', inputs.map((t) => t.name), layer.name), shape };
}

function concatenate({ layer, inputs, g }: LayerArgs): Tensor {
  const rank = inputs[0].shape.length + 1;
  const axis = num(layer.config.axis ?? -1);
  const a = (axis < 0 ? axis + rank : axis) - 1; // index into shapes without the batch dim
  const shape = [...inputs[0].shape];
  shape[a] = inputs.reduce((sum, t) => sum + t.shape[a], 0);
  const attrs = [int('axis', internalAxis(axis, rank))];
  return { name: g.node('Concat', inputs.map((t) => t.name), layer.name, attrs), shape };
}

function pool2d({ layer, inputs: [x], g }: LayerArgs, op: 'MaxPool' | 'AveragePool'): Tensor {
  checkChannelsLast(layer);
  const [h, w, c] = spatial(x);
  const size = pair(layer.config.pool_size);
  // Keras's strides default to the pool size; TF's 'same' average ignores the padded cells,
  // which is ONNX's count_include_pad = 0 (its default).
  const strides = layer.config.strides == null ? size : pair(layer.config.strides);
  const win = windows({ ...layer.config, strides }, [h, w], size, false);
  return { name: g.node(op, [x.name], layer.name, win.attributes), shape: [win.out[0], win.out[1], c] };
}

function globalPool({ layer, inputs: [x], g }: LayerArgs, op: 'GlobalAveragePool' | 'GlobalMaxPool'): Tensor {
  checkChannelsLast(layer);
  if (layer.config.keepdims === true) throw new Error('keepdims is not supported');
  const [, , c] = spatial(x);
  const pooled = g.node(op, [x.name], `${layer.name}/pool`);
  return { name: g.node('Flatten', [pooled], layer.name, [int('axis', 1)]), shape: [c] };
}

function zeroPadding2d({ layer, inputs: [x], g }: LayerArgs): Tensor {
  checkChannelsLast(layer);
  const [h, w, c] = spatial(x);
  const p = layer.config.padding ?? 1;
  // Keras accepts n, [h, w] or [[top, bottom], [left, right]].
  const sides = typeof p === 'number' ? [[p, p], [p, p]] : Array.isArray(p) ? p.map((side) => pair(side)) : [];
  if (sides.length !== 2) throw new Error(`padding ${JSON.stringify(p)} is not n, [h, w] or [[t, b], [l, r]]`);
  const [[top, bottom], [left, right]] = sides;
  const pads = g.int64(`${layer.name}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
  return { name: g.node('Pad', [x.name, pads], layer.name), shape: [h + top + bottom, w + left + right, c] };
}

function dense({ layer, inputs: [x], weight, g }: LayerArgs): Tensor {
  if (x.shape.length !== 1) throw new Error(`takes a [${x.shape}] input; only flat inputs are supported`);
  const units = num(layer.config.units);
  const inputs = [x.name, g.initializer(`${layer.name}/W`, [x.shape[0], units], weight('kernel'))];
  if (layer.config.use_bias !== false) inputs.push(g.initializer(`${layer.name}/B`, [units], weight('bias')));
  const op = inputs.length === 3 ? 'Gemm' : 'MatMul';
  const out = g.node(op, inputs, `${layer.name}/dense`);
  return activation(g, layer.config.activation, { name: out, shape: [units] }, layer.name);
}

/** Keras reshapes in NHWC element order, so 4-D tensors go to NHWC and back around the reshape. */
function reshape({ layer, inputs: [x], g }: LayerArgs): Tensor {
  if (!Array.isArray(layer.config.target_shape)) throw new Error('target_shape is missing');
  const shape = resolveShape(layer.config.target_shape.map(num), elementCount(x.shape));
  const output = shape.length === 3 ? `${layer.name}/reshaped` : layer.name;
  const dims = g.int64(`${layer.name}/shape`, [-1, ...shape]);
  const reshaped = g.node('Reshape', [toKeras(g, x, `${layer.name}/nhwc`), dims], output);
  return shape.length === 3 ? toInternal(g, { name: reshaped, shape }, layer.name) : { name: reshaped, shape };
}

/** A Keras target shape with at most one −1 → concrete dims for `count` elements. */
export function resolveShape(target: number[], count: number): number[] {
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const shape = target.map((d) => (d === -1 ? count / known : d));
  if (elementCount(shape) !== count || !shape.every(Number.isInteger)) {
    throw new Error(`cannot reshape ${count} values to [${target}]`);
  }
  return shape;
}

const SIMPLE_ACTIVATIONS = new Map([
  ['linear', 'Identity'],
  ['relu', 'Relu'],
  ['sigmoid', 'Sigmoid'],
  ['tanh', 'Tanh'],
]);

/** Keras activations by name; 'linear' still emits an Identity so the layer's name is a tensor. */
function activation(g: GraphBuilder, kind: unknown, x: Tensor, out: string): Tensor {
  const name = String(kind ?? 'linear');
  const op = SIMPLE_ACTIVATIONS.get(name);
  if (op) return { name: g.node(op, [x.name], out), shape: x.shape };
  if (name === 'relu6') return clip(g, x, out, 0, 6);
  if (name === 'softmax') return softmax(g, x, out, -1);
  if (name === 'swish') {
    const sigmoid = g.node('Sigmoid', [x.name], `${out}/sigmoid`);
    return { name: g.node('Mul', [x.name, sigmoid], out), shape: x.shape };
  }
  throw new Error(`activation '${name}' is not supported`);
}

function clip(g: GraphBuilder, x: Tensor, out: string, min: number, max: number): Tensor {
  const low = g.initializer(`${out}/min`, [], new Float32Array([min]));
  const high = g.initializer(`${out}/max`, [], new Float32Array([max]));
  return { name: g.node('Clip', [x.name, low, high], out), shape: x.shape };
}

function softmax(g: GraphBuilder, x: Tensor, out: string, axis: number): Tensor {
  return { name: g.node('Softmax', [x.name], out, [int('axis', internalAxis(axis, x.shape.length + 1))]), shape: x.shape };
}

// ---------------------------------------------------------------------------------------------
// Shapes and weights (pure)

/** Output size and TF padding (before, after) of a sliding window along one side. */
export function windowAlong(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: 'same' | 'valid',
): { out: number; before: number; after: number } {
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'valid') {
    const out = Math.floor((size - span) / stride) + 1;
    if (out < 1) throw new Error(`a ${kernel}-wide window does not fit a side of ${size}`);
    return { out, before: 0, after: 0 };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + span - size, 0);
  // TF puts the odd padding cell after (bottom/right); ONNX's explicit pads say so exactly.
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

/** Conv/pool attributes (kernel_shape, strides, pads, dilations) for a Keras layer config. */
function windows(
  c: Record<string, unknown>,
  [h, w]: [number, number],
  [kh, kw]: [number, number],
  withDilations = true,
): { out: [number, number]; attributes: Onnx.IAttributeProto[] } {
  const padding = c.padding ?? 'valid';
  if (padding !== 'same' && padding !== 'valid') throw new Error(`padding '${String(padding)}' is not supported`);
  const [sh, sw] = pair(c.strides ?? 1);
  const [dh, dw] = pair(c.dilation_rate ?? 1);
  const y = windowAlong(h, kh, sh, dh, padding);
  const x = windowAlong(w, kw, sw, dw, padding);
  const attributes = [
    ints('kernel_shape', [kh, kw]),
    ints('strides', [sh, sw]),
    ints('pads', [y.before, x.before, y.after, x.after]), // top, left, bottom, right
  ];
  if (withDilations) attributes.push(ints('dilations', [dh, dw]));
  return { out: [y.out, x.out], attributes };
}

/** Transposes a row-major tensor: output axis i is input axis perm[i]. */
export function permute(values: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  checkCount(values, shape, 'weight');
  const outShape = perm.map((p) => shape[p]);
  const inStrides = strides(shape);
  const stepOf = perm.map((p) => inStrides[p]); // input stride of each output axis
  const out = new Float32Array(values.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < index.length; d++) src += index[d] * stepOf[d];
    out[o] = values[src];
    for (let d = index.length - 1; d >= 0 && ++index[d] === outShape[d]; d--) index[d] = 0;
  }
  return out;
}

function checkCount(values: Float32Array, shape: readonly number[], what: string): void {
  const count = elementCount(shape);
  if (values.length !== count) throw new Error(`${what} has ${values.length} values, shape [${shape}] needs ${count}`);
}

function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1] * shape[d + 1];
  return s;
}

function spatial(x: Tensor): [number, number, number] {
  if (x.shape.length !== 3) throw new Error(`needs an image-like [H,W,C] input, got [${x.shape}]`);
  return [x.shape[0], x.shape[1], x.shape[2]];
}

function checkChannelsLast(layer: KerasLayer): void {
  const format = layer.config.data_format;
  if (format !== undefined && format !== null && format !== 'channels_last') {
    throw new Error(`data_format '${String(format)}' is not supported`);
  }
}

function pair(v: unknown): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2) return [num(v[0]), num(v[1])];
  throw new Error(`expected a number or a pair, got ${JSON.stringify(v)}`);
}

function num(v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`expected a number, got ${JSON.stringify(v)}`);
  return v;
}
