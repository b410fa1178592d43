/**
 * A trained head as one ONNX model: decoded RGB pixels in (uint8 [height, width, 3], any size),
 * class probabilities out. The graph starts with the studio's preprocessing (`preprocessPixels`):
 * per teacher, the center crop if its spec says so (`cropBox`, as the function `CenterCrop`), the
 * antialiased bilinear resize (`resizeBilinear`, as the function `ResizeAntialiased`), its
 * normalization and layout;
 * so every client (Node, browsers, Python) gets the studio's numbers from the pixels alone. The teacher's graph
 * is cut after the deepest layer the head reads (nodes nothing needs are pruned, with their
 * weights). A head on several teachers holds every teacher's graph side by side, each name
 * prefixed `teacher/`, all fed from the one pixels input (each prepared as that teacher's images are).
 * Then each block is pooled, centered, L2-normalized and scaled exactly as
 * `headInputs` does, concatenated, (head2toe) selected and re-normalized, multiplied by the head's
 * weights and passed through softmax. See `head-params.ts` for the arithmetic being mirrored.
 */
import { readFile } from 'node:fs/promises';
import { withExactIntegerKernels } from '../engines/exact-integers';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { blockScales, type Candidate } from '../atl/features';
import type { HeadParams } from '../atl/head-params';
import type { FeatureLayer } from '../engines/feature-extractor';
import { bytesOf, FLOAT, GraphBuilder, int, INT64, ints, OPSET, poolingNodes, prune } from '../engines/onnx-graph';
import { channelAffine, type PreprocessSpec } from '../engines/preprocess';
import type { TeacherSpec } from '../engines/teachers';
import { convertTfjsLayersModel } from '../engines/tfjs-to-onnx';
import { StudioError } from '../core/errors';

const { onnx } = onnxProto;
export const PROBABILITIES = 'probabilities';
/** The exported model's one input: an image's decoded RGB bytes, uint8 [height, width, 3]. */
export const PIXELS = 'pixels';

/** Below any real feature norm; keeps an all-zero block at zero (as the studio does) instead of NaN. */
const NORM_FLOOR = 1e-12;

export interface OnnxHeadModel {
  bytes: Uint8Array;
  /** One per teacher, in the head's order: the name of its preprocessed input inside the graph, and one image's shape there (without the batch dim), in the teacher's layout. */
  teacherInputs: { name: string; shape: number[] }[];
}

/** A teacher the head reads: `id` is the one its candidates record when it reads several. */
export interface ExportTeacher {
  id: string;
  spec: TeacherSpec;
  layers: readonly FeatureLayer[];
}

/** The teacher's graph as ONNX, exposing `layerNames` (a TF.js layers teacher is converted). */
async function teacherModel(spec: TeacherSpec, layerNames: string[]): Promise<Onnx.ModelProto> {
  const teacherBytes =
    spec.format === 'onnx'
      ? new Uint8Array(await readFile(spec.modelPath))
      : spec.format === 'tfjs-layers'
        ? (await convertTfjsLayersModel(spec.modelPath, layerNames)).onnx
        : null;
  if (!teacherBytes) throw new StudioError('invalid_input', `${spec.name} is a TF.js graph model: ONNX export supports ONNX and TF.js layers teachers`);
  const model = onnx.ModelProto.decode(teacherBytes);
  // The exact integers of an int8 teacher, as the studio computed its features (engines/exact-integers.ts).
  withExactIntegerKernels(model);
  return model;
}

export async function buildOnnxHeadModel(teachers: readonly ExportTeacher[], candidates: readonly Candidate[], params: HeadParams): Promise<OnnxHeadModel> {
  const several = teachers.length > 1;
  const candidatesOf = (t: ExportTeacher) => (several ? candidates.filter((c) => c.teacher === t.id) : candidates);
  const models: Onnx.ModelProto[] = [];
  for (const t of teachers) {
    const model = await teacherModel(t.spec, [...new Set(candidatesOf(t).map((c) => c.layer))]);
    if (several) prefixNames(model.graph!, `${t.id}/`, t.spec.name);
    models.push(model);
  }
  const [model] = models;
  const graph = model.graph!;
  const inputs = models.map((m) => m.graph!.input!.find((i) => !(m.graph!.initializer ?? []).some((w) => w.name === i.name))!);
  if (several) {
    graph.node = models.flatMap((m) => m.graph!.node ?? []);
    graph.initializer = models.flatMap((m) => m.graph!.initializer ?? []);
    graph.input = models.flatMap((m) => m.graph!.input ?? []);
    graph.output = models.flatMap((m) => m.graph!.output ?? []);
    graph.valueInfo = models.flatMap((m) => m.graph!.valueInfo ?? []);
    model.irVersion = Math.max(...models.map((m) => Number(m.irVersion ?? 0)));
  }
  // The appended nodes follow the teachers' opset (at least 13): from opset 18 on, ReduceL2 takes
  // its axes as an input instead of an attribute (the pooling uses no Reduce op).
  const opsets = models.flatMap((m) => m.opsetImport ?? []);
  const opset = Math.max(OPSET, ...opsets.filter((o) => !o.domain).map((o) => Number(o.version ?? OPSET)));
  const ranks = new Map((graph.output ?? []).map((o) => [o.name!, o.type?.tensorType?.shape?.dim?.length ?? 0]));

  const g = new GraphBuilder();
  const scales = blockScales(candidates, params.weighting);
  const blocks = candidates.map((c, b) => {
    const teacher = several ? teachers.find((t) => t.id === c.teacher) : teachers[0];
    if (!teacher) throw new StudioError('bad_file', `The head reads ${c.key}, of no teacher it names`);
    const { spec } = teacher;
    const layer = teacher.layers.find((l) => l.name === c.layer);
    if (!layer) throw new StudioError('bad_file', `The head reads layer ${c.layer}, which ${spec.name} does not have`);
    const source = several ? `${teacher.id}/${c.layer}` : c.layer;
    const rank = ranks.get(source);
    if (rank !== 2 && rank !== 4) throw new StudioError('bad_file', `${spec.name} does not expose layer ${c.layer} as a graph output`);
    const pooled = poolingNodes(g, { map: source, rank, layer, pooling: c.pooling, prefix: `head/b${b}`, output: `head/b${b}/pooled` });
    const centered = g.node('Sub', [pooled, g.initializer(`head/b${b}/mean`, [c.dim], Float32Array.from(params.blocks[b].mean))], `head/b${b}/centered`);
    const unit = l2Normalize(g, opset, centered, `head/b${b}`);
    return g.node('Mul', [unit, g.initializer(`head/b${b}/scale`, [1], Float32Array.of(scales[b]))], `head/b${b}/scaled`);
  });
  let x = blocks.length === 1 ? blocks[0] : g.node('Concat', blocks, 'head/concat', [int('axis', 1)]);
  if (params.kept) {
    const kept = g.node('Gather', [x, g.int64('head/kept', [...params.kept])], 'head/kept_features', [int('axis', 1)]);
    x = l2Normalize(g, opset, kept, 'head/kept');
  }
  const k = params.classes;
  const d = params.coef.length / k;
  // MatMul wants [features, classes]: coef is stored classes × features.
  const weights = new Float32Array(d * k);
  for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) weights[j * k + c] = params.coef[c * d + j];
  const logits = g.node('Add', [g.node('MatMul', [x, g.initializer('head/weights', [d, k], weights)], 'head/matmul'), g.initializer('head/bias', [k], Float32Array.from(params.intercept))], 'head/logits');
  g.node('Softmax', [logits], PROBABILITIES, [int('axis', 1)]);

  // The preprocessing feeds every teacher's input from the pixels: its nodes come first.
  const preprocessing = new GraphBuilder();
  const pixels = preprocessing.node('Unsqueeze', [preprocessing.node('Cast', [PIXELS], 'preprocess/float', [int('to', onnx.TensorProto.DataType.FLOAT)]), preprocessing.int64('preprocess/batch_axis', [0])], 'preprocess/batch');
  teachers.forEach((t, i) => preprocess(preprocessing, pixels, t.spec.preprocess, inputs[i].name!, several ? `${t.id}/preprocess` : 'preprocess'));
  graph.input = [{ name: PIXELS, type: { tensorType: { elemType: onnx.TensorProto.DataType.UINT8, shape: { dim: [{ dimParam: 'height' }, { dimParam: 'width' }, { dimValue: 3 }] } } } }];
  graph.node = [...preprocessing.nodes, ...(graph.node ?? []), ...g.nodes];
  graph.initializer = [...preprocessing.initializers, ...(graph.initializer ?? []), ...g.initializers];
  graph.output = [{ name: PROBABILITIES, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'N' }, { dimValue: k }] } } } }];
  // The teacher cut after the deepest layer used.
  prune(graph);
  // Other domains' entries stay as the teachers declared them (the highest version where two differ).
  const domains = new Map<string, number>();
  for (const o of opsets) if (o.domain) domains.set(o.domain, Math.max(domains.get(o.domain) ?? 0, Number(o.version)));
  domains.set(STUDIO_DOMAIN, 1);
  model.opsetImport = [...[...domains].map(([domain, version]) => ({ domain, version })), { domain: '', version: opset }];
  model.functions = [resizeAntialiasedFunction(opset), ...(teachers.some((t) => t.spec.preprocess.resize === 'center-crop') ? [centerCropFunction(opset)] : [])];
  // Model-local functions came with IR version 8.
  model.irVersion = Math.max(8, Number(model.irVersion ?? 0));
  model.producerName = 'atl-studio export';
  return {
    bytes: onnx.ModelProto.encode(model).finish(),
    teacherInputs: inputs.map((input) => ({ name: input.name!, shape: input.type!.tensorType!.shape!.dim!.slice(1).map((dim) => Number(dim.dimValue)) })),
  };
}

/**
 * Nodes that make a teacher's input `output` from `pixels` (float [1, H, W, 3]) as
 * `preprocessPixels` does: the center crop if the teacher's spec says so (`CenterCrop`), the
 * antialiased resize (`ResizeAntialiased`), x · scale[c] + offset[c], and NCHW if the teacher wants it.
 */
function preprocess(g: GraphBuilder, pixels: string, spec: PreprocessSpec, output: string, prefix: string): void {
  const image = spec.resize === 'center-crop' ? g.node(CENTER_CROP, [pixels, g.int64(`${prefix}/aspect`, [spec.height, spec.width])], `${prefix}/cropped`, [], STUDIO_DOMAIN) : pixels;
  const resized = g.node(RESIZE_ANTIALIASED, [image, g.int64(`${prefix}/sizes`, [spec.height, spec.width])], `${prefix}/resized`, [], STUDIO_DOMAIN);
  const [scale, offset] = channelAffine(spec.normalization);
  const scaled = g.node('Mul', [resized, g.initializer(`${prefix}/scale`, [3], Float32Array.from(scale))], `${prefix}/scaled`);
  const nhwc = spec.layout === 'NHWC' ? output : `${prefix}/normalized`;
  g.node('Add', [scaled, g.initializer(`${prefix}/offset`, [3], Float32Array.from(offset))], nhwc);
  if (spec.layout === 'NCHW') g.node('Transpose', [nhwc], output, [ints('perm', [0, 3, 1, 2])]);
}

/** The domain of the export's own functions, `CenterCrop` and `ResizeAntialiased`; the ONNX → TF.js converter lowers each as one op. */
export const STUDIO_DOMAIN = 'ai.atl_studio';
export const CENTER_CROP = 'CenterCrop';
export const RESIZE_ANTIALIASED = 'ResizeAntialiased';

/** A Constant node's output in a function's body (a function has no initializers). */
function functionConstant(g: GraphBuilder, name: string, dataType: number, values: number[], dims: number[] = [values.length]): string {
  const raw = dataType === INT64 ? bytesOf(BigInt64Array.from(values.map(BigInt))) : bytesOf(Float32Array.from(values));
  return g.node('Constant', [], name, [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims, dataType, rawData: raw } }]);
}

/**
 * `CenterCrop(X, aspect) → Y`: the `cropBox` of X (float [1, H, W, 3], any H and W) for a teacher
 * of aspect = [h, w] (int64), the largest centered box of that aspect in whole pixels: height
 * min(H, ⌊W·h/w⌋), width min(W, ⌊H·w/h⌋), top ⌊(H − height)/2⌋, left ⌊(W − width)/2⌋, in int64
 * (Div truncates: a floor for these positive numbers).
 */
export function centerCropFunction(opset: number): Onnx.IFunctionProto {
  const g = new GraphBuilder();
  const constant = (name: string, values: number[]) => functionConstant(g, name, INT64, values);
  const size = g.node('Slice', [g.node('Shape', ['X'], 'shape'), constant('hw_start', [1]), constant('hw_end', [3])], 'size');
  const swap = constant('swap', [1, 0]);
  // [W·h, H·w] / [w, h]
  const scaled = g.node('Div', [g.node('Mul', [g.node('Gather', [size, swap], 'size_swapped', [int('axis', 0)]), 'aspect'], 'size_scaled'), g.node('Gather', ['aspect', swap], 'aspect_swapped', [int('axis', 0)])], 'aspect_size');
  const box = g.node('Min', [size, scaled], 'box');
  const start = g.node('Div', [g.node('Sub', [size, box], 'margin'), constant('two', [2, 2])], 'box_start');
  g.node('Slice', ['X', start, g.node('Add', [start, box], 'box_end'), constant('hw_axes', [1, 2])], 'Y');
  return { name: CENTER_CROP, domain: STUDIO_DOMAIN, input: ['X', 'aspect'], output: ['Y'], node: g.nodes, opsetImport: [{ domain: '', version: opset }] };
}

/**
 * `ResizeAntialiased(X, sizes) → Y`: `resizeBilinear` of X (float [1, H, W, 3], any H and W) to
 * sizes = [outH, outW] (int64), as two matrix products Y = Wy · X · Wxᵀ per channel, each W[i, j]
 * the weight `filterTaps` gives pixel j in output i, computed from the shape in float32:
 * max(0, 1 − |j + 0.5 − (i + 0.5)·s| / max(s, 1)) / (its row's sum), s = size / outSize. Opset 18's
 * Resize has antialiasing, but the export keeps its teachers' opset (13 and up). A dense product
 * reads every pixel for every output row: ~H·W·(outH or outW)·3 multiply-adds (8·10⁹ for a 12 MP
 * photo to 224), where a decode of that photo costs about as much time.
 */
export function resizeAntialiasedFunction(opset: number): Onnx.IFunctionProto {
  const g = new GraphBuilder();
  const constant = (name: string, dataType: number, values: number[], dims?: number[]) => functionConstant(g, name, dataType, values, dims);
  const [half, one] = [constant('half', FLOAT, [0.5], []), constant('one', FLOAT, [1], [])];
  const inputSize = g.node('Cast', [g.node('Shape', ['X'], 'shape')], 'input_size', [int('to', FLOAT)]);
  const outputSize = g.node('Cast', ['sizes'], 'output_size', [int('to', FLOAT)]);
  /** W of one axis ([out, size]): axis 1 (height) or 2 (width) of X; its entry in sizes is axis − 1. */
  const weights = (axis: 1 | 2, name: string) => {
    const size = g.node('Gather', [inputSize, constant(`${name}/axis`, INT64, [axis], [])], `${name}/size`, [int('axis', 0)]);
    const outSize = g.node('Gather', [outputSize, constant(`${name}/index`, INT64, [axis - 1], [])], `${name}/out_size`, [int('axis', 0)]);
    const scale = g.node('Div', [size, outSize], `${name}/scale`);
    const support = g.node('Max', [scale, one], `${name}/support`);
    const centers = g.node('Mul', [g.node('Range', [half, outSize, one], `${name}/output_centers`), scale], `${name}/centers`);
    const pixels = g.node('Range', [half, size, one], `${name}/pixel_centers`);
    const distance = g.node('Abs', [g.node('Sub', [g.node('Unsqueeze', [pixels, constant(`${name}/row`, INT64, [0])], `${name}/pixel_row`), g.node('Unsqueeze', [centers, constant(`${name}/column`, INT64, [1])], `${name}/center_column`)], `${name}/offset`)], `${name}/distance`);
    const triangle = g.node('Relu', [g.node('Sub', [one, g.node('Div', [distance, support], `${name}/relative`)], `${name}/height`)], `${name}/triangle`);
    const sums = g.node('ReduceSum', [triangle, constant(`${name}/sum_axes`, INT64, [1])], `${name}/sums`, [int('keepdims', 1)]);
    return g.node('Div', [triangle, sums], name);
  };
  const wy = weights(1, 'wy');
  const wx = weights(2, 'wx');
  const planes = g.node('Transpose', ['X'], 'planes', [ints('perm', [0, 3, 1, 2])]);
  const rows = g.node('MatMul', [wy, planes], 'rows_resized');
  const resized = g.node('MatMul', [rows, g.node('Transpose', [wx], 'wx_t', [ints('perm', [1, 0])])], 'resized');
  g.node('Transpose', [resized], 'Y', [ints('perm', [0, 2, 3, 1])]);
  return { name: RESIZE_ANTIALIASED, domain: STUDIO_DOMAIN, input: ['X', 'sizes'], output: ['Y'], node: g.nodes, opsetImport: [{ domain: '', version: opset }] };
}

/** Prefixes every tensor and node name of a teacher's graph, so that several teachers' graphs can stand side by side. */
function prefixNames(graph: Onnx.IGraphProto, prefix: string, teacherName: string): void {
  const named = (name: string | null | undefined) => (name ? `${prefix}${name}` : name);
  for (const node of graph.node ?? []) {
    if ((node.attribute ?? []).some((a) => a.g || (a.graphs ?? []).length > 0)) {
      throw new StudioError('invalid_input', `${teacherName} has control flow (${node.opType}): it cannot be exported beside another teacher`);
    }
    node.name = named(node.name);
    node.input = (node.input ?? []).map((i) => named(i)!);
    node.output = (node.output ?? []).map((o) => named(o)!);
  }
  for (const list of [graph.initializer, graph.input, graph.output, graph.valueInfo]) for (const item of list ?? []) item.name = named(item.name);
}

/** x / max(‖x‖₂, floor) per row. ReduceL2 as the opset spells it: axes an attribute up to opset 17, an int64 input from 18. */
function l2Normalize(g: GraphBuilder, opset: number, x: string, prefix: string): string {
  const out = `${prefix}/norm`;
  const norm = opset >= 18 ? g.node('ReduceL2', [x, g.int64(`${out}/axes`, [1])], out, [int('keepdims', 1)]) : g.node('ReduceL2', [x], out, [ints('axes', [1]), int('keepdims', 1)]);
  const floored = g.node('Max', [norm, g.initializer(`${prefix}/floor`, [1], Float32Array.of(NORM_FLOOR))], `${prefix}/norm_floored`);
  return g.node('Div', [x, floored], `${prefix}/unit`);
}
