/** Elementwise ops: activations, Round, Clip and the broadcasting arithmetic (Add, Sub, Mul, Div, Max, Min). */
import type { onnx as Onnx } from 'onnx-proto';
import type { Constant, Converter, LoweringTable, OpLowering } from './converter';
import { FLOAT_OP } from './graph-def';
import { broadcastShapes, identity, sameList } from './layout';
import { floatAttr, inputOf, nodeArgs, outputOf, type NodeArgs } from './node-args';

export const ELEMENTWISE_LOWERINGS: LoweringTable = {
  Relu: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Round: unary('Round'),
  Clip: clip,
  Add: binary('AddV2'),
  Sum: binary('AddV2'),
  Sub: binary('Sub'),
  Mul: binary('Mul'),
  Div: binary('RealDiv'),
  Max: binary('Maximum'),
  Min: binary('Minimum'),
};

function unary(op: string): OpLowering {
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
export function activationOf(this: Converter, node: Onnx.INodeProto): 'Relu' | 'Relu6' | undefined {
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
function binary(op: string): OpLowering {
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
