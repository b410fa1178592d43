/**
 * A shape computed from the batch at run time, folded into a constant before converting. PyTorch's
 * `x.view(x.size(0), -1)` exports as Reshape(X, Concat(Unsqueeze(Gather(Shape(Y), 0)), C)) (the
 * ONNX zoo's MobileNetV2 has it before its classifier). The converter knows every shape but the
 * batch, so that shape is the constant [0, ...C]: ONNX Reshape's 0 copies X's dim 0, the batch, as
 * Y's dim 0 is in the image graphs the converter reads (batch first). Any other use of Shape stays
 * unsupported (a clear error naming the node).
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { initializerValues } from '../../engines/onnx-graph';

const { onnx } = onnxProto;

export function foldBatchShapes(graph: Onnx.IGraphProto): Onnx.IGraphProto {
  const nodes = graph.node ?? [];
  const producer = new Map(nodes.flatMap((n) => (n.output ?? []).map((o) => [o, n] as const)));
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const added: Onnx.ITensorProto[] = [];
  const rewritten = nodes.map((node) => {
    if (node.opType !== 'Reshape' || node.domain) return node;
    const rest = batchThenConstants(node.input?.[1] ?? '', producer, initializers);
    if (!rest) return node;
    const name = `${node.input![1]}/batch_folded`;
    added.push({ name, dims: [rest.length + 1], dataType: onnx.TensorProto.DataType.INT64, int64Data: [0, ...rest] });
    return { ...node, input: [node.input![0], name] };
  });
  if (added.length === 0) return graph;
  return { ...graph, node: withoutUnread(rewritten, graph), initializer: [...(graph.initializer ?? []), ...added] };
}

/** C when `shape` is Concat(Unsqueeze(Gather(Shape(·), 0), [0]), C…) with C int64 constants; else undefined. */
function batchThenConstants(shape: string, producer: Map<string, Onnx.INodeProto>, initializers: Map<string, Onnx.ITensorProto>): number[] | undefined {
  const concat = producer.get(shape);
  if (concat?.opType !== 'Concat' || intAttr(concat, 'axis') !== 0) return undefined;
  const [first, ...others] = concat.input ?? [];
  const unsqueeze = producer.get(first);
  const unsqueezeAxes = unsqueeze?.input?.[1] ? int64s(initializers.get(unsqueeze.input[1])) : unsqueeze?.attribute?.find((a) => a.name === 'axes')?.ints?.map(Number);
  if (unsqueeze?.opType !== 'Unsqueeze' || unsqueezeAxes?.length !== 1 || unsqueezeAxes[0] !== 0) return undefined;
  const gather = producer.get(unsqueeze.input?.[0] ?? '');
  const index = int64s(initializers.get(gather?.input?.[1] ?? ''));
  if (gather?.opType !== 'Gather' || (intAttr(gather, 'axis') ?? 0) !== 0 || index?.length !== 1 || index[0] !== 0) return undefined;
  const source = producer.get(gather.input?.[0] ?? '');
  if (source?.opType !== 'Shape' || source.attribute?.some((a) => a.name === 'start' || a.name === 'end')) return undefined;
  const constants = others.map((o) => int64s(initializers.get(o)));
  return constants.every((c) => c !== undefined) ? constants.flat() as number[] : undefined;
}

/** The nodes whose outputs something still reads (a node or a graph output): the shape computations the folding left unread go, and any node nothing read before. */
function withoutUnread(nodes: Onnx.INodeProto[], graph: Onnx.IGraphProto): Onnx.INodeProto[] {
  let kept = nodes;
  for (;;) {
    const read = new Set([...kept.flatMap((n) => n.input ?? []), ...(graph.output ?? []).map((o) => o.name ?? '')]);
    const next = kept.filter((n) => (n.output ?? []).some((o) => read.has(o)));
    if (next.length === kept.length) return kept;
    kept = next;
  }
}

function intAttr(node: Onnx.INodeProto, name: string): number | undefined {
  const a = node.attribute?.find((x) => x.name === name);
  return a?.i != null ? Number(a.i) : undefined;
}

/** An int64 initializer's values; undefined for anything else. */
function int64s(t: Onnx.ITensorProto | undefined): number[] | undefined {
  if (t?.dataType !== onnx.TensorProto.DataType.INT64) return undefined;
  return Array.from(initializerValues(t)!);
}
