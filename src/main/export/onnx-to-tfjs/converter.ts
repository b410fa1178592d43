/**
 * The converter core: walks an ONNX graph (opset 13, float32 image inputs (one per teacher of the
 * head), static shapes but the batch; or one uint8 pixels input of any size, see ops-image.ts), tracks each value's layout and hands every node to its op lowering (the ops-*.ts files),
 * building a TF.js graph model that `tf.loadGraphModel` runs in Node and browsers without TensorFlow.
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
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { StudioError } from '../../core/errors';
import { initializerValues } from '../../engines/onnx-graph';
import { permute } from '../../engines/tfjs-to-onnx';
import { foldBatchShapes } from './batch-shapes';
import { FLOAT_OP, GraphDefBuilder, attr, sanitizeNodeName } from './graph-def';
import { graphModel, type ConvertedGraphModel, type TensorMapping } from './graph-model-files';
import { identity, product, sameList, transposePerm } from './layout';
import { nodeArgs, type NodeArgs } from './node-args';

const { onnx } = onnxProto;

export interface OnnxToTfjsOptions {
  /** Names the model in errors (e.g. its path); default 'ONNX model'. */
  source?: string;
  /** Fuse Conv + BatchNormalization + bias + Relu/Relu6 into one TF.js op (default true). */
  fuse?: boolean;
}

/** Decodes `model` and converts its graph, lowering each node with `lowerings` (by ONNX op type). */
export function convertOnnxModel(model: Uint8Array, options: OnnxToTfjsOptions, lowerings: LoweringTable): ConvertedGraphModel {
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
  return new Converter(foldBatchShapes(proto.graph), { source, fuse: options.fuse ?? true, opset: version, producer }, lowerings).convert();
}

// ---------------------------------------------------------------------------------------------
// Values and lowerings

/** A computed tensor: its TF tensor name, its ONNX shape (−1 = batch) and layout. */
export interface Value {
  tf: string;
  shape: number[];
  /** TF axis i holds ONNX axis perm[i]. */
  perm: number[];
}

/** The key of a node's lowering: its op type, prefixed by its domain when not the default one (e.g. `com.microsoft.QLinearAdd`). */
function loweringKey(node: Onnx.INodeProto): string {
  return node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : (node.opType ?? '');
}

/** An initializer (or Constant node) read at conversion time. */
export interface Constant {
  shape: number[];
  values: Float64Array;
  integer: boolean;
  /** The ONNX data type it was read from (a zero point's type gives its range), if read from the graph. */
  dataType?: number;
}

/** Converts one ONNX node, adding its TF nodes and setting its outputs' values on the converter. */
export type OpLowering = (this: Converter, args: NodeArgs) => void;

/** Op lowerings by ONNX op type (default domain); each op family exports one (see index.ts). */
export type LoweringTable = Readonly<Record<string, OpLowering>>;

export class Converter {
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
    private readonly lowerings: LoweringTable,
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
    if (inputs.length === 0) throw this.error('has no input');
    const outputs = (this.graph.output ?? []).map((o) => o.name ?? '');
    // Graph inputs and outputs keep their (sanitized) names; internal nodes avoid them.
    const ioNames = new Map<string, string>();
    for (const name of [...inputs.map((i) => i.name ?? ''), ...outputs]) {
      const clean = sanitizeNodeName(name);
      if (!this.g.reserve(clean)) throw this.error(`graph inputs/outputs '${name}' and another one share the TF node name '${clean}'`);
      ioNames.set(name, clean);
    }
    this.checkOps();
    const placeholders = inputs.map((input) => this.placeholder(input, ioNames.get(input.name ?? '')!));

    for (const node of this.graph.node ?? []) {
      if (this.done.has(node)) continue;
      try {
        this.lower(node);
      } catch (error) {
        if (error instanceof StudioError) throw error;
        throw this.error(`node '${nodeArgs(node).name}' (${node.opType}): ${(error as Error).message}`);
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
    return graphModel(this.g, this.settings, placeholders, outputMappings);
  }

  /** Fails before converting anything, naming every node whose op has no converter. */
  private checkOps(): void {
    const unsupported = (this.graph.node ?? []).filter((n) => !Object.hasOwn(this.lowerings, loweringKey(n)));
    if (unsupported.length === 0) return;
    const describe = (n: Onnx.INodeProto): string => `node '${nodeArgs(n).name}' has op ${n.domain ? `${n.domain}.` : ''}${n.opType}`;
    const others = unsupported.slice(1, 6).map(describe).join('; ') + (unsupported.length > 6 ? '; …' : '');
    const more = unsupported.length > 1 ? ` (also: ${others})` : '';
    throw this.error(
      `${describe(unsupported[0])}, which the ONNX → TF.js converter does not support${more}. Supported: ${Object.keys(this.lowerings).sort().join(', ')}`,
    );
  }

  /**
   * A float32 input varies only in its batch; a uint8 input is an image's pixels ([height, width, 3],
   * any height and width), an int32 tensor in TF.js, which has no uint8.
   */
  private placeholder(info: Onnx.IValueInfoProto, name: string): TensorMapping {
    const type = info.type?.tensorType;
    const pixels = type?.elemType === onnx.TensorProto.DataType.UINT8;
    if (type?.elemType !== onnx.TensorProto.DataType.FLOAT && !pixels) throw this.error(`input '${info.name}' is neither float32 nor uint8 pixels`);
    const dims = type.shape?.dim ?? [];
    const shape = dims.map((d, i) => (d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : i === 0 || pixels ? -1 : NaN));
    if (shape.some((d) => Number.isNaN(d))) {
      const given = dims.map((d) => d.dimParam || d.dimValue);
      throw this.error(`input '${info.name}' needs a static shape but the batch dim, got [${given}]`);
    }
    this.g.add(name, 'Placeholder', [], { dtype: attr.type(pixels ? 'int32' : 'float32'), shape: attr.shape(shape) });
    this.values.set(info.name ?? '', { tf: name, shape, perm: identity(shape.length) });
    return { onnx: info.name ?? '', node: name, shape, ...(pixels ? { dtype: 'int32' as const } : {}) };
  }

  // ---------------------------------------------------------------------------------------------
  // Helpers the op lowerings use

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

  /** Converts one node with its op's lowering; lowerings call it too, on nodes they make (e.g. a quantized op's float op). */
  lower(node: Onnx.INodeProto): void {
    this.lowerings[loweringKey(node)].call(this, nodeArgs(node));
  }

  /** A constant computed at conversion time (e.g. dequantized weights), read as an initializer. */
  defineConstant(name: string, c: Constant): void {
    this.constants.set(name, c);
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
    // uint8/int8: quantized weights and zero points, which ops-quantized.ts reads.
    const values = initializerValues(t);
    if (!values) throw this.error(`initializer '${t.name}' has data type ${t.dataType}; only float32/64, int32/64 and (quantized) uint8/int8 are supported`);
    const T = onnx.TensorProto.DataType;
    const integer = t.dataType !== T.FLOAT && t.dataType !== T.DOUBLE;
    if (values.length !== count) {
      throw this.error(`initializer '${t.name}' has ${values.length} values, its shape [${shape}] needs ${count}`);
    }
    return { shape, values, integer, dataType: t.dataType ?? undefined };
  }

  /** ONNX `Constant` nodes are initializers in disguise. */
  addConstant(name: string, t: Onnx.ITensorProto): void {
    this.constants.set(name, this.readTensor(t));
  }
}
