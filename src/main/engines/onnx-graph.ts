/**
 * Writing ONNX graphs with onnx-proto: attributes, and a builder that collects nodes and
 * initializers. Used by the TF.js → ONNX converter, by the classifier export, and by the onnxruntime
 * engine to pool feature maps inside its graph. Reading an initializer's values
 * (`initializerValues`) too, for the ONNX → TF.js converter and the rewrites of teacher graphs.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { StudioError } from '../core/errors';
import { cellBounds } from '../core/pooling';
import { pooledLength, spatialGrid, type LayerGrid, type Pooling } from '../core/pooling-spec';

const { onnx } = onnxProto;
export const OPSET = 13;
export const IR_VERSION = 7;
export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

/**
 * An initializer's values, from its raw bytes or its typed field (uint8/int8 are stored in
 * int32Data when not raw); undefined for a data type other than float32/64, int32/64, uint8, int8.
 */
export function initializerValues(t: Onnx.ITensorProto): Float64Array | undefined {
  const T = onnx.TensorProto.DataType;
  const bytes = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData).slice().buffer : undefined; // aligned copy
  switch (t.dataType) {
    case T.FLOAT:
      return Float64Array.from(bytes ? new Float32Array(bytes) : (t.floatData ?? []));
    case T.DOUBLE:
      return Float64Array.from(bytes ? new Float64Array(bytes) : (t.doubleData ?? []));
    case T.INT64:
      return bytes ? Float64Array.from(new BigInt64Array(bytes), Number) : Float64Array.from((t.int64Data ?? []).map(Number));
    case T.INT32:
      return Float64Array.from(bytes ? new Int32Array(bytes) : (t.int32Data ?? []));
    case T.UINT8:
      return Float64Array.from(bytes ? new Uint8Array(bytes) : (t.int32Data ?? []));
    case T.INT8:
      return Float64Array.from(bytes ? new Int8Array(bytes) : (t.int32Data ?? []));
    default:
      return undefined;
  }
}

export function int(name: string, i: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
export function ints(name: string, values: number[]): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}
export function float(name: string, f: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

/** A float tensor's value info with a symbolic batch dimension N. */
export function batchValueInfo(name: string, shape: readonly number[]): Onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, ...shape.map((d) => ({ dimValue: d }))] } } } };
}

/** Collects nodes and initializers, then writes the ModelProto. */
export class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];

  node(opType: string, input: string[], output: string, attribute: Onnx.IAttributeProto[] = [], domain?: string): string {
    this.nodes.push({ opType, input, output: [output], name: output, attribute, ...(domain ? { domain } : {}) });
    return output;
  }

  initializer(name: string, dims: number[], values: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new StudioError('bad_file', `weight ${name}: expected ${expected} values for [${dims.join(',')}], got ${values.length}`);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: bytesOf(values) });
    return name;
  }

  int64(name: string, values: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: bytesOf(data) });
    return name;
  }

  graph(input: { name: string; shape: number[] }, outputs: Array<{ name: string; shape: number[] }>): Uint8Array {
    const model: Onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'atl-studio tfjs-to-onnx',
      graph: {
        name: 'converted',
        node: this.nodes,
        initializer: this.initializers,
        input: [batchValueInfo(input.name, input.shape)],
        output: outputs.map((o) => batchValueInfo(o.name, o.shape)),
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Little-endian bytes of a typed array (ONNX raw_data); every platform Node runs on is LE. */
export function bytesOf(values: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

/** A layer as pooling sees it, with the graph tensor that holds its map. */
export interface NamedLayerGrid extends LayerGrid {
  name: string;
}

/** The graph output that holds `layer`'s map pooled by `pooling` ([N, D]), in the graphs `pooledGraph` writes. */
export function pooledOutputName(layer: string, pooling: Pooling): string {
  return `atl_pooled/${pooling}/${layer}`;
}

/**
 * The model with its outputs replaced by the layers' maps pooled by `pooling` ([N, D] each, named
 * `pooledOutputName`), as `poolMap` pools them, so that a run returns vectors instead of maps.
 * Only these outputs: onnxruntime runs every node that any graph output needs, whatever a run asks
 * for, so a graph that kept the maps as outputs (or pooled them all three ways) would pay for each
 * map's copy out of its blocked NCHWc layout and for the other poolings on every run (MobileNet v1,
 * 14 layers: 83 → 150 images/s on 2 cores). Maps ([N,C,H,W], or [N,C] when already pooled) are
 * seen as [N,C,H,W]. Averages are two AveragePools, over the width, then the height: pooling ops
 * stay in the blocked layout, and float32 sums over one side at a time (≤ a few hundred values)
 * stay within 1e-6 of `poolMap`'s double sums, where one sum over a 112×112 map drifts further.
 * 'spatial' is adaptive average pooling as two products with cell-averaging matrices, A_rows · X · A_colsᵀ.
 */
export function pooledGraph(model: Onnx.IModelProto, layers: readonly NamedLayerGrid[], pooling: Pooling): Uint8Array {
  const g = new GraphBuilder();
  const outputs: Onnx.IValueInfoProto[] = [];
  // A tensor listed twice (a sidecar may name one output as a block and as the penultimate) is pooled once.
  const distinct = layers.filter((layer, i) => layers.findIndex((l) => l.name === layer.name) === i);
  for (const layer of distinct) {
    const output = pooledOutputName(layer.name, pooling);
    poolingNodes(g, { map: layer.name, rank: declaredRank(model, layer.name), layer, pooling, prefix: output, output });
    outputs.push(batchValueInfo(output, [pooledLength(layer, pooling)]));
  }
  const graph: Onnx.IGraphProto = {
    ...model.graph!,
    node: [...(model.graph!.node ?? []), ...g.nodes],
    initializer: [...(model.graph!.initializer ?? []), ...g.initializers],
    output: outputs,
  };
  // E.g. the teacher's own classifier, which no vector needs.
  prune(graph);
  return onnx.ModelProto.encode({ ...model, graph }).finish();
}

interface PoolingNodesInput {
  /** The tensor that holds the layer's map. */
  map: string;
  /** Its rank as the graph declares it (undefined where the graph does not). */
  rank: number | undefined;
  layer: LayerGrid;
  pooling: Pooling;
  /** Starts the names of the tensors the nodes make. */
  prefix: string;
}

/**
 * The nodes that pool a layer's map by `pooling` as `poolMap` does, into `output`, [N, D] (D =
 * `pooledLength`); a map not declared 4-D is read as [N,C,H,W]. The studio's pooled graphs and the export both pool
 * with these nodes, so that an exported head sees the vectors the studio trained it on.
 */
export function poolingNodes(g: GraphBuilder, p: PoolingNodesInput & { output: string }): string {
  const [h, w] = p.layer.spatialSize;
  // A vector ([N,C] or [N,C,1,1]) is its own pooling, whichever.
  const pooled = h * w === 1 ? p.map : poolMapNodes(g, p);
  return g.node('Reshape', [pooled, g.int64(`${p.prefix}/flat_shape`, [0, pooledLength(p.layer, p.pooling)])], p.output);
}

/** `poolingNodes` for a map of H·W > 1: the pooled tensor, [N,C,1,1] or [N,C,g,g]. */
function poolMapNodes(g: GraphBuilder, { map: source, rank, layer, pooling, prefix }: PoolingNodesInput): string {
  const [h, w] = layer.spatialSize;
  // A map the graph declares 4-D is pooled as it is: a Reshape would make onnxruntime copy it out of its blocked layout and back.
  const map = rank === 4 ? source : g.node('Reshape', [source, g.int64(`${prefix}/nchw_shape`, [0, layer.channels, h, w])], `${prefix}/nchw`);
  if (pooling === 'gap') {
    const rowMeans = g.node('AveragePool', [map], `${prefix}/row_means`, [ints('kernel_shape', [1, w])]);
    return g.node('AveragePool', [rowMeans], `${prefix}/means`, [ints('kernel_shape', [h, 1])]);
  }
  if (pooling === 'gmp') return g.node('GlobalMaxPool', [map], `${prefix}/maxima`);
  const grid = spatialGrid(layer);
  const rows = g.initializer(`${prefix}/row_cells`, [grid, h], cellAverages(h, grid, 'cells-by-pixels'));
  const cols = g.initializer(`${prefix}/col_cells`, [w, grid], cellAverages(w, grid, 'pixels-by-cells'));
  return g.node('MatMul', [g.node('MatMul', [rows, map], `${prefix}/row_pooled`), cols], `${prefix}/cells`);
}

/**
 * Keeps only the nodes, weights and inputs that the graph's outputs need (nodes in topological
 * order, as ONNX requires). onnxruntime runs every node of a graph, needed or not. A node kept
 * keeps what its subgraphs (If, Loop, Scan bodies) read from the outer graph too.
 */
export function prune(graph: Onnx.IGraphProto): void {
  const needed = new Set((graph.output ?? []).map((o) => o.name!));
  const kept: Onnx.INodeProto[] = [];
  for (const node of [...(graph.node ?? [])].reverse()) {
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    kept.push(node);
    for (const input of [...(node.input ?? []), ...subgraphInputs(node)]) if (input) needed.add(input);
  }
  graph.node = kept.reverse();
  graph.initializer = (graph.initializer ?? []).filter((w) => needed.has(w.name!));
  graph.input = (graph.input ?? []).filter((i) => needed.has(i.name!));
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => needed.has(v.name!));
}

/** Every tensor name the nodes of `node`'s subgraphs read (theirs and the outer graph's alike). */
function subgraphInputs(node: Onnx.INodeProto): string[] {
  const graphs = (node.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
  return graphs.flatMap((g) => (g.node ?? []).flatMap((n) => [...(n.input ?? []), ...subgraphInputs(n)]));
}

/** The rank the graph declares for tensor `name` (as an output or in its value infos), if it does. */
function declaredRank(model: Onnx.IModelProto, name: string): number | undefined {
  const info = [...(model.graph?.output ?? []), ...(model.graph?.valueInfo ?? [])].find((v) => v.name === name);
  return info?.type?.tensorType?.shape?.dim?.length;
}

/**
 * The matrix that averages the adaptive-pooling cells (`cellBounds`) along one side of `size`
 * pixels: 1 / the cell's length where a pixel lies in a cell, else 0; [cells, size] or [size, cells].
 */
export function cellAverages(size: number, cells: number, layout: 'cells-by-pixels' | 'pixels-by-cells'): Float32Array {
  const matrix = new Float32Array(size * cells);
  cellBounds(size, cells).forEach(([start, end], cell) => {
    for (let pixel = start; pixel < end; pixel++) {
      matrix[layout === 'cells-by-pixels' ? cell * size + pixel : pixel * cells + cell] = 1 / (end - start);
    }
  });
  return matrix;
}
