/**
 * The TF.js graph-model engine: runs what tensorflowjs_converter makes of a SavedModel or frozen
 * graph (model.json with `format: "graph-model"`, a GraphDef as JSON, weight shards). Such models
 * declare no layers, so the candidate feature maps are found in the graph itself: every 4-D output
 * of a nonlinearity (Relu, Relu6, Elu, Selu, LeakyRelu, swish x·sigmoid(x), convolutions with a
 * fused activation) and every 4-D residual sum (Add/AddV2 of two computed tensors), in topological
 * order, plus the penultimate (the input of the last MatMul, else the last spatial Mean). Shapes
 * come from one dry run on a zero image, since graph models often lack static shapes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { StudioError, errorMessage } from '../core/errors';
import {
  chwFromHwc,
  describeLayers,
  EngineExtractor,
  type EngineDescription,
  type FeatureExtractor,
  type FeatureLayer,
  type FeatureMap,
} from './feature-extractor';
import { batchShape, type PreprocessSpec } from './preprocess';
import type { TeacherSpec } from './teachers';
import { loadFromMemory, nchwFromNhwc, tfjsBackend } from './tfjs-extractor';
import { isObject, readLayersModelFiles, readModelJson } from './tfjs-layers-files';

interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

/** What the graph offers, found once per load. */
export interface GraphInspection {
  /** Candidate maps in topological order; the last is the penultimate. */
  featureLayers: string[];
  penultimate: string;
  /** The model's own output (class scores), its size per image, and whether it ends in Softmax. */
  output: string;
  outputSize: number;
  softmax: boolean;
  /** Per-image shapes as the graph gives them (NHWC for maps), without the batch dimension. */
  shapes: Map<string, number[]>;
}

const ACTIVATIONS = new Set(['Relu', 'Relu6', 'Elu', 'Selu', 'LeakyRelu', 'Prelu', 'Swish', 'Gelu']);
const FUSED = new Set(['_FusedConv2D', 'FusedDepthwiseConv2dNative', '_FusedDepthwiseConv2dNative']);
const RESIDUAL = new Set(['Add', 'AddV2']);

/** Loads, checks the input against `preprocess`, dry-runs, and returns what the graph offers (then frees it). */
export async function inspectGraphModel(modelJsonPath: string, preprocess: PreprocessSpec): Promise<GraphInspection> {
  await tfjsBackend();
  const { model, inspection } = await openGraph(modelJsonPath, preprocess);
  model.dispose();
  return inspection;
}

export async function createTfjsGraphExtractor(teacher: TeacherSpec): Promise<FeatureExtractor> {
  if (teacher.format !== 'tfjs-graph') {
    throw new StudioError('invalid_input', `${teacher.name} is an ${teacher.format} model; this engine runs TF.js graph models`);
  }
  const description = await tfjsBackend();
  const { model, nodes, inspection } = await openGraph(teacher.modelPath, teacher.preprocess);
  try {
    const layers = describeLayers(teacher, (name) => {
      const shape = inspection.shapes.get(name);
      if (!shape) throw new StudioError('invalid_input', `${teacher.modelPath} has no node named '${name}'`);
      return chwFromHwc(shape);
    });
    return new TfjsGraphExtractor(model, nodes, teacher.preprocess, layers, description, teacher.modelPath);
  } catch (error) {
    model.dispose();
    throw error;
  }
}

class TfjsGraphExtractor extends EngineExtractor {
  constructor(
    private readonly model: GraphModel,
    private readonly nodes: Map<string, NodeDef>,
    preprocess: PreprocessSpec,
    layers: readonly FeatureLayer[],
    description: EngineDescription,
    private readonly source: string,
  ) {
    super(preprocess, layers, description);
  }

  protected async runChecked(batch: Float32Array, batchSize: number, layerNames: readonly string[]): Promise<Map<string, FeatureMap>> {
    const unknown = layerNames.filter((name) => {
      const node = this.nodes.get(nodeName(name));
      return !node || node.op === 'Const';
    });
    if (unknown.length > 0) throw new StudioError('invalid_input', `${this.source} has no node named ${unknown.map((n) => `'${n}'`).join(', ')}`);
    const outputs = await execute(this.model, inputTensor(batch, batchSize, this.preprocess), [...layerNames], this.source, this.nodes);
    const maps = new Map<string, FeatureMap>();
    try {
      for (const [i, name] of layerNames.entries()) {
        // Graph maps are NHWC (TensorFlow's layout); every extractor returns NCHW.
        const y = nchwFromNhwc(outputs[i]);
        const data = await y.data();
        maps.set(name, { data: data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>), shape: [...y.shape] });
        if (y !== outputs[i]) y.dispose();
      }
    } finally {
      tf.dispose(outputs);
    }
    return maps;
  }

  async dispose(): Promise<void> {
    this.model.dispose();
  }
}

async function openGraph(
  modelJsonPath: string,
  preprocess: PreprocessSpec,
): Promise<{ model: GraphModel; nodes: Map<string, NodeDef>; inspection: GraphInspection }> {
  const json = await readModelJson(modelJsonPath);
  if (json.format !== 'graph-model') {
    throw new StudioError('bad_file', `${modelJsonPath} is not a TF.js graph model (its "format" is ${JSON.stringify(json.format ?? null)})`);
  }
  const files = await readLayersModelFiles(modelJsonPath, { dtypes: ['float32', 'int32'] });
  const list = files.modelTopology.node;
  if (!Array.isArray(list) || !list.every((n) => isObject(n) && typeof n.name === 'string' && typeof n.op === 'string')) {
    throw new StudioError('bad_file', `${modelJsonPath}: modelTopology.node must list the graph's nodes, each with a name and an op`);
  }
  const nodes = new Map<string, NodeDef>((list as NodeDef[]).map((n) => [n.name, n]));
  for (const node of nodes.values()) {
    for (const input of node.input ?? []) {
      if (!nodes.has(nodeName(input))) {
        throw new StudioError('bad_file', `${modelJsonPath}: node '${node.name}' reads '${input}', which is not in the graph`);
      }
    }
  }
  const artifacts = {
    format: 'graph-model',
    generatedBy: typeof json.generatedBy === 'string' ? json.generatedBy : undefined,
    convertedBy: typeof json.convertedBy === 'string' ? json.convertedBy : undefined,
    signature: isObject(json.signature) ? json.signature : undefined,
    userDefinedMetadata: isObject(json.userDefinedMetadata) ? (json.userDefinedMetadata as Record<string, object>) : undefined,
  };
  const model = await loadFromMemory((handler) => loadGraphModel(handler), files, artifacts, modelJsonPath);
  try {
    checkInput(model, preprocess, modelJsonPath);
    const inspection = await inspect(model, nodes, preprocess, modelJsonPath);
    return { model, nodes, inspection };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

async function inspect(
  model: GraphModel,
  nodes: Map<string, NodeDef>,
  preprocess: PreprocessSpec,
  source: string,
): Promise<GraphInspection> {
  const order = topologicalOrder(nodes);
  const candidates = order.filter((n) => isCandidate(n, nodes)).map((n) => n.name);
  const outputNode = [...model.outputNodes].map(nodeName).filter((n) => nodes.get(n)?.op !== 'Const').at(-1);
  if (!outputNode) throw new StudioError('bad_file', `${source} has no output node`);
  const penultimateCandidates = penultimateOf(order);
  const names = [...new Set([...candidates, ...penultimateCandidates, outputNode])];
  const outputs = await execute(model, tf.zeros(batchShape(1, preprocess)), names, source, nodes);
  const shapes = new Map<string, number[]>();
  for (const [i, name] of names.entries()) shapes.set(name, outputs[i].shape.slice(1));
  tf.dispose(outputs);
  const featureLayers = candidates.filter((name) => shapes.get(name)!.length === 3 && shapes.get(name)!.every((d) => d > 0));
  // A pooled vector [C] or [1,1,C]: what feeds the classifier.
  const pooled = (name: string): boolean => {
    const s = shapes.get(name)!;
    return s.length === 1 || (s.length === 3 && s[0] === 1 && s[1] === 1);
  };
  let penultimate = penultimateCandidates.find(pooled);
  if (!penultimate) {
    // No MatMul or global Mean (e.g. a 1×1 convolution classifier): the deepest map stands in.
    penultimate = featureLayers.at(-1);
    if (!penultimate) throw new StudioError('bad_file', `${source} has no 4-D activation or pooled layer to extract features from`);
  } else if (!featureLayers.includes(penultimate)) {
    featureLayers.push(penultimate);
  }
  const outShape = shapes.get(outputNode)!;
  return {
    featureLayers,
    penultimate,
    output: outputNode,
    outputSize: outShape.reduce((a, b) => a * b, 1),
    softmax: nodes.get(outputNode)?.op === 'Softmax',
    shapes,
  };
}

/** The data input of the last MatMul, then the last Mean over a tensor (deepest first). */
function penultimateOf(order: NodeDef[]): string[] {
  const found: string[] = [];
  const matmul = order.filter((n) => n.op === 'MatMul' || n.op === '_FusedMatMul').at(-1);
  if (matmul?.input?.[0]) found.push(outputName(matmul.input[0]));
  const mean = order.filter((n) => n.op === 'Mean').at(-1);
  if (mean) found.push(mean.name);
  return found;
}

function isCandidate(node: NodeDef, nodes: Map<string, NodeDef>): boolean {
  if (ACTIVATIONS.has(node.op)) return true;
  if (FUSED.has(node.op)) return fusedOps(node).some((op) => ACTIVATIONS.has(op));
  const inputs = (node.input ?? []).filter((i) => !i.startsWith('^')).map((i) => nodes.get(nodeName(i))!);
  if (RESIDUAL.has(node.op)) return inputs.length === 2 && inputs.every((i) => i.op !== 'Const');
  if (node.op === 'Mul' && inputs.length === 2) {
    // swish: x · sigmoid(x)
    const [a, b] = inputs;
    const sig = (s: NodeDef, x: NodeDef): boolean => s.op === 'Sigmoid' && nodeName(s.input?.[0] ?? '') === x.name;
    return sig(a, b) || sig(b, a);
  }
  return false;
}

/** `fused_ops` of a fused convolution, e.g. ['BiasAdd', 'Relu'] (bytes are base64 in the JSON). */
function fusedOps(node: NodeDef): string[] {
  const attr = node.attr?.fused_ops as { list?: { s?: string[] } } | undefined;
  return (attr?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}

/** Kahn's order, ties broken by the order of the file, so it is stable. */
function topologicalOrder(nodes: Map<string, NodeDef>): NodeDef[] {
  const pending = new Map<string, number>();
  const children = new Map<string, string[]>();
  for (const node of nodes.values()) {
    const inputs = [...new Set((node.input ?? []).map(nodeName))];
    pending.set(node.name, inputs.length);
    for (const input of inputs) children.set(input, [...(children.get(input) ?? []), node.name]);
  }
  const index = new Map([...nodes.keys()].map((name, i) => [name, i]));
  const ready = [...nodes.keys()].filter((name) => pending.get(name) === 0);
  const order: NodeDef[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => index.get(a)! - index.get(b)!);
    const name = ready.shift()!;
    order.push(nodes.get(name)!);
    for (const child of children.get(name) ?? []) {
      pending.set(child, pending.get(child)! - 1);
      if (pending.get(child) === 0) ready.push(child);
    }
  }
  return order; // nodes on a cycle (loops need control flow) are left out
}

/** Models found to need `executeAsync` (sync `execute` is faster and warns less, so it is tried first). */
const needsAsync = new WeakSet<GraphModel>();

async function execute(
  model: GraphModel,
  input: tf.Tensor,
  names: string[],
  source: string,
  nodes: Map<string, NodeDef>,
): Promise<tf.Tensor[]> {
  try {
    let ys: tf.Tensor | tf.Tensor[];
    if (!needsAsync.has(model)) {
      try {
        ys = model.execute(input, names);
        return Array.isArray(ys) ? ys : [ys];
      } catch (error) {
        // Control flow (loops, conditionals) or dynamic shapes need the asynchronous executor.
        if (!/executeAsync/.test(errorMessage(error))) throw error;
        needsAsync.add(model);
      }
    }
    ys = await model.executeAsync(input, names);
    return Array.isArray(ys) ? ys : [ys];
  } catch (error) {
    const message = errorMessage(error);
    const unknownOp = /Unknown op '([^']+)'/.exec(message)?.[1];
    if (unknownOp) {
      const at = [...nodes.values()].filter((n) => n.op === unknownOp).map((n) => `'${n.name}'`);
      throw new StudioError('bad_file', `${source}: node ${at.join(', ')} has op ${unknownOp}, which TF.js does not support`);
    }
    throw new StudioError('bad_file', `TF.js cannot run ${source}: ${message}`);
  } finally {
    input.dispose();
  }
}

function inputTensor(batch: Float32Array, batchSize: number, spec: PreprocessSpec): tf.Tensor4D {
  return tf.tensor4d(batch, batchShape(batchSize, spec));
}

/** The graph's one float input must take what the preprocessing gives; unknown (−1) sizes accept any. */
function checkInput(model: GraphModel, spec: PreprocessSpec, source: string): void {
  const inputs = model.inputs;
  if (inputs.length !== 1) {
    throw new StudioError('bad_file', `${source} has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); a teacher takes one image`);
  }
  const { name, shape, dtype } = inputs[0];
  if (dtype !== undefined && dtype !== 'float32') {
    throw new StudioError('bad_file', `${source}: input '${name}' is ${dtype}; only float32 image inputs are supported`);
  }
  const expected = batchShape(-1, spec);
  const fits = shape === undefined || (shape.length === 4 && shape.every((d, i) => i === 0 || d === null || d < 0 || d === expected[i]));
  if (!fits) {
    const dims = (shape ?? []).map((d) => (d === null || d < 0 ? '?' : d)).join(',');
    throw new StudioError(
      'bad_file',
      `${source}: input '${name}' takes [${dims}] but the preprocessing gives [N,${expected.slice(1).join(',')}] (${spec.layout}); ` +
        'describe the input in atl-preprocess.json beside model.json (see docs/engines.md)',
    );
  }
}

/** 'conv1/Relu:0' → 'conv1/Relu'; '^ctrl' → 'ctrl'. */
function nodeName(input: string): string {
  const name = input.startsWith('^') ? input.slice(1) : input;
  const colon = name.lastIndexOf(':');
  return colon > 0 && /^\d+$/.test(name.slice(colon + 1)) ? name.slice(0, colon) : name;
}

/** A tensor's name as executeAsync takes it: 'x:0' → 'x', other outputs keep their index. */
function outputName(input: string): string {
  return input.endsWith(':0') ? input.slice(0, -2) : input;
}
