/** Reductions over axes: ReduceMean and ReduceL2 (GlobalAveragePool and the quantized pool's sum use the same lowering). */
import type { Converter, LoweringTable, Value } from './converter';
import { FLOAT_OP, attr } from './graph-def';
import { dropAxes, identity, inverse, normalizeAxis } from './layout';
import { inputOf, intAttr, intsAttr, outputOf, type NodeArgs } from './node-args';

export const REDUCE_LOWERINGS: LoweringTable = {
  ReduceMean(args) {
    reduce.call(this, args, 'mean');
  },
  ReduceL2(args) {
    reduce.call(this, args, 'l2');
  },
};

function reduce(this: Converter, args: NodeArgs, kind: 'mean' | 'l2'): void {
  const x = this.value(inputOf(args, 0)!);
  const rank = x.shape.length;
  // Opset 13 gives axes as an attribute, opset 18 as an input; none means all axes.
  const fromInput = inputOf(args, 1) ? Array.from(this.constant(inputOf(args, 1)!, 'axes').values) : undefined;
  const axes = (fromInput ?? intsAttr(args, 'axes') ?? identity(rank)).map((a) => normalizeAxis(a, rank));
  reduceAxes.call(this, args, x, axes, intAttr(args, 'keepdims', 1) !== 0, kind);
}

export function reduceAxes(this: Converter, args: NodeArgs, x: Value, axes: number[], keep: boolean, kind: 'mean' | 'sum' | 'l2', output = outputOf(args)): void {
  const inv = inverse(x.perm);
  const tfAxes = this.intConst(`${args.name}/axes`, axes.map((a) => inv[a]).sort((a, b) => a - b));
  const reduceAttrs = { ...FLOAT_OP, Tidx: attr.type('int32'), keep_dims: attr.bool(keep) };
  let tf: string;
  if (kind === 'mean') tf = this.op(args.name, 'Mean', [x.tf, tfAxes], reduceAttrs);
  else if (kind === 'sum') tf = this.op(args.name, 'Sum', [x.tf, tfAxes], reduceAttrs);
  else {
    const square = this.op(`${args.name}/square`, 'Square', [x.tf], FLOAT_OP);
    const sum = this.op(`${args.name}/sum`, 'Sum', [square, tfAxes], reduceAttrs);
    tf = this.op(args.name, 'Sqrt', [sum], FLOAT_OP);
  }
  const shape = keep ? x.shape.map((d, a) => (axes.includes(a) ? 1 : d)) : x.shape.filter((_, a) => !axes.includes(a));
  this.set(output, { tf, shape, perm: keep ? x.perm : dropAxes(x.perm, axes) });
}
