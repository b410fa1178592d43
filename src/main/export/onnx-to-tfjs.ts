/**
 * Converts an ONNX model (opset 13, float32, one image input, static shapes but the batch) to a
 * TF.js graph model: model.json (`format: "graph-model"`, a TensorFlow GraphDef as JSON) plus one
 * weight shard, which `tf.loadGraphModel` runs in Node and browsers without TensorFlow itself.
 *
 * Layout. ONNX is NCHW; TF.js convolutions run NHWC only (CPU, WebAssembly). Every value keeps its
 * ONNX shape and a permutation `perm`: the TF tensor is the ONNX tensor transposed by `perm`
 * (TF axis i holds ONNX axis perm[i]). Convolutions want NHWC ([0,2,3,1]); elementwise ops,
 * reductions, pads, slices, concats and gathers work in any layout by renumbering their axes; ONNX
 * Transpose only changes `perm` (no TF op). A Transpose is emitted only where the element order
 * matters (Reshape, Flatten, MatMul, graph outputs) and the layout differs. So a ResNet transposes
 * its input once, and the Keras-made MobileNet (NHWC input + Transpose) needs none at all.
 *
 * Fusions that TF.js runs as one kernel: Conv (+ BatchNormalization folded into its weights, as
 * onnxruntime does) + bias + Relu/Relu6 become `_FusedConv2D` / `FusedDepthwiseConv2dNative`.
 *
 * Outputs. Each ONNX graph output becomes a node named as the output (sanitized: TF names allow
 * `A-Za-z0-9_.-/`), in ONNX layout and shape. model.json's `signature` maps the ONNX names to those
 * nodes, so `model.execute(x, ['stage1_block0'])` takes ONNX names; `userDefinedMetadata.onnx`
 * lists the mapping too.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { StudioError } from '../core/errors';
import { permute } from '../engines/tfjs-to-onnx';
import { GraphDefBuilder, attr, sanitizeNodeName, tensorShape, type WeightEntry } from './onnx-to-tfjs-graphdef';

const { onnx } = onnxProto;
const SHARD = 'group1-shard1of1.bin';

export interface OnnxToTfjsOptions {
  /** Names the model in errors (e.g. its path); default 'ONNX model'. */
  source?: string;
  /** Fuse Conv + BatchNormalization + bias + Relu/Relu6 into one TF.js op (default true). */
  fuse?: boolean;
}

export interface TensorMapping {
  /** The ONNX tensor name. */
  onnx: string;
  /** The TF.js node carrying it (feed / fetch this name, or the ONNX name through the signature). */
  node: string;
  /** ONNX shape, −1 for the batch. */
  shape: number[];
}

export interface ConvertedGraphModel {
  /** model.json's content. */
  modelJson: Record<string, unknown>;
  /** The one weight shard (`group1-shard1of1.bin`). */
  weights: Uint8Array;
  input: TensorMapping;
  outputs: TensorMapping[];
}

export function convertOnnxToTfjsGraph(model: Uint8Array, options: OnnxToTfjsOptions = {}): ConvertedGraphModel {
  const source = options.source ?? 'ONNX model';
  let proto: Onnx.ModelProto;
  try {
    proto = onnx.ModelProto.decode(model);
  } catch (error) {
    throw new StudioError('bad_file', `${source} is not an ONNX model: ${(error as Error).message}`);
  }
  if (!proto.graph) throw new StudioError('bad_file', `${source} has no graph`);
  const opset = (proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  const version = opset ? Number(opset.version) : 0;
  // Before opset 11, Slice, Pad and Clip took attributes instead of constant inputs.
  if (version < 11) {
    throw new StudioError('bad_file', `${source} uses ONNX opset ${version}; the converter reads opset 11 and later (made for 13)`);
  }
  const producer = [proto.producerName, proto.producerVersion].filter(Boolean).join(' ') || 'unknown';
  return new Converter(proto.graph, { source, fuse: options.fuse ?? true, opset: version, producer }).convert();
}

/** Writes model.json and group1-shard1of1.bin into `dir` (created if missing). */
export async function writeTfjsGraphModel(dir: string, converted: ConvertedGraphModel): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, SHARD), converted.weights);
  await writeFile(join(dir, 'model.json'), JSON.stringify(converted.modelJson));
}


// ---------------------------------------------------------------------------------------------
// Values and layouts

/** A computed tensor: its TF tensor name, its ONNX shape (−1 = batch) and layout. */
interface Value {
  tf: string;
  shape: number[];
  /** TF axis i holds ONNX axis perm[i]. */
  perm: number[];
}

/** An initializer (or Constant node) read at conversion time. */
interface Constant {
  shape: number[];
  values: Float64Array;
  integer: boolean;
}

/** The dtype attribute of every float op. */
const FLOAT_OP = { T: attr.type() };
const NHWC_FORMAT = attr.string('NHWC');
const identity = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);
const NHWC = [0, 2, 3, 1];
const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const inverse = (perm: readonly number[]): number[] => {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
};
/** The layout left when ONNX axes `removed` disappear (reductions without keepdims, scalar gathers). */
function dropAxes(perm: readonly number[], removed: readonly number[]): number[] {
  const kept = perm.filter((p) => !removed.includes(p));
  return kept.map((p) => p - removed.filter((r) => r < p).length);
}
const product = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);

interface NodeArgs {
  node: Onnx.INodeProto;
  /** ONNX attributes by name. */
  attrs: Map<string, Onnx.IAttributeProto>;
  name: string;
}

class Converter {
  private readonly g = new GraphDefBuilder();
  private readonly values = new Map<string, Value>();
  private readonly constants = new Map<string, Constant>();
  /** Const nodes made from initializers, per layout, so each is written once. */
  private readonly constNodes = new Map<string, string>();
  /** Transposes made per value and target layout, so each is emitted once. */
  private readonly transposes = new Map<Value, Map<string, string>>();
  private readonly consumers = new Map<string, Onnx.INodeProto[]>();
  private readonly graphOutputs: Set<string>;
  /** Nodes already converted as part of a fused chain. */
  private readonly done = new Set<Onnx.INodeProto>();

  private readonly source: string;

  constructor(
    private readonly graph: Onnx.IGraphProto,
    readonly settings: { source: string; fuse: boolean; opset: number; producer: string },
  ) {
    this.source = settings.source;
    this.graphOutputs = new Set((graph.output ?? []).map((o) => o.name ?? ''));
    for (const node of graph.node ?? []) {
      for (const input of node.input ?? []) this.consumers.set(input, [...(this.consumers.get(input) ?? []), node]);
    }
  }

  convert(): ConvertedGraphModel {
    for (const init of this.graph.initializer ?? []) this.constants.set(init.name ?? '', this.readTensor(init));
    const inputs = (this.graph.input ?? []).filter((i) => !this.constants.has(i.name ?? ''));
    if (inputs.length !== 1) {
      throw this.error(`has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}); only one image input is supported`);
    }
    const outputs = (this.graph.output ?? []).map((o) => o.name ?? '');
    // Graph inputs and outputs keep their (sanitized) names; internal nodes avoid them.
    const ioNames = new Map<string, string>();
    for (const name of [inputs[0].name ?? '', ...outputs]) {
      const clean = sanitizeNodeName(name);
      if (!this.g.reserve(clean)) throw this.error(`graph inputs/outputs '${name}' and another one share the TF node name '${clean}'`);
      ioNames.set(name, clean);
    }
    this.checkOps();
    const input = this.placeholder(inputs[0], ioNames.get(inputs[0].name ?? '')!);

    for (const node of this.graph.node ?? []) {
      if (this.done.has(node)) continue;
      const args = nodeArgs(node);
      try {
        OPS[node.opType ?? ''].call(this, args);
      } catch (error) {
        if (error instanceof StudioError) throw error;
        throw this.error(`node '${args.name}' (${node.opType}): ${(error as Error).message}`);
      }
    }

    const outputMappings = outputs.map((onnxName) => {
      const nodeName = ioNames.get(onnxName)!;
      const v = this.value(onnxName);
      // Outputs are given in ONNX layout, under their own name.
      const onnxLayout = identity(v.shape.length);
      if (sameList(v.perm, onnxLayout)) this.g.add(nodeName, 'Identity', [v.tf], FLOAT_OP);
      else this.g.add(nodeName, 'Transpose', [v.tf, this.intConst(`${nodeName}/perm`, transposePerm(v.perm, onnxLayout))], FLOAT_OP);
      return { onnx: onnxName, node: nodeName, shape: v.shape };
    });
    return this.modelJson(input, outputMappings);
  }

  /** Fails before converting anything, naming every node whose op has no converter. */
  private checkOps(): void {
    const unsupported = (this.graph.node ?? []).filter((n) => (n.domain && n.domain !== 'ai.onnx') || !Object.hasOwn(OPS, n.opType ?? ''));
    if (unsupported.length === 0) return;
    const describe = (n: Onnx.INodeProto): string => `node '${nodeArgs(n).name}' has op ${n.domain ? `${n.domain}.` : ''}${n.opType}`;
    const others = unsupported.slice(1, 6).map(describe).join('; ') + (unsupported.length > 6 ? '; …' : '');
    const more = unsupported.length > 1 ? ` (also: ${others})` : '';
    throw this.error(
      `${describe(unsupported[0])}, which the ONNX → TF.js converter does not support${more}. Supported: ${SUPPORTED_OPS.join(', ')}`,
    );
  }

  private modelJson(input: TensorMapping, outputs: TensorMapping[]): ConvertedGraphModel {
    const { entries, bytes } = this.g.weightData();
    const info = (t: TensorMapping): Record<string, unknown> => ({
      name: `${t.node}:0`,
      dtype: 'DT_FLOAT',
      tensorShape: tensorShape(t.shape),
    });
    const modelJson = {
      format: 'graph-model',
      generatedBy: `ONNX (${this.settings.producer}, opset ${this.settings.opset})`,
      convertedBy: 'atl-studio onnx-to-tfjs',
      modelTopology: { node: this.g.nodes, library: {}, versions: { producer: 1 } },
      weightsManifest: [{ paths: [SHARD], weights: entries satisfies WeightEntry[] }],
      // TF.js maps signature keys to nodes in execute(), so callers may use the ONNX names.
      signature: {
        inputs: { [input.onnx]: info(input) },
        outputs: Object.fromEntries(outputs.map((o) => [o.onnx, info(o)])),
      },
      userDefinedMetadata: {
        onnx: {
          layout: 'Inputs and outputs keep their ONNX layout and shape (NCHW maps stay NCHW).',
          input,
          outputs,
        },
      },
    };
    return { modelJson, weights: bytes, input, outputs };
  }

  private placeholder(info: Onnx.IValueInfoProto, name: string): TensorMapping {
    const type = info.type?.tensorType;
    if (type?.elemType !== onnx.TensorProto.DataType.FLOAT) throw this.error(`input '${info.name}' is not float32`);
    const dims = type.shape?.dim ?? [];
    // Only the batch may vary: every other dim must be a number.
    const shape = dims.map((d, i) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : i === 0 ? -1 : NaN));
    if (shape.some((d) => Number.isNaN(d))) {
      const given = dims.map((d) => d.dimParam || d.dimValue);
      throw this.error(`input '${info.name}' needs a static shape but the batch dim, got [${given}]`);
    }
    this.g.add(name, 'Placeholder', [], { dtype: attr.type(), shape: attr.shape(shape) });
    this.values.set(info.name ?? '', { tf: name, shape, perm: identity(shape.length) });
    return { onnx: info.name ?? '', node: name, shape };
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers the op converters use

  error(why: string): StudioError {
    return new StudioError('bad_file', `${this.source}: ${why}`);
  }

  isConstant(name: string): boolean {
    return this.constants.has(name);
  }

  constant(name: string, what: string): Constant {
    const c = this.constants.get(name);
    if (!c) throw new Error(`its ${what} ('${name}') must be a constant (initializer)`);
    return c;
  }

  /** A computed tensor, or a constant made into a Const node (ONNX layout). */
  value(name: string): Value {
    const v = this.values.get(name);
    if (v) return v;
    const c = this.constants.get(name);
    if (c) return { tf: this.constNode(name, c, identity(c.shape.length)), shape: c.shape, perm: identity(c.shape.length) };
    throw new Error(`its input '${name}' is not computed before it (or does not exist)`);
  }

  /** A constant as a Const node in layout `perm` (TF axis i = ONNX axis perm[i]). */
  constNode(name: string, c: Constant, perm: number[]): string {
    const key = `${name}|${perm.join()}`;
    let node = this.constNodes.get(key);
    if (!node) {
      const shape = perm.map((p) => c.shape[p]);
      // (Integers are permuted through float32: exact below 2^24, plenty for indices and shapes.)
      const data = sameList(perm, identity(perm.length)) ? c.values : permute(Float32Array.from(c.values), c.shape, perm);
      node = this.g.constant(name, shape, c.integer ? Int32Array.from(data) : Float32Array.from(data));
      this.constNodes.set(key, node);
    }
    return node;
  }

  set(name: string, v: Value): void {
    this.values.set(name, v);
  }

  floatConst(base: string, shape: number[], values: ArrayLike<number>): string {
    return this.g.constant(base, shape, Float32Array.from(values));
  }

  /** An int32 Const (axes, shapes, indices: TF.js has no int64); a vector unless `shape` says. */
  intConst(base: string, values: number[], shape = [values.length]): string {
    return this.g.constant(base, shape, Int32Array.from(values));
  }

  scalarInt(base: string, value: number): string {
    return this.g.constant(base, [], Int32Array.of(value));
  }

  op(base: string, op: string, input: string[], attrs: Record<string, unknown> = {}): string {
    return this.g.op(base, op, input, attrs);
  }

  /** `v` as a TF tensor in layout `perm`, transposing (once per value and layout) if needed. */
  inLayout(v: Value, perm: number[]): string {
    if (sameList(v.perm, perm)) return v.tf;
    const key = perm.join();
    let byPerm = this.transposes.get(v);
    if (!byPerm) this.transposes.set(v, (byPerm = new Map()));
    let name = byPerm.get(key);
    if (!name) {
      const permConst = this.intConst(`${v.tf}/perm`, transposePerm(v.perm, perm));
      name = this.op(`${v.tf}/transpose`, 'Transpose', [v.tf, permConst], { ...FLOAT_OP, Tperm: attr.type('int32') });
      byPerm.set(key, name);
    }
    return name;
  }

  /**
   * `v` with its elements in ONNX's row-major order (what Reshape, Flatten and MatMul see). A layout
   * that only moves size-1 axes (e.g. NHWC of [N,C,1,1]) already is, so it needs no transpose.
   */
  inOnnxOrder(v: Value): string {
    const moved = v.perm.filter((p) => v.shape[p] !== 1);
    if (moved.every((p, i) => i === 0 || p > moved[i - 1])) return v.tf;
    return this.inLayout(v, identity(v.shape.length));
  }

  /** The one node reading `tensor`, if exactly one does and it is no graph output (fusable). */
  soleConsumer(tensor: string): Onnx.INodeProto | undefined {
    const users = this.consumers.get(tensor) ?? [];
    return users.length === 1 && !this.graphOutputs.has(tensor) ? users[0] : undefined;
  }

  markDone(node: Onnx.INodeProto): void {
    this.done.add(node);
  }

  private readTensor(t: Onnx.ITensorProto): Constant {
    const shape = (t.dims ?? []).map(Number);
    const count = product(shape);
    const T = onnx.TensorProto.DataType;
    const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
    const bytes = raw ? new Uint8Array(raw).slice().buffer : undefined; // aligned copy
    let values: Float64Array;
    let integer = true;
    switch (t.dataType) {
      case T.FLOAT:
        values = Float64Array.from(bytes ? new Float32Array(bytes) : (t.floatData ?? []));
        integer = false;
        break;
      case T.DOUBLE:
        values = Float64Array.from(bytes ? new Float64Array(bytes) : (t.doubleData ?? []));
        integer = false;
        break;
      case T.INT64:
        values = bytes ? Float64Array.from(new BigInt64Array(bytes), Number) : Float64Array.from((t.int64Data ?? []).map(Number));
        break;
      case T.INT32:
        values = Float64Array.from(bytes ? new Int32Array(bytes) : (t.int32Data ?? []));
        break;
      default:
        throw this.error(`initializer '${t.name}' has data type ${t.dataType}; only float32/64 and int32/64 are supported`);
    }
    if (values.length !== count) {
      throw this.error(`initializer '${t.name}' has ${values.length} values, its shape [${shape}] needs ${count}`);
    }
    return { shape, values, integer };
  }

  /** ONNX `Constant` nodes are initializers in disguise. */
  addConstant(name: string, t: Onnx.ITensorProto): void {
    this.constants.set(name, this.readTensor(t));
  }
}

/** The Transpose perm taking a tensor in layout `from` to layout `to`. */
function transposePerm(from: readonly number[], to: readonly number[]): number[] {
  const inv = inverse(from);
  return to.map((p) => inv[p]);
}

// ---------------------------------------------------------------------------------------------
// Attributes

function nodeArgs(node: Onnx.INodeProto): NodeArgs {
  const name = node.name || node.output?.[0] || (node.opType ?? 'node');
  return { node, attrs: new Map((node.attribute ?? []).map((a) => [a.name ?? '', a])), name };
}

function intAttr(args: NodeArgs, name: string, fallback: number): number {
  const a = args.attrs.get(name);
  return a?.i != null ? Number(a.i) : fallback;
}
function intsAttr(args: NodeArgs, name: string): number[] | undefined {
  const a = args.attrs.get(name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}
function floatAttr(args: NodeArgs, name: string, fallback: number): number {
  const a = args.attrs.get(name);
  return a?.f != null && a.type === onnx.AttributeProto.AttributeType.FLOAT ? a.f : fallback;
}
function stringAttr(args: NodeArgs, name: string, fallback: string): string {
  const s = args.attrs.get(name)?.s;
  return s && s.length > 0 ? Buffer.from(s).toString('utf8') : fallback;
}
const inputOf = (args: NodeArgs, i: number): string | undefined => args.node.input?.[i] || undefined;
const outputOf = (args: NodeArgs): string => args.node.output?.[0] ?? '';
const normalizeAxis = (axis: number, rank: number): number => {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
};

// ---------------------------------------------------------------------------------------------
// Ops

type OpConverter = (this: Converter, args: NodeArgs) => void;

const OPS: Record<string, OpConverter> = {
  Conv: conv,
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Clip: clip,
  Identity(args) {
    this.set(outputOf(args), this.value(inputOf(args, 0)!));
  },
  Constant(args) {
    const t = args.attrs.get('value')?.t;
    if (!t) throw new Error('only tensor-valued Constant nodes are supported');
    this.addConstant(outputOf(args), t);
  },
  BatchNormalization: batchNormalization,
  Add: binary('AddV2'),
  Sum: binary('AddV2'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Div: binary('RealDiv'),
  Max: binary('Maximum'),
  Min: binary('Minimum'),
  Transpose: transpose,
  Slice: slice,
  Pad: pad,
  GlobalAveragePool: globalAveragePool,
  ReduceMean(args) {
    reduce.call(this, args, 'mean');
  },
  ReduceL2(args) {
    reduce.call(this, args, 'l2');
  },
  Flatten: flatten,
  Reshape: reshape,
  Gemm: gemm,
  MatMul: matMul,
  Concat: concat,
  Gather: gather,
  Softmax: softmax,
};

/** The ONNX ops the converter reads (default domain). */
export const SUPPORTED_OPS: readonly string[] = Object.keys(OPS).sort();

function unary(op: string): OpConverter {
  return function (args) {
    const x = this.value(inputOf(args, 0)!);
    this.set(outputOf(args), { ...x, tf: this.op(args.name, op, [x.tf], FLOAT_OP) });
  };
}

/** Clip's bounds (inputs since opset 11, attributes before). */
function clipBounds(this: Converter, args: NodeArgs): { min: number; max: number } {
  const bound = (i: number, name: string, fallback: number): number => {
    const input = inputOf(args, i);
    if (input) return this.constant(input, name).values[0];
    return floatAttr(args, name, fallback);
  };
  return { min: bound(1, 'min', -Infinity), max: bound(2, 'max', Infinity) };
}

/** The activation a node is, if a convolution can fuse it: Relu, or a Clip that is Relu/Relu6. */
function activationOf(this: Converter, node: Onnx.INodeProto): 'Relu' | 'Relu6' | undefined {
  if (node.domain) return undefined;
  if (node.opType === 'Relu') return 'Relu';
  return node.opType === 'Clip' ? clipActivation.call(this, node) : undefined;
}

/** The TF activation a Clip is (Relu6 for MobileNet's ReLU6), for fusing. */
function clipActivation(this: Converter, node: Onnx.INodeProto): 'Relu' | 'Relu6' | undefined {
  if ((node.input ?? []).slice(1).some((i) => i && !this.isConstant(i))) return undefined;
  const { min, max } = clipBounds.call(this, nodeArgs(node));
  if (min === 0 && max === 6) return 'Relu6';
  if (min === 0 && max === Infinity) return 'Relu';
  return undefined;
}

function clip(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const { min, max } = clipBounds.call(this, args);
  const act = clipActivation.call(this, args.node);
  let tf: string;
  if (act) tf = this.op(args.name, act, [x.tf], FLOAT_OP);
  else if (min === -Infinity && max === Infinity) tf = x.tf;
  else {
    const lo = this.floatConst(`${args.name}/min`, [], [Math.max(min, -3.4e38)]);
    const hi = this.floatConst(`${args.name}/max`, [], [Math.min(max, 3.4e38)]);
    tf = this.op(args.name, 'ClipByValue', [x.tf, lo, hi], FLOAT_OP);
  }
  this.set(outputOf(args), { ...x, tf });
}

/**
 * ONNX elementwise ops broadcast numpy-style, as TF does, when both sides are in ONNX layout. When
 * every computed input has the output's rank and one layout, the op runs in that layout and
 * constants are permuted to match (so an NHWC tensor plus a [1,C,1,1] bias needs no transpose).
 */
function binary(op: string): OpConverter {
  return function (args) {
    const names = (args.node.input ?? []).filter(Boolean);
    const shapeOf = (n: string): number[] => (this.isConstant(n) ? this.constant(n, 'operand').shape : this.value(n).shape);
    const rank = Math.max(...names.map((n) => shapeOf(n).length));
    const computed = names.filter((n) => !this.isConstant(n)).map((n) => this.value(n));
    const first = computed[0]?.perm ?? identity(rank);
    const common = computed.every((v) => v.shape.length === rank && sameList(v.perm, first)) ? first : identity(rank);
    const shapes: number[][] = [];
    const tensors = names.map((n) => {
      if (!this.isConstant(n)) {
        const v = this.value(n);
        shapes.push(v.shape);
        return this.inLayout(v, v.shape.length === rank ? common : identity(v.shape.length));
      }
      const c = this.constant(n, 'operand');
      shapes.push(c.shape);
      // Scalars and lower-rank constants in ONNX layout broadcast alike; others follow `common`.
      if (c.shape.length < rank && sameList(common, identity(rank))) return this.constNode(n, c, identity(c.shape.length));
      const full: Constant = { ...c, shape: [...new Array<number>(rank - c.shape.length).fill(1), ...c.shape] };
      return this.constNode(n, full, common);
    });
    let tf = tensors[0];
    for (let i = 1; i < tensors.length; i++) tf = this.op(args.name, op, [tf, tensors[i]], FLOAT_OP);
    this.set(outputOf(args), { tf, shape: broadcastShapes(shapes, rank), perm: common });
  };
}

function broadcastShapes(shapes: number[][], rank: number): number[] {
  const out = new Array<number>(rank).fill(1);
  for (const shape of shapes) {
    const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
    padded.forEach((d, i) => {
      if (d === 1) return;
      if (out[i] !== 1 && out[i] !== d && out[i] !== -1 && d !== -1) throw new Error(`cannot broadcast [${shapes.join('], [')}]`);
      out[i] = out[i] === 1 || out[i] === -1 ? d : out[i];
    });
  }
  return out;
}

/** ONNX Transpose only relabels axes: TF axis i holding ONNX axis p stays, now as axis q⁻¹[p]. */
function transpose(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const rank = x.shape.length;
  const q = intsAttr(args, 'perm') ?? identity(rank).reverse();
  const qInv = inverse(q);
  this.set(outputOf(args), { tf: x.tf, shape: q.map((a) => x.shape[a]), perm: x.perm.map((p) => qInv[p]) });
}

function batchNormalization(this: Converter, args: NodeArgs): void {
  if (intAttr(args, 'training_mode', 0) !== 0) throw new Error('training mode is not supported');
  const x = this.value(inputOf(args, 0)!);
  const { scale, shift } = batchNormAffine.call(this, args);
  const rank = x.shape.length;
  // Per-channel constants broadcast along the channel axis wherever the layout put it.
  const axis = inverse(x.perm)[1];
  const shape = axis === rank - 1 ? [scale.length] : Array.from({ length: rank }, (_, i) => (i === axis ? scale.length : 1));
  const mul = this.op(`${args.name}/scale`, 'Mul', [x.tf, this.floatConst(`${args.name}/scale`, shape, scale)], FLOAT_OP);
  const add = this.op(args.name, 'AddV2', [mul, this.floatConst(`${args.name}/shift`, shape, shift)], FLOAT_OP);
  this.set(outputOf(args), { ...x, tf: add });
}

/** BatchNormalization (inference) as y = x·scale + shift per channel, computed in float64. */
function batchNormAffine(this: Converter, args: NodeArgs): { scale: Float64Array; shift: Float64Array } {
  const eps = floatAttr(args, 'epsilon', 1e-5);
  const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => this.constant(inputOf(args, i) ?? '', 'parameters').values);
  const scale = gamma.map((g, c) => g / Math.sqrt(variance[c] + eps));
  const shift = beta.map((b, c) => b - mean[c] * scale[c]);
  return { scale, shift };
}

// ---------------------------------------------------------------------------------------------
// Convolution

/**
 * Conv (2-D) in NHWC: group 1 → Conv2D, one group per input channel → DepthwiseConv2dNative, other
 * groups → Split + Conv2D per group + ConcatV2. With fusing, a following (Identity →)
 * BatchNormalization is folded into the weights and a following Relu / Clip(0,6) into the op.
 */
function conv(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  if (x.shape.length !== 4) throw new Error(`only 2-D convolutions are supported, the input is [${x.shape}]`);
  const w = this.constant(inputOf(args, 1) ?? '', 'weight');
  const [m, cPerGroup, kh, kw] = w.shape;
  const [n, c, h, wIn] = x.shape;
  const group = intAttr(args, 'group', 1);
  if (cPerGroup * group !== c || m % group !== 0) {
    throw new Error(`weight [${w.shape}] does not fit input [${x.shape}] with group ${group}`);
  }
  const strides = intsAttr(args, 'strides') ?? [1, 1];
  const dilations = intsAttr(args, 'dilations') ?? [1, 1];
  const [pads, out] = convPads(args, [h, wIn], [kh, kw], strides, dilations);
  let weights = Float64Array.from(w.values);
  let bias: Float64Array | undefined = inputOf(args, 2) ? Float64Array.from(this.constant(inputOf(args, 2)!, 'bias').values) : undefined;

  // Follow the chain this conv can absorb.
  let output = outputOf(args);
  let activation: 'Relu' | 'Relu6' | undefined;
  for (let next = this.settings.fuse ? this.soleConsumer(output) : undefined; next; next = this.soleConsumer(output)) {
    if (next.opType === 'Identity') {
      this.markDone(next);
      output = next.output?.[0] ?? '';
    } else if (!activation && next.opType === 'BatchNormalization' && batchNormFoldable.call(this, next, output)) {
      const { scale, shift } = batchNormAffine.call(this, nodeArgs(next));
      const perOut = weights.length / m;
      weights = weights.map((v, i) => v * scale[Math.floor(i / perOut)]);
      bias = scale.map((s, o) => (bias ? bias[o] : 0) * s + shift[o]);
      this.markDone(next);
      output = next.output?.[0] ?? '';
    } else {
      const act = activation ? undefined : activationOf.call(this, next);
      if (!act) break;
      activation = act;
      this.markDone(next);
      output = next.output?.[0] ?? '';
    }
  }

  const input = this.inLayout(x, NHWC);
  const base = activation || bias ? output : args.name;
  const explicit = pads.some((p) => p !== 0);
  const convAttrs: Record<string, unknown> = {
    ...FLOAT_OP,
    strides: attr.ints([1, strides[0], strides[1], 1]),
    dilations: attr.ints([1, dilations[0], dilations[1], 1]),
    data_format: NHWC_FORMAT,
    padding: attr.string(explicit ? 'EXPLICIT' : 'VALID'),
    // TF: [batch, H, W, C] × (before, after); ONNX pads: [top, left, bottom, right].
    explicit_paddings: attr.ints(explicit ? [0, 0, pads[0], pads[2], pads[1], pads[3], 0, 0] : []),
  };
  // TF.js's fused kernels need a bias to fuse an activation: zeros when the conv has none.
  const fused = Boolean(bias || activation);
  const fusedOps = ['BiasAdd', ...(activation ? [activation] : [])];
  const fusedAttrs = fused ? { ...convAttrs, num_args: attr.int(1), fused_ops: attr.strings(fusedOps), epsilon: { f: 0 } } : convAttrs;
  const biasConst = (): string => this.floatConst(`${base}/bias`, [m], bias ?? new Float64Array(m));
  let tf: string;
  if (group === 1) {
    const filter = this.floatConst(`${base}/filter`, [kh, kw, c, m], toHWIO(weights, w.shape));
    const inputs = fused ? [input, filter, biasConst()] : [input, filter];
    tf = this.op(base, fused ? '_FusedConv2D' : 'Conv2D', inputs, fusedAttrs);
  } else if (group === c && cPerGroup === 1) {
    // Depthwise: ONNX output o = channel·multiplier + k, as TF orders depthwise outputs.
    const multiplier = m / c;
    const hwcm = permute(Float32Array.from(weights), [c, multiplier, kh, kw], [2, 3, 0, 1]);
    const filter = this.floatConst(`${base}/filter`, [kh, kw, c, multiplier], hwcm);
    const inputs = fused ? [input, filter, biasConst()] : [input, filter];
    const op = fused ? 'FusedDepthwiseConv2dNative' : 'DepthwiseConv2dNative';
    tf = this.op(base, op, inputs, fusedAttrs);
  } else {
    tf = groupedConv.call(this, { base, input, weights, shape: w.shape, group, attrs: convAttrs });
    if (bias) tf = this.op(`${base}/bias_add`, 'BiasAdd', [tf, biasConst()], { ...FLOAT_OP, data_format: NHWC_FORMAT });
    if (activation) tf = this.op(`${base}/${activation.toLowerCase()}`, activation, [tf], FLOAT_OP);
  }
  this.set(output, { tf, shape: [n, m, out[0], out[1]], perm: NHWC });
}

/** A BatchNormalization of `input` in inference mode with constant parameters. */
function batchNormFoldable(this: Converter, node: Onnx.INodeProto, input: string): boolean {
  const args = nodeArgs(node);
  const constants = [1, 2, 3, 4].every((i) => this.isConstant(inputOf(args, i) ?? ''));
  return !node.domain && inputOf(args, 0) === input && intAttr(args, 'training_mode', 0) === 0 && constants;
}

function groupedConv(
  this: Converter,
  p: { base: string; input: string; weights: Float64Array; shape: number[]; group: number; attrs: Record<string, unknown> },
): string {
  const [m, cPerGroup, kh, kw] = p.shape;
  const mPerGroup = m / p.group;
  const splitAxis = this.scalarInt(`${p.base}/split_axis`, 3);
  const split = this.op(`${p.base}/split`, 'Split', [splitAxis, p.input], { ...FLOAT_OP, num_split: attr.int(p.group) });
  const parts: string[] = [];
  for (let i = 0; i < p.group; i++) {
    const slice = p.weights.subarray(i * mPerGroup * cPerGroup * kh * kw, (i + 1) * mPerGroup * cPerGroup * kh * kw);
    const filter = this.floatConst(`${p.base}/filter_${i}`, [kh, kw, cPerGroup, mPerGroup], toHWIO(slice, [mPerGroup, cPerGroup, kh, kw]));
    parts.push(this.op(`${p.base}/group_${i}`, 'Conv2D', [i === 0 ? split : `${split}:${i}`, filter], p.attrs));
  }
  const concatAttrs = { ...FLOAT_OP, N: attr.int(p.group), Tidx: attr.type('int32') };
  return this.op(`${p.base}/concat`, 'ConcatV2', [...parts, this.scalarInt(`${p.base}/concat_axis`, 3)], concatAttrs);
}

/** ONNX conv weights [out, in, kh, kw] → TF's [kh, kw, in, out]. */
function toHWIO(weights: Float64Array, shape: number[]): Float32Array {
  return permute(Float32Array.from(weights), shape, [2, 3, 1, 0]);
}

/** [pads (top, left, bottom, right), output size] for a Conv's auto_pad / pads attributes. */
function convPads(args: NodeArgs, size: number[], kernel: number[], strides: number[], dilations: number[]): [number[], number[]] {
  const autoPad = stringAttr(args, 'auto_pad', 'NOTSET');
  const span = kernel.map((k, i) => (k - 1) * dilations[i] + 1);
  let pads = intsAttr(args, 'pads') ?? [0, 0, 0, 0];
  if (autoPad === 'VALID') pads = [0, 0, 0, 0];
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const total = size.map((s, i) => Math.max((Math.ceil(s / strides[i]) - 1) * strides[i] + span[i] - s, 0));
    const before = total.map((t) => (autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    pads = [before[0], before[1], total[0] - before[0], total[1] - before[1]];
  } else if (autoPad !== 'NOTSET') throw new Error(`auto_pad ${autoPad} is not supported`);
  const out = size.map((s, i) => Math.floor((s + pads[i] + pads[i + 2] - span[i]) / strides[i]) + 1);
  if (out.some((o) => o < 1)) throw new Error(`the kernel does not fit the input [${size}]`);
  return [pads, out];
}

// ---------------------------------------------------------------------------------------------
// Shape ops

function slice(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const rank = x.shape.length;
  const read = (i: number, what: string): number[] | undefined => {
    const name = inputOf(args, i);
    return name ? Array.from(this.constant(name, what).values) : undefined;
  };
  const starts = read(1, 'starts')!;
  const ends = read(2, 'ends')!;
  const axes = (read(3, 'axes') ?? identity(starts.length)).map((a) => normalizeAxis(a, rank));
  const steps = read(4, 'steps') ?? starts.map(() => 1);
  const inv = inverse(x.perm);
  // Axes not sliced take everything (begin/end masks).
  const begin = new Array<number>(rank).fill(0);
  const end = new Array<number>(rank).fill(0);
  const stride = new Array<number>(rank).fill(1);
  let beginMask = 0;
  let endMask = 0;
  const shape = [...x.shape];
  for (let a = 0; a < rank; a++) {
    const k = axes.indexOf(a);
    const t = inv[a];
    if (k < 0) {
      beginMask |= 1 << t;
      endMask |= 1 << t;
      continue;
    }
    const dim = x.shape[a];
    const step = steps[k];
    if (step === 0) throw new Error('a step of 0');
    if (dim < 0) {
      // The batch: only a whole, forward slice is known without its size.
      if (!(starts[k] === 0 && ends[k] >= 2 ** 31 - 1 && step === 1)) throw new Error('slicing the batch dimension is not supported');
      beginMask |= 1 << t;
      endMask |= 1 << t;
      continue;
    }
    const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    const s = step > 0 ? clamp(starts[k], 0, dim) : clamp(starts[k], 0, dim - 1);
    const e = step > 0 ? clamp(ends[k], 0, dim) : clamp(ends[k], -1, dim - 1);
    begin[t] = s;
    stride[t] = step;
    // TF reads a negative end from the back, so "up to the start" is the end mask.
    if (e < 0) endMask |= 1 << t;
    else end[t] = e;
    shape[a] = Math.max(0, Math.ceil((e - s) / step));
  }
  const params = [
    this.intConst(`${args.name}/begin`, begin),
    this.intConst(`${args.name}/end`, end),
    this.intConst(`${args.name}/strides`, stride),
  ];
  const tf = this.op(args.name, 'StridedSlice', [x.tf, ...params], {
    T: attr.type(),
    Index: attr.type('int32'),
    begin_mask: attr.int(beginMask),
    end_mask: attr.int(endMask),
    ellipsis_mask: attr.int(0),
    new_axis_mask: attr.int(0),
    shrink_axis_mask: attr.int(0),
  });
  this.set(outputOf(args), { tf, shape, perm: x.perm });
}

function pad(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const rank = x.shape.length;
  const mode = stringAttr(args, 'mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect') throw new Error(`mode '${mode}' is not supported`);
  if (inputOf(args, 3)) throw new Error('the axes input is not supported');
  const pads = inputOf(args, 1) ? Array.from(this.constant(inputOf(args, 1)!, 'pads').values) : intsAttr(args, 'pads');
  if (!pads || pads.length !== 2 * rank) throw new Error(`needs ${2 * rank} pads`);
  if (pads.some((p) => p < 0)) throw new Error('negative pads are not supported');
  const value = inputOf(args, 2) ? this.constant(inputOf(args, 2)!, 'constant_value').values[0] : floatAttr(args, 'value', 0);
  // TF paddings: one [before, after] row per TF axis.
  const paddings = this.intConst(`${args.name}/paddings`, x.perm.flatMap((a) => [pads[a], pads[a + rank]]), [rank, 2]);
  const tf =
    mode === 'reflect'
      ? this.op(args.name, 'MirrorPad', [x.tf, paddings], { ...FLOAT_OP, mode: attr.string('REFLECT') })
      : this.op(args.name, 'PadV2', [x.tf, paddings, this.floatConst(`${args.name}/value`, [], [value])], FLOAT_OP);
  const shape = x.shape.map((d, a) => (d < 0 ? d : d + pads[a] + pads[a + rank]));
  this.set(outputOf(args), { tf, shape, perm: x.perm });
}

function globalAveragePool(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const spatial = identity(x.shape.length).slice(2);
  reduceAxes.call(this, args, x, spatial, true, 'mean');
}

function reduce(this: Converter, args: NodeArgs, kind: 'mean' | 'l2'): void {
  const x = this.value(inputOf(args, 0)!);
  const rank = x.shape.length;
  // Opset 13 gives axes as an attribute, opset 18 as an input; none means all axes.
  const fromInput = inputOf(args, 1) ? Array.from(this.constant(inputOf(args, 1)!, 'axes').values) : undefined;
  const axes = (fromInput ?? intsAttr(args, 'axes') ?? identity(rank)).map((a) => normalizeAxis(a, rank));
  reduceAxes.call(this, args, x, axes, intAttr(args, 'keepdims', 1) !== 0, kind);
}

function reduceAxes(this: Converter, args: NodeArgs, x: Value, axes: number[], keep: boolean, kind: 'mean' | 'l2'): void {
  const inv = inverse(x.perm);
  const tfAxes = this.intConst(`${args.name}/axes`, axes.map((a) => inv[a]).sort((a, b) => a - b));
  const reduceAttrs = { ...FLOAT_OP, Tidx: attr.type('int32'), keep_dims: attr.bool(keep) };
  let tf: string;
  if (kind === 'mean') tf = this.op(args.name, 'Mean', [x.tf, tfAxes], reduceAttrs);
  else {
    const square = this.op(`${args.name}/square`, 'Square', [x.tf], FLOAT_OP);
    const sum = this.op(`${args.name}/sum`, 'Sum', [square, tfAxes], reduceAttrs);
    tf = this.op(args.name, 'Sqrt', [sum], FLOAT_OP);
  }
  const shape = keep ? x.shape.map((d, a) => (axes.includes(a) ? 1 : d)) : x.shape.filter((_, a) => !axes.includes(a));
  this.set(outputOf(args), { tf, shape, perm: keep ? x.perm : dropAxes(x.perm, axes) });
}

/** A TF Reshape of `x` (in ONNX element order) to `shape` (−1 at most once: the batch). */
function reshapeTo(this: Converter, base: string, x: Value, shape: number[]): Value {
  if (shape.filter((d) => d < 0).length > 1) throw new Error(`cannot reshape to [${shape}] with the batch unknown`);
  const dims = this.intConst(`${base}/shape`, shape);
  const tf = this.op(base, 'Reshape', [this.inOnnxOrder(x), dims], { ...FLOAT_OP, Tshape: attr.type('int32') });
  return { tf, shape, perm: identity(shape.length) };
}

function flatten(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const axis = normalizeAxis(intAttr(args, 'axis', 1), x.shape.length + 1);
  const part = (dims: number[]): number => (dims.some((d) => d < 0) ? -1 : product(dims));
  this.set(outputOf(args), reshapeTo.call(this, args.name, x, [part(x.shape.slice(0, axis)), part(x.shape.slice(axis))]));
}

/** ONNX Reshape: 0 copies the input's dim (allowzero = 0), −1 takes the rest. */
function reshape(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const target = Array.from(this.constant(inputOf(args, 1) ?? '', 'shape').values);
  if (intAttr(args, 'allowzero', 0) !== 0 && target.includes(0)) throw new Error('allowzero with a 0 dim is not supported');
  const shape = target.map((d, i) => (d === 0 ? x.shape[i] : d));
  const knownIn = product(x.shape.filter((d) => d >= 0));
  const batchKept = target.some((d, i) => d === 0 && x.shape[i] < 0);
  const explicit = target.filter((d) => d === -1).length;
  if (explicit > 1) throw new Error(`shape [${target}] has more than one -1`);
  if (explicit === 1 && (batchKept || !x.shape.includes(-1))) {
    // The batch (if any) is kept as is, so the −1 dim is a known size.
    const rest = product(shape.filter((d, i) => i !== target.indexOf(-1) && d >= 0));
    shape[target.indexOf(-1)] = knownIn / rest;
    if (!Number.isInteger(knownIn / rest)) throw new Error(`cannot reshape [${x.shape}] to [${target}]`);
  }
  this.set(outputOf(args), reshapeTo.call(this, args.name, x, shape));
}

/** Y = alpha·A'·B' + beta·C (A', B' optionally transposed). */
function gemm(this: Converter, args: NodeArgs): void {
  const a = this.value(inputOf(args, 0)!);
  if (a.shape.length !== 2) throw new Error(`A must be 2-D, got [${a.shape}]`);
  const bName = inputOf(args, 1)!;
  const transA = intAttr(args, 'transA', 0) !== 0;
  const transB = intAttr(args, 'transB', 0) !== 0;
  const alpha = floatAttr(args, 'alpha', 1);
  const beta = floatAttr(args, 'beta', 1);
  let bTf: string;
  let bShape: number[];
  if (this.isConstant(bName)) {
    const b = this.constant(bName, 'B');
    bShape = b.shape;
    bTf = alpha === 1 ? this.constNode(bName, b, [0, 1]) : this.floatConst(`${args.name}/B`, b.shape, b.values.map((v) => v * alpha));
  } else {
    const b = this.value(bName);
    bShape = b.shape;
    bTf = this.inLayout(b, [0, 1]);
    if (alpha !== 1) bTf = this.op(`${args.name}/alpha`, 'Mul', [bTf, this.floatConst(`${args.name}/alpha`, [], [alpha])], FLOAT_OP);
  }
  const n = transB ? bShape[0] : bShape[1];
  const rows = transA ? a.shape[1] : a.shape[0];
  const mm = { ...FLOAT_OP, transpose_a: attr.bool(transA), transpose_b: attr.bool(transB) };
  let tf = this.op(`${args.name}/matmul`, 'MatMul', [this.inLayout(a, [0, 1]), bTf], mm);
  const cName = inputOf(args, 2);
  if (cName && this.isConstant(cName)) {
    const c = this.constant(cName, 'C');
    const scaled = c.values.map((v) => v * beta);
    // A [N] bias is TF's BiasAdd; other shapes broadcast through AddV2.
    tf =
      c.shape.length === 1 && c.shape[0] === n
        ? this.op(args.name, 'BiasAdd', [tf, this.floatConst(`${args.name}/bias`, [n], scaled)], { ...FLOAT_OP, data_format: NHWC_FORMAT })
        : this.op(args.name, 'AddV2', [tf, this.floatConst(`${args.name}/C`, c.shape, scaled)], FLOAT_OP);
  } else if (cName) {
    const c = this.value(cName);
    let cTf = this.inLayout(c, identity(c.shape.length));
    if (beta !== 1) cTf = this.op(`${args.name}/beta`, 'Mul', [cTf, this.floatConst(`${args.name}/beta`, [], [beta])], FLOAT_OP);
    tf = this.op(args.name, 'AddV2', [tf, cTf], FLOAT_OP);
  }
  this.set(outputOf(args), { tf, shape: [rows, n], perm: [0, 1] });
}

/** numpy matmul: 2-D × 2-D is MatMul; [..., K] × [K, N] folds the leading dims; else BatchMatMulV2. */
function matMul(this: Converter, args: NodeArgs): void {
  const aName = inputOf(args, 0)!;
  const bName = inputOf(args, 1)!;
  const a = this.value(aName);
  const b = this.value(bName);
  if (a.shape.length < 2 || b.shape.length < 2) throw new Error('1-D operands are not supported');
  const k = a.shape[a.shape.length - 1];
  const n = b.shape[b.shape.length - 1];
  const bTf = this.inLayout(b, identity(b.shape.length));
  const mm = { ...FLOAT_OP, transpose_a: attr.bool(false), transpose_b: attr.bool(false) };
  let out: Value;
  if (a.shape.length === 2 && b.shape.length === 2) {
    out = { tf: this.op(args.name, 'MatMul', [this.inLayout(a, [0, 1]), bTf], mm), shape: [a.shape[0], n], perm: [0, 1] };
  } else if (b.shape.length === 2) {
    const flat = reshapeTo.call(this, `${args.name}/rows`, a, [-1, k]);
    const product2d: Value = { tf: this.op(`${args.name}/matmul`, 'MatMul', [flat.tf, bTf], mm), shape: [-1, n], perm: [0, 1] };
    out = reshapeTo.call(this, args.name, product2d, [...a.shape.slice(0, -1), n]);
  } else {
    const batchRank = Math.max(a.shape.length, b.shape.length) - 2;
    const shape = [...broadcastShapes([a.shape.slice(0, -2), b.shape.slice(0, -2)], batchRank), a.shape[a.shape.length - 2], n];
    const aTf = this.inLayout(a, identity(a.shape.length));
    const tf = this.op(args.name, 'BatchMatMulV2', [aTf, bTf], { ...FLOAT_OP, adj_x: attr.bool(false), adj_y: attr.bool(false) });
    out = { tf, shape, perm: identity(shape.length) };
  }
  this.set(outputOf(args), out);
}

function concat(this: Converter, args: NodeArgs): void {
  const names = (args.node.input ?? []).filter(Boolean);
  const values = names.map((n) => (this.isConstant(n) ? undefined : this.value(n)));
  const rank = (values.find(Boolean) ?? this.value(names[0])).shape.length;
  const axis = normalizeAxis(intAttr(args, 'axis', 1), rank);
  const first = values.find(Boolean)?.perm ?? identity(rank);
  const common = values.every((v) => !v || sameList(v.perm, first)) ? first : identity(rank);
  const tensors = names.map((n, i) => {
    const v = values[i];
    return v ? this.inLayout(v, common) : this.constNode(n, this.constant(n, 'input'), common);
  });
  const shapes = names.map((n, i) => values[i]?.shape ?? this.constant(n, 'input').shape);
  const shape = [...shapes[0]];
  shape[axis] = shapes.some((s) => s[axis] < 0) ? -1 : shapes.reduce((sum, s) => sum + s[axis], 0);
  const axisConst = this.scalarInt(`${args.name}/axis`, inverse(common)[axis]);
  const concatAttrs = { ...FLOAT_OP, N: attr.int(tensors.length), Tidx: attr.type('int32') };
  const tf = this.op(args.name, 'ConcatV2', [...tensors, axisConst], concatAttrs);
  this.set(outputOf(args), { tf, shape, perm: common });
}

/** Gather with constant indices (int64 → int32; negative ones counted from the end). */
function gather(this: Converter, args: NodeArgs): void {
  let x = this.value(inputOf(args, 0)!);
  const rank = x.shape.length;
  const axis = normalizeAxis(intAttr(args, 'axis', 0), rank);
  const indices = this.constant(inputOf(args, 1) ?? '', 'indices');
  const dim = x.shape[axis];
  if (dim < 0) throw new Error('gathering along the batch dimension is not supported');
  const idx = Array.from(indices.values, (i) => (i < 0 ? i + dim : i));
  if (idx.some((i) => i < 0 || i >= dim || !Number.isInteger(i))) throw new Error(`indices out of range for a dim of ${dim}`);
  // Indices of rank ≤ 1 keep the layout; larger ones insert axes, done in ONNX layout.
  if (indices.shape.length > 1) x = { ...x, tf: this.inLayout(x, identity(rank)), perm: identity(rank) };
  const tfAxis = inverse(x.perm)[axis];
  const idxConst = this.intConst(`${args.name}/indices`, idx, indices.shape);
  const tf = this.op(args.name, 'GatherV2', [x.tf, idxConst, this.scalarInt(`${args.name}/axis`, tfAxis)], {
    Tparams: attr.type(),
    Tindices: attr.type('int32'),
    Taxis: attr.type('int32'),
    batch_dims: attr.int(0),
  });
  const shape = [...x.shape.slice(0, axis), ...indices.shape, ...x.shape.slice(axis + 1)];
  const perm = indices.shape.length === 0 ? dropAxes(x.perm, [axis]) : x.perm;
  this.set(outputOf(args), { tf, shape, perm });
}

/** Opset-13 Softmax over one axis; TF's runs over the last, so the layout puts the axis last. */
function softmax(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const rank = x.shape.length;
  const opset13 = this.settings.opset >= 13;
  const axis = normalizeAxis(intAttr(args, 'axis', opset13 ? -1 : 1), rank);
  // Before opset 13, Softmax flattened the axes from `axis` on: the same only when it is the last.
  if (!opset13 && axis !== rank - 1) {
    throw new Error(`opset ${this.settings.opset} Softmax over axes ${axis}… of a rank-${rank} tensor is not supported`);
  }
  const perm = x.perm[rank - 1] === axis ? x.perm : [...identity(rank).filter((a) => a !== axis), axis];
  const tf = this.op(args.name, 'Softmax', [this.inLayout(x, perm)], FLOAT_OP);
  this.set(outputOf(args), { tf, shape: x.shape, perm });
}
