/**
 * Ops of the exported models' preprocessing: Cast (the uint8 pixels, int32 in TF.js, to float),
 * Unsqueeze (the batch axis) and Resize (bilinear with half-pixel centers: TF's ResizeBilinear).
 * Their input's height and width are unknown until run time (−1 in `Value.shape`).
 */
import onnxProto from 'onnx-proto';
import type { Converter, LoweringTable } from './converter';
import { FLOAT_OP, attr } from './graph-def';
import { identity, sameList } from './layout';
import { inputOf, intAttr, intsAttr, outputOf, stringAttr, type NodeArgs } from './node-args';

const { onnx } = onnxProto;

export const IMAGE_LOWERINGS: LoweringTable = {
  Cast: cast,
  Unsqueeze: unsqueeze,
  Resize: resize,
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
