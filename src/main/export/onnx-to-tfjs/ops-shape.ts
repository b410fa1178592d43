/**
 * Ops that move or make data without arithmetic: Identity, Constant, Transpose (a relabelling of
 * axes, no TF op), Reshape, Flatten, Slice, Pad, Concat and Gather.
 */
import type { Converter, LoweringTable, Value } from './converter';
import { FLOAT_OP, attr } from './graph-def';
import { dropAxes, identity, inverse, normalizeAxis, product, sameList } from './layout';
import { floatAttr, inputOf, intAttr, intsAttr, outputOf, stringAttr, type NodeArgs } from './node-args';

export const SHAPE_LOWERINGS: LoweringTable = {
  Identity(args) {
    this.set(outputOf(args), this.value(inputOf(args, 0)!));
  },
  Constant(args) {
    const t = args.attrs.get('value')?.t;
    if (!t) throw new Error('only tensor-valued Constant nodes are supported');
    this.addConstant(outputOf(args), t);
  },
  Transpose: transpose,
  Slice: slice,
  Pad: pad,
  Flatten: flatten,
  Reshape: reshape,
  Concat: concat,
  Gather: gather,
};

/** ONNX Transpose only relabels axes: TF axis i holding ONNX axis p stays, now as axis q⁻¹[p]. */
function transpose(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const rank = x.shape.length;
  const q = intsAttr(args, 'perm') ?? identity(rank).reverse();
  const qInv = inverse(q);
  this.set(outputOf(args), { tf: x.tf, shape: q.map((a) => x.shape[a]), perm: x.perm.map((p) => qInv[p]) });
}

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

/** A TF Reshape of `x` (in ONNX element order) to `shape` (−1 at most once: the batch). */
export function reshapeTo(this: Converter, base: string, x: Value, shape: number[]): Value {
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
