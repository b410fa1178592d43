/**
 * Ops of the exported models' preprocessing: Cast (the uint8 pixels, int32 in TF.js, to float),
 * Unsqueeze (the batch axis), the export's CenterCrop and ResizeAntialiased, and Resize (bilinear with half-pixel
 * centers: TF's ResizeBilinear). Their input's height and width are unknown until run time (−1 in
 * `Value.shape`).
 */
import onnxProto from 'onnx-proto';
import type { Converter, LoweringTable } from './converter';
import { FLOAT_OP, attr } from './graph-def';
import { identity, sameList } from './layout';
import { inputOf, intAttr, intsAttr, outputOf, stringAttr, type NodeArgs } from './node-args';
import { CENTER_CROP, RESIZE_ANTIALIASED, STUDIO_DOMAIN } from '../onnx-export';

const { onnx } = onnxProto;

export const IMAGE_LOWERINGS: LoweringTable = {
  Cast: cast,
  Unsqueeze: unsqueeze,
  Resize: resize,
  [`${STUDIO_DOMAIN}.${CENTER_CROP}`]: centerCrop,
  [`${STUDIO_DOMAIN}.${RESIZE_ANTIALIASED}`]: resizeAntialiased,
};

/** Only to float: the one cast the exports make (TF.js computes in float32 and int32). */
function cast(this: Converter, args: NodeArgs): void {
  if (intAttr(args, 'to', 0) !== onnx.TensorProto.DataType.FLOAT) throw new Error('only Cast to float is supported');
  const x = this.value(inputOf(args, 0)!);
  const tf = this.op(args.name, 'Cast', [x.tf], { SrcT: attr.type('int32'), DstT: attr.type(), Truncate: attr.bool(false) });
  this.set(outputOf(args), { ...x, tf });
}

/** Inserts size-1 axes (axes: an input from opset 13, an attribute before), in ONNX layout. */
function unsqueeze(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const axesInput = inputOf(args, 1);
  const given = axesInput ? Array.from(this.constant(axesInput, 'axes').values) : (intsAttr(args, 'axes') ?? []);
  const rank = x.shape.length + given.length;
  const axes = given.map((a) => (a < 0 ? a + rank : a)).sort((a, b) => a - b);
  let tf = this.inLayout(x, identity(x.shape.length));
  const shape = [...x.shape];
  for (const axis of axes) {
    tf = this.op(`${args.name}/expand`, 'ExpandDims', [tf, this.scalarInt(`${args.name}/axis${axis}`, axis)], { ...FLOAT_OP, Tdim: attr.type('int32') });
    shape.splice(axis, 0, 1);
  }
  this.set(outputOf(args), { tf, shape, perm: identity(rank) });
}

/**
 * ONNX Resize (mode linear, coordinate_transformation_mode half_pixel, target `sizes`) of two
 * adjacent spatial axes of a 4-D tensor: TF ResizeBilinear(half_pixel_centers), the same sampling.
 */
function resize(this: Converter, args: NodeArgs): void {
  const mode = stringAttr(args, 'mode', 'nearest');
  const coordinates = stringAttr(args, 'coordinate_transformation_mode', 'half_pixel');
  if (mode !== 'linear' || coordinates !== 'half_pixel') throw new Error(`only mode linear with half_pixel coordinates is supported, got ${mode} / ${coordinates}`);
  if (intAttr(args, 'antialias', 0) !== 0) throw new Error('antialias is not supported');
  const sizesInput = inputOf(args, 3);
  if (!sizesInput) throw new Error('only a Resize given its output sizes is supported');
  const x = this.value(inputOf(args, 0)!);
  const sizes = Array.from(this.constant(sizesInput, 'sizes').values);
  if (x.shape.length !== 4 || sizes.length !== 4) throw new Error('only 4-D tensors are resized');
  const resized = sizes.flatMap((s, a) => (s !== x.shape[a] ? [a] : []));
  // TF resizes axes 1 and 2 of [batch, height, width, channels]: NHWC in ONNX order, or NCHW moved to NHWC.
  const layout = sameList(resized, [1, 2]) ? [0, 1, 2, 3] : sameList(resized, [2, 3]) ? [0, 2, 3, 1] : undefined;
  if (!layout) throw new Error(`only two adjacent spatial axes are resized, not axes [${resized}]`);
  const size = this.intConst(`${args.name}/size`, [sizes[layout[1]], sizes[layout[2]]]);
  const tf = this.op(args.name, 'ResizeBilinear', [this.inLayout(x, layout), size], { ...FLOAT_OP, align_corners: attr.bool(false), half_pixel_centers: attr.bool(true) });
  this.set(outputOf(args), { tf, shape: sizes, perm: layout });
}

/**
 * The export's `ResizeAntialiased(X, sizes)` (onnx-export.ts says what it computes), with the same
 * float32 operations in TF ops: each axis's weights from X's shape (Shape, Range, the triangle,
 * divided by its row sums), then Y = Wy · X · Wxᵀ for each channel plane (BatchMatMulV2).
 */
function resizeAntialiased(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const [outHeight, outWidth] = Array.from(this.constant(inputOf(args, 1)!, 'sizes').values);
  if (x.shape.length !== 4 || x.shape[3] !== 3) throw new Error('only an NHWC image of 3 channels is resized');
  const base = args.name;
  const planes = this.inLayout(x, [0, 3, 1, 2]);
  const [planeHeight, planeWidth] = shapeDims.call(this, planes, base, [2, 3]);
  const [half, one] = [this.floatConst(`${base}/half`, [], [0.5]), this.floatConst(`${base}/one`, [], [1])];
  /** W ([outSize, size]) of the planes' axis of `sizeInt` pixels (int32, known at run time). */
  const weights = (sizeInt: string, outSize: number, name: string) => {
    const size = this.op(`${name}/size`, 'Cast', [sizeInt], { SrcT: attr.type('int32'), DstT: attr.type(), Truncate: attr.bool(false) });
    const scale = this.op(`${name}/scale`, 'RealDiv', [size, this.floatConst(`${name}/out_size`, [], [outSize])], FLOAT_OP);
    const support = this.op(`${name}/support`, 'Maximum', [scale, one], FLOAT_OP);
    const outputCenters = this.floatConst(`${name}/output_centers`, [outSize, 1], Array.from({ length: outSize }, (_, i) => i + 0.5));
    const centers = this.op(`${name}/centers`, 'Mul', [outputCenters, scale], FLOAT_OP);
    const pixels = this.op(`${name}/pixel_centers`, 'Range', [half, size, one], { Tidx: attr.type() });
    const row = this.op(`${name}/pixel_row`, 'ExpandDims', [pixels, this.scalarInt(`${name}/row_axis`, 0)], { ...FLOAT_OP, Tdim: attr.type('int32') });
    const distance = this.op(`${name}/distance`, 'Abs', [this.op(`${name}/offset`, 'Sub', [row, centers], FLOAT_OP)], FLOAT_OP);
    const height = this.op(`${name}/height`, 'Sub', [one, this.op(`${name}/relative`, 'RealDiv', [distance, support], FLOAT_OP)], FLOAT_OP);
    const triangle = this.op(`${name}/triangle`, 'Relu', [height], FLOAT_OP);
    const sums = this.op(`${name}/sums`, 'Sum', [triangle, this.intConst(`${name}/sum_axes`, [1])], { ...FLOAT_OP, Tidx: attr.type('int32'), keep_dims: attr.bool(true) });
    return this.op(name, 'RealDiv', [triangle, sums], FLOAT_OP);
  };
  const product = (name: string, a: string, b: string, transposeB: boolean) => this.op(name, 'BatchMatMulV2', [a, b], { ...FLOAT_OP, adj_x: attr.bool(false), adj_y: attr.bool(transposeB) });
  const rows = product(`${base}/rows_resized`, weights(planeHeight, outHeight, `${base}/wy`), planes, false);
  const tf = product(base, rows, weights(planeWidth, outWidth, `${base}/wx`), true);
  this.set(outputOf(args), { tf, shape: [x.shape[0], outHeight, outWidth, 3], perm: [0, 3, 1, 2] });
}

/**
 * The export's `CenterCrop(X, aspect)` (onnx-export.ts says what it computes), the same integers
 * in int32 TF ops from X's shape, then Slice. ⌊n·a/b⌋ is computed as ⌊n/b⌋·a + ⌊(n mod b)·a/b⌋,
 * which never overflows int32 where the crop itself fits (n·a would, for a 10⁷ px wide image).
 */
function centerCrop(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const [h, w] = Array.from(this.constant(inputOf(args, 1)!, 'aspect').values);
  if (x.shape.length !== 4 || x.shape[3] !== 3) throw new Error('only an NHWC image of 3 channels is cropped');
  const base = args.name;
  const INT_OP = { T: attr.type('int32') };
  const image = this.inLayout(x, identity(4));
  const [height, width] = shapeDims.call(this, image, base, [1, 2]);
  const int = (name: string, op: string, a: string, b: string) => this.op(`${base}/${name}`, op, [a, b], INT_OP);
  const scalar = (name: string, value: number) => this.scalarInt(`${base}/${name}`, value);
  /** ⌊n·a/b⌋ for constants a and b. */
  const scaledFloor = (name: string, n: string, a: number, b: number) => {
    const [ac, bc] = [scalar(`${name}_a`, a), scalar(`${name}_b`, b)];
    const whole = int(`${name}_whole`, 'Mul', int(`${name}_quotient`, 'FloorDiv', n, bc), ac);
    const part = int(`${name}_part`, 'FloorDiv', int(`${name}_rest`, 'Mul', int(`${name}_remainder`, 'FloorMod', n, bc), ac), bc);
    return int(name, 'AddV2', whole, part);
  };
  const boxHeight = int('box_height', 'Minimum', height, scaledFloor('aspect_height', width, h, w));
  const boxWidth = int('box_width', 'Minimum', width, scaledFloor('aspect_width', height, w, h));
  const two = scalar('two', 2);
  const top = int('top', 'FloorDiv', int('margin_height', 'Sub', height, boxHeight), two);
  const left = int('left', 'FloorDiv', int('margin_width', 'Sub', width, boxWidth), two);
  const pack = (name: string, values: string[]) => this.op(`${base}/${name}`, 'Pack', values, { ...INT_OP, N: attr.int(values.length), axis: attr.int(0) });
  // Slice's size −1: all of the batch and the channels.
  const [zero, all] = [scalar('zero', 0), scalar('all', -1)];
  const begin = pack('begin', [zero, top, left, zero]);
  const size = pack('size', [all, boxHeight, boxWidth, all]);
  const tf = this.op(base, 'Slice', [image, begin, size], { T: attr.type(), Index: attr.type('int32') });
  this.set(outputOf(args), { tf, shape: [x.shape[0], -1, -1, 3], perm: identity(4) });
}

/** Axes `axes` of `tensor`'s shape (TF layout), each an int32 scalar known only at run time. */
function shapeDims(this: Converter, tensor: string, base: string, axes: number[]): string[] {
  const shape = this.op(`${base}/shape`, 'Shape', [tensor], { T: attr.type(), out_type: attr.type('int32') });
  return axes.map((axis) => {
    const name = `${base}/dim${axis}`;
    const sliced = [this.intConst(`${name}/begin`, [axis]), this.intConst(`${name}/end`, [axis + 1]), this.intConst(`${name}/strides`, [1])];
    return this.op(name, 'StridedSlice', [shape, ...sliced], { T: attr.type('int32'), Index: attr.type('int32'), shrink_axis_mask: attr.int(1) });
  });
}
