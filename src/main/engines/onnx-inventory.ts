/**
 * What a bare ONNX image backbone offers as a teacher, found from its graph alone (no sidecar):
 * its image input, the block outputs worth offering as feature layers, and the penultimate pooled
 * vector; then a rewritten copy of the model with those tensors as float32 graph outputs.
 *
 * A block output is a tensor every path from the input to the output goes through (a cut point:
 * inside a residual block the skip connection bypasses the inner tensors) that comes out of a
 * nonlinearity (Relu, Clip, HardSwish, x·sigmoid(x), …) or a residual Add. In quantized graphs a
 * QLinearConv whose output zero point is its type's minimum has its ReLU fused (its range starts
 * at 0); QLinearAdd is a residual Add; QuantizeLinear/DequantizeLinear pairs (QDQ graphs) are seen
 * through. A quantized tensor is exposed dequantized: a DequantizeLinear is added from its scale
 * and zero point.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { StudioError, errorMessage } from '../core/errors';
import { FLOAT } from './onnx-graph';

const { onnx } = onnxProto;

export interface ImageInput {
  name: string;
  layout: 'NCHW' | 'NHWC';
  /** From the input's shape; null where the graph leaves it free. */
  height: number | null;
  width: number | null;
  /** True when the graph was exported with a fixed batch size (often 1). */
  fixedBatch: boolean;
}

/** A graph tensor to expose; `quant` when it is quantized, `pool` when it must be average-pooled first. */
export interface ExposedTensor {
  tensor: string;
  quant: Quantization | null;
  pool: boolean;
}

interface Quantization {
  scale: string;
  zeroPoint: string;
}

export interface GraphInventory {
  input: ImageInput;
  /** Candidate block outputs, in topological order. */
  blocks: ExposedTensor[];
  /** What the global pool gives the classifier; null when the graph has no global pool (the last 4-D block, pooled, stands in). */
  penultimate: ExposedTensor | null;
  /** The graph's own first float output (its class scores when it has a classifier). */
  classifier: string | null;
}

/** Ops after which a tensor is a block's (activated) output. */
const NONLINEAR = new Set(['Relu', 'Clip', 'HardSwish', 'LeakyRelu', 'PRelu', 'Elu', 'Selu', 'Celu', 'Gelu', 'Mish', 'Softplus', 'Tanh', 'ThresholdedRelu']);
/** Ops that pool a whole map into one vector. */
const GLOBAL_POOLS = new Set(['GlobalAveragePool', 'QLinearGlobalAveragePool', 'GlobalMaxPool', 'ReduceMean']);
/** Ops between a global pool and the classifier that only reshape (or requantize) the pooled vector. */
const RESHAPES = new Set(['Flatten', 'Reshape', 'Squeeze', 'Transpose', 'Identity', 'Dropout', 'QuantizeLinear', 'DequantizeLinear']);
/** Ops whose output says nothing about the image (shape arithmetic): their outputs are not activations. */
const SHAPE_OPS = new Set(['Shape', 'Size']);
/** Where each quantized op keeps its output's scale and zero point (input indices). */
const OUTPUT_QUANT: Record<string, [number, number]> = {
  QuantizeLinear: [1, 2],
  QLinearConv: [6, 7],
  QLinearMatMul: [6, 7],
  QLinearAdd: [6, 7],
  QLinearMul: [6, 7],
  QLinearGlobalAveragePool: [3, 4],
  QLinearAveragePool: [3, 4],
  QLinearLeakyRelu: [3, 4],
  QLinearSigmoid: [3, 4],
  QLinearConcat: [0, 1],
};
/** Ops that pass their first input's quantization through unchanged. */
const QUANT_PASS_THROUGH = new Set(['MaxPool', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Transpose', 'Identity']);

/** Decodes an .onnx file's bytes; anything that is not a model with a graph is refused, naming the file. */
export function decodeOnnxModel(bytes: Uint8Array, source: string): Onnx.ModelProto {
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (error) {
    throw new StudioError('bad_file', `${source} is not an ONNX model (${errorMessage(error)})`);
  }
  if (!model.graph || (model.graph.node ?? []).length === 0 || (model.graph.output ?? []).length === 0) {
    throw new StudioError('bad_file', `${source} is not an ONNX model: it holds no graph with nodes and outputs`);
  }
  return model;
}

/** The model's one image input: float, 4-D, with 3 channels first (NCHW) or last (NHWC). */
export function imageInput(model: Onnx.IModelProto, source: string): ImageInput {
  const graph = model.graph!;
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  const describe = (i: Onnx.IValueInfoProto): string => `'${i.name}' ${shapeText(i)}`;
  if (inputs.length !== 1) {
    throw new StudioError('bad_file', `${source} has no image-like input: a teacher takes one image tensor, this model takes ${inputs.map(describe).join(', ') || 'nothing'}`);
  }
  const [input] = inputs;
  const tensor = input.type?.tensorType;
  const dims = (tensor?.shape?.dim ?? []).map((d) => (d.dimValue != null && !d.dimParam ? Number(d.dimValue) : null));
  const layout = dims.length === 4 && dims[1] === 3 ? 'NCHW' : dims.length === 4 && dims[3] === 3 ? 'NHWC' : null;
  if (tensor?.elemType !== FLOAT || !layout) {
    throw new StudioError(
      'bad_file',
      `${source} has no image-like input: its input ${describe(input)} is not a float32 [N,3,H,W] (NCHW) or [N,H,W,3] (NHWC) image`,
    );
  }
  const [height, width] = layout === 'NCHW' ? [dims[2], dims[3]] : [dims[1], dims[2]];
  return { name: input.name ?? '', layout, height, width, fixedBatch: dims[0] !== null };
}

/** The graph's block outputs, penultimate and classifier output (shapes still unknown: the dry run tells). */
export function findInventory(model: Onnx.IModelProto, source: string): GraphInventory {
  const input = imageInput(model, source);
  const graph = new GraphIndex(model.graph!, input.name);
  const candidates: ExposedTensor[] = [];
  const seen = new Set<string>();
  const add = (tensor: string): void => {
    if (seen.has(tensor)) return;
    seen.add(tensor);
    candidates.push({ tensor, quant: graph.quantization(tensor), pool: false });
  };
  const cutPoints = graph.cutPoints();
  graph.nodes.forEach((node) => {
    const output = node.output?.[0];
    if (!output || !cutPoints.has(output) || !graph.endsBlock(node)) return;
    // An Add followed by its ReLU is one block: the ReLU's output stands for both.
    const previous = candidates.at(-1);
    if (previous && NONLINEAR.has(node.opType ?? '') && node.input?.[0] === previous.tensor && graph.onlyConsumer(previous.tensor) === node) {
      candidates.pop();
      seen.delete(previous.tensor);
    }
    add(output);
  });

  const pool = graph.nodes.filter((n) => GLOBAL_POOLS.has(n.opType ?? '') && graph.isActivation(n.input?.[0])).at(-1);
  let penultimate: ExposedTensor | null = null;
  if (pool) {
    // The map the pool reads is the last block, whatever op made it.
    add(pool.input![0]);
    // Then follow reshapes to what the classifier reads.
    let pooled = pool.output![0];
    for (let next = graph.onlyConsumer(pooled); next && RESHAPES.has(next.opType ?? ''); next = graph.onlyConsumer(pooled)) pooled = next.output![0];
    penultimate = { tensor: pooled, quant: graph.quantization(pooled), pool: false };
  }
  if (candidates.length === 0) throw new StudioError('bad_file', `${source}: no block output found (no nonlinearity or residual Add on the way to the output)`);
  const blocks = candidates.filter((c) => c.tensor !== penultimate?.tensor);
  const classifier = (model.graph!.output ?? []).find((o) => o.type?.tensorType?.elemType === FLOAT)?.name ?? null;
  return { input, blocks, penultimate, classifier };
}

/**
 * A copy of the model with `tensors` as float32 graph outputs (dequantized or pooled as each asks),
 * returned with the output name each got. `freeBatch` makes a fixed batch dimension free, so that
 * batches of any size run (the caller checks with a dry run that the graph allows it).
 */
export function exposeTensors(
  bytes: Uint8Array,
  tensors: readonly ExposedTensor[],
  options: { freeBatch: boolean },
): { model: Uint8Array; names: string[] } {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph!;
  const nodes = (graph.node ??= []);
  const graphOutputs = (graph.output ??= []);
  const taken = new Set([...nodes.flatMap((n) => n.output ?? []), ...(graph.input ?? []).map((i) => i.name), ...(graph.initializer ?? []).map((i) => i.name)]);
  const outputs = new Set(graphOutputs.map((o) => o.name));
  const fresh = (base: string, suffix: string): string => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}${suffix}${i > 1 ? i : ''}`;
    taken.add(name);
    return name;
  };
  const names = tensors.map(({ tensor, quant, pool }) => {
    let name = tensor;
    if (quant) {
      const existing = nodes.find((n) => n.opType === 'DequantizeLinear' && n.input?.[0] === tensor && n.input?.[1] === quant.scale);
      name = existing?.output?.[0] ?? fresh(tensor.replace(/_quantized$/, ''), '_float');
      if (!existing) nodes.push({ opType: 'DequantizeLinear', input: [tensor, quant.scale, quant.zeroPoint], output: [name], name });
    }
    if (pool) {
      const pooled = fresh(`${name}_pooled`, '_');
      nodes.push({ opType: 'GlobalAveragePool', input: [name], output: [pooled], name: pooled });
      name = pooled;
    }
    if (!outputs.has(name)) {
      outputs.add(name);
      graphOutputs.push({ name, type: { tensorType: { elemType: FLOAT } } });
    }
    return name;
  });
  if (options.freeBatch) {
    const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
    const input = (graph.input ?? []).find((i) => !initializers.has(i.name))!;
    input.type!.tensorType!.shape!.dim![0] = { dimParam: 'N' };
    // Recorded shapes carry the old batch size: onnxruntime infers them again.
    graph.valueInfo = [];
    for (const output of graphOutputs) if (output.type?.tensorType) output.type.tensorType.shape = null;
  }
  return { model: onnx.ModelProto.encode(model).finish(), names };
}

/** Producers, consumers and activations of one graph, for the questions the inventory asks. */
class GraphIndex {
  readonly nodes: Onnx.INodeProto[];
  private readonly producer = new Map<string, Onnx.INodeProto>();
  private readonly consumers = new Map<string, Onnx.INodeProto[]>();
  private readonly initializers: Map<string, Onnx.ITensorProto>;
  private readonly outputs: Set<string>;
  /** Tensors computed from the image (not weights, constants or shape arithmetic). */
  private readonly activations = new Set<string>();

  constructor(
    graph: Onnx.IGraphProto,
    private readonly inputName: string,
  ) {
    this.nodes = graph.node ?? [];
    this.initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
    this.outputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
    this.activations.add(inputName);
    for (const node of this.nodes) {
      for (const output of node.output ?? []) this.producer.set(output, node);
      for (const input of node.input ?? []) this.consumers.set(input, [...(this.consumers.get(input) ?? []), node]);
      if (!SHAPE_OPS.has(node.opType ?? '') && (node.input ?? []).some((i) => this.activations.has(i))) {
        for (const output of node.output ?? []) this.activations.add(output);
      }
    }
  }

  isActivation(tensor: string | undefined): boolean {
    return tensor !== undefined && this.activations.has(tensor);
  }

  onlyConsumer(tensor: string): Onnx.INodeProto | null {
    const consumers = this.consumers.get(tensor) ?? [];
    return consumers.length === 1 ? consumers[0] : null;
  }

  /**
   * Activations that are the only one alive between two nodes (in the graph's topological
   * order): everything after depends on the input through them alone.
   */
  cutPoints(): Set<string> {
    const lastUse = new Map<string, number>();
    this.nodes.forEach((node, i) => (node.input ?? []).forEach((t) => this.activations.has(t) && lastUse.set(t, i)));
    const live = new Set(lastUse.has(this.inputName) ? [this.inputName] : []);
    const cuts = new Set<string>();
    this.nodes.forEach((node, i) => {
      for (const t of node.input ?? []) if (lastUse.get(t) === i) live.delete(t);
      for (const t of node.output ?? []) if ((lastUse.get(t) ?? -1) > i) live.add(t);
      // A graph output no node reads (a headless backbone's last map) is alive only where it is made.
      const ending = (node.output ?? []).filter((t) => this.outputs.has(t) && this.activations.has(t) && !lastUse.has(t));
      const alive = [...live, ...ending];
      if (alive.length === 1) cuts.add(alive[0]);
    });
    return cuts;
  }

  /** Whether `node`'s output is a block's output: after a nonlinearity or a residual Add. */
  endsBlock(node: Onnx.INodeProto): boolean {
    const op = node.opType ?? '';
    const inputs = node.input ?? [];
    if (NONLINEAR.has(op) || op === 'QLinearLeakyRelu') return true;
    if (op === 'Add' || op === 'Sum') return inputs.filter((t) => this.activations.has(t)).length >= 2;
    if (op === 'QLinearAdd') return this.activations.has(inputs[0]) && this.activations.has(inputs[3]);
    // x · sigmoid(x) (Swish/SiLU) and x · hardsigmoid(x) (HardSwish as exported).
    if (op === 'Mul') {
      return inputs.some((t) => {
        const gate = this.producer.get(t);
        return (gate?.opType === 'Sigmoid' || gate?.opType === 'HardSigmoid') && inputs.includes(gate.input?.[0] ?? '');
      });
    }
    if (op === 'QLinearConv') return this.reluFused(node.output![0]);
    // QDQ: a Conv's output quantized from zero up has its ReLU fused into the QuantizeLinear.
    if (op === 'DequantizeLinear') {
      const quantize = this.producer.get(inputs[0]);
      return quantize?.opType === 'QuantizeLinear' && this.producer.get(quantize.input?.[0] ?? '')?.opType === 'Conv' && this.reluFused(inputs[0]);
    }
    return false;
  }

  /** A quantized tensor's scale and zero point (initializer names), or null for a float tensor. */
  quantization(tensor: string): Quantization | null {
    const node = this.producer.get(tensor);
    if (!node) return null;
    const op = node.opType ?? '';
    const at = OUTPUT_QUANT[op];
    if (at) return { scale: node.input![at[0]], zeroPoint: node.input![at[1]] };
    return QUANT_PASS_THROUGH.has(op) ? this.quantization(node.input?.[0] ?? '') : null;
  }

  /** True when a quantized tensor's zero point is its type's minimum: it holds no negative values. */
  private reluFused(tensor: string): boolean {
    const quant = this.quantization(tensor);
    const zeroPoint = quant ? this.initializers.get(quant.zeroPoint) : undefined;
    if (!zeroPoint) return false;
    const { DataType } = onnx.TensorProto;
    const value = zeroPoint.rawData?.length ? zeroPoint.rawData[0] : zeroPoint.int32Data?.[0];
    if (zeroPoint.dataType === DataType.UINT8) return value === 0;
    if (zeroPoint.dataType === DataType.INT8) return value !== undefined && (value << 24) >> 24 === -128;
    return false;
  }
}

function shapeText(info: Onnx.IValueInfoProto): string {
  const dims = info.type?.tensorType?.shape?.dim ?? [];
  return `[${dims.map((d) => d.dimParam || (d.dimValue != null ? String(d.dimValue) : '?')).join(',')}]`;
}
