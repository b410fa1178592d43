/** Matrix products and the classifier head: Gemm, MatMul and Softmax. */
import type { Converter, LoweringTable, Value } from './converter';
import { FLOAT_OP, NHWC_FORMAT, attr } from './graph-def';
import { broadcastShapes, identity, normalizeAxis } from './layout';
import { floatAttr, inputOf, intAttr, outputOf, type NodeArgs } from './node-args';
import { reshapeTo } from './ops-shape';

export const LINEAR_LOWERINGS: LoweringTable = {
  Gemm: gemm,
  MatMul: matMul,
  Softmax: softmax,
};

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
