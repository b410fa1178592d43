/**
 * Convolutions and pooling: Conv (plain, depthwise, grouped; fusing a following BatchNormalization
 * and Relu/Relu6), BatchNormalization on its own, AveragePool (unpadded: the studio's pooling) and
 * GlobalAveragePool.
 */
import type { onnx as Onnx } from 'onnx-proto';
import { permute } from '../../engines/tfjs-to-onnx';
import type { Converter, LoweringTable } from './converter';
import { FLOAT_OP, NHWC_FORMAT, attr } from './graph-def';
import { NHWC, identity, inverse } from './layout';
import { floatAttr, inputOf, intAttr, intsAttr, nodeArgs, outputOf, stringAttr, type NodeArgs } from './node-args';
import { activationOf } from './ops-elementwise';
import { reduceAxes } from './ops-reduce';

export const CONV_LOWERINGS: LoweringTable = {
  Conv: conv,
  BatchNormalization: batchNormalization,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
};

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

/** 2-D AveragePool without padding (what `poolingNodes` writes) as TF's AvgPool in NHWC, VALID. */
function averagePool(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const kernel = intsAttr(args, 'kernel_shape') ?? [];
  if (x.shape.length !== 4 || kernel.length !== 2) throw new Error(`only 2-D average pooling is supported, the input is [${x.shape}]`);
  const [n, c, h, w] = x.shape;
  const strides = intsAttr(args, 'strides') ?? [1, 1];
  const dilations = intsAttr(args, 'dilations') ?? [1, 1];
  const [pads, out] = convPads(args, [h, w], kernel, strides, dilations);
  if (pads.some((p) => p !== 0) || intAttr(args, 'ceil_mode', 0) !== 0 || dilations.some((d) => d !== 1)) {
    throw new Error('only average pooling without padding, ceil mode or dilation is supported');
  }
  const tf = this.op(args.name, 'AvgPool', [this.inLayout(x, NHWC)], {
    ...FLOAT_OP,
    ksize: attr.ints([1, kernel[0], kernel[1], 1]),
    strides: attr.ints([1, strides[0], strides[1], 1]),
    padding: attr.string('VALID'),
    data_format: NHWC_FORMAT,
  });
  this.set(outputOf(args), { tf, shape: [n, c, out[0], out[1]], perm: NHWC });
}

function globalAveragePool(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const spatial = identity(x.shape.length).slice(2);
  reduceAxes.call(this, args, x, spatial, true, 'mean');
}
