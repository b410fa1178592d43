/**
 * Quantized graphs (QLinear* ops, QuantizeLinear / DequantizeLinear pairs) in float32, computing
 * the integers ONNX Runtime computes. TF.js has no uint8/int8 arithmetic, so a quantized tensor is
 * carried as its integers q held in float32 (exact below 2^24), and each op does what ONNX Runtime's
 * CPU kernels (MLAS) do:
 * - QLinearConv / QLinearMatMul: the int32 accumulator Σ (x − x_zp)(w − w_zp) + bias, exact in
 *   float32 while it stays below 2^24 in magnitude, then requantized as MLAS does:
 *   round(acc · M) + y_zp, clipped to the type, with M = float32(float32(x_scale · w_scale) / y_scale)
 *   per output channel; the same float32 product and round-half-to-even give the same integer;
 * - QLinearGlobalAveragePool: Σ (x − x_zp) over the map, times x_scale / (y_scale · H·W);
 * - QLinearAdd: (a − a_zp) · a_scale/c_scale + (b − b_zp) · b_scale/c_scale, rounded, + c_zp;
 * - QuantizeLinear: round(x / scale) + zp, clipped; DequantizeLinear: (q − zp) · scale.
 * Float32 arithmetic that differs from MLAS's in its last bit can put a value within that bit of a
 * half step on the other integer, one step apart. Weights and biases are made integer constants
 * (w − w_zp) once, at conversion. ONNX Runtime's own u8s8 kernels on AVX2 CPUs without VNNI
 * saturate pairs of products at int16 (its quantization docs), so they differ from exact
 * integers (and from this) where that happens; docs/engines.md gives the figures.
 */
import type { onnx as Onnx } from 'onnx-proto';
import type { Converter, LoweringTable, Value } from './converter';
import { FLOAT_OP } from './graph-def';
import { inputOf, intAttr, outputOf, type NodeArgs } from './node-args';
import { reduceAxes } from './ops-reduce';

export const QUANTIZED_LOWERINGS: LoweringTable = {
  QuantizeLinear: quantizeLinear,
  DequantizeLinear: dequantizeLinear,
  QLinearConv: qLinearConv,
  QLinearMatMul: qLinearMatMul,
  'com.microsoft.QLinearAdd': qLinearAdd,
  'com.microsoft.QLinearGlobalAveragePool': qLinearGlobalAveragePool,
};

/** The integer range of a zero point's data type (ONNX TensorProto: 2 = uint8, 3 = int8). */
const RANGES: Record<number, [number, number]> = { 2: [0, 255], 3: [-128, 127] };

/** A per-tensor quantization: its scale, zero point and integer range. */
interface Grid {
  scale: number;
  zeroPoint: number;
  range: [number, number];
}

/** The grid of a computed tensor, from a node's scale and zero-point inputs (per tensor only). */
function grid(this: Converter, args: NodeArgs, scaleInput: number, zeroPointInput: number): Grid {
  const scale = this.constant(inputOf(args, scaleInput) ?? '', 'scale');
  const zpName = inputOf(args, zeroPointInput);
  const zeroPoint = zpName ? this.constant(zpName, 'zero point') : undefined;
  if (scale.values.length !== 1 || (zeroPoint && zeroPoint.values.length !== 1)) {
    throw new Error('only per-tensor quantization of computed tensors is supported (per-axis only for constant weights)');
  }
  // No zero point: uint8 and 0, as ONNX defines it.
  const range = RANGES[zeroPoint?.dataType ?? 2];
  if (!range) throw new Error(`zero point of data type ${zeroPoint?.dataType}; only uint8 and int8 are supported`);
  return { scale: Math.fround(scale.values[0]), zeroPoint: zeroPoint?.values[0] ?? 0, range };
}

function scalar(this: Converter, base: string, value: number): string {
  return this.floatConst(base, [], [value]);
}

/** q − zp of a computed quantized tensor: its integers centred on the zero point. */
function centred(this: Converter, base: string, q: Value, zeroPoint: number): Value {
  return zeroPoint === 0 ? q : { ...q, tf: this.op(`${base}/centred`, 'Sub', [q.tf, scalar.call(this, `${base}/zp`, zeroPoint)], FLOAT_OP) };
}

/** clip(round(v) + zp): a value already in steps of the output grid, made its integers. */
function toIntegers(this: Converter, base: string, steps: string, g: Grid): string {
  const rounded = this.op(`${base}/rounded`, 'Round', [steps], FLOAT_OP);
  const lo = scalar.call(this, `${base}/lo`, g.range[0] - g.zeroPoint);
  const hi = scalar.call(this, `${base}/hi`, g.range[1] - g.zeroPoint);
  const clipped = this.op(`${base}/clipped`, 'ClipByValue', [rounded, lo, hi], FLOAT_OP);
  return g.zeroPoint === 0 ? clipped : this.op(base, 'AddV2', [clipped, scalar.call(this, `${base}/zp`, g.zeroPoint)], FLOAT_OP);
}

/**
 * Per element of a tensor of `shape` (row-major), the index of the per-axis parameter it takes
 * (a scale or zero point for each index along `axis`), or 0 when there is one for the whole tensor.
 */
function parameterIndex(shape: readonly number[], axis: number, count: number, what: string): (i: number) => number {
  if (count === 1) return () => 0;
  const at = axis < 0 ? axis + shape.length : axis;
  if (count !== shape[at]) throw new Error(`${what} of ${count} values does not fit [${shape}] along axis ${axis}`);
  const inner = shape.slice(at + 1).reduce((a, b) => a * b, 1);
  return (i) => Math.floor(i / inner) % count;
}

/**
 * A constant's integers minus its zero point, per tensor or per `axis` (a zero point for each index
 * along it), as a new float constant; returns its name.
 */
function centredConstant(this: Converter, name: string, zeroPointName: string | undefined, axis: number): string {
  const q = this.constant(name, 'quantized constant');
  const zeroPoint = zeroPointName ? this.constant(zeroPointName, 'zero point').values : new Float64Array(1);
  const k = parameterIndex(q.shape, axis, zeroPoint.length, `the zero point of '${name}'`);
  const values = q.values.map((v, i) => v - zeroPoint[k(i)]);
  const centredName = `${name}/centred`;
  this.defineConstant(centredName, { shape: q.shape, values, integer: false });
  return centredName;
}

/** Each output channel's requantization multiplier, float32(float32(inScale · weightScale) / outScale), as MLAS computes it. */
function multipliers(inScale: number, weightScales: Float64Array, outScale: number): number[] {
  return Array.from(weightScales, (w) => Math.fround(Math.fround(Math.fround(inScale) * Math.fround(w)) / outScale));
}

/** Runs `node` (a float op) through its own lowering; returns its output's value. */
function lowered(this: Converter, base: string, node: Onnx.INodeProto): Value {
  const out = `${base}/accumulator`;
  this.lower({ ...node, name: out, output: [out] });
  return this.value(out);
}

/** acc · M (per channel along `channelAxis` when M has several values), as integers of the output grid. */
function requantized(this: Converter, args: NodeArgs, acc: Value, m: number[], channelAxis: number, g: Grid): void {
  const base = outputOf(args);
  let steps: string;
  if (m.length === 1) steps = this.op(`${base}/steps`, 'Mul', [acc.tf, scalar.call(this, `${base}/multiplier`, m[0])], FLOAT_OP);
  else {
    // A [1, M, 1, 1]-shaped constant (or [M] for the last axis) broadcast by the elementwise Mul's lowering, in the accumulator's layout.
    const shape = acc.shape.map((_, a) => (a === channelAxis ? m.length : 1));
    this.defineConstant(`${base}/multipliers`, { shape, values: Float64Array.from(m), integer: false });
    this.lower({ opType: 'Mul', input: [`${base}/accumulator`, `${base}/multipliers`], output: [`${base}/steps`], name: `${base}/steps` });
    steps = this.value(`${base}/steps`).tf;
  }
  this.set(base, { ...acc, tf: toIntegers.call(this, base, steps, g) });
}

function quantizeLinear(this: Converter, args: NodeArgs): void {
  const x = this.value(inputOf(args, 0)!);
  const g = grid.call(this, args, 1, 2);
  const base = outputOf(args);
  const steps = this.op(`${base}/steps`, 'RealDiv', [x.tf, scalar.call(this, `${base}/scale`, g.scale)], FLOAT_OP);
  this.set(base, { ...x, tf: toIntegers.call(this, base, steps, g) });
}

function dequantizeLinear(this: Converter, args: NodeArgs): void {
  const x = inputOf(args, 0)!;
  const base = outputOf(args);
  if (this.isConstant(x)) {
    const axis = intAttr(args, 'axis', 1);
    const centredValues = this.constant(centredConstant.call(this, x, inputOf(args, 2), axis), 'constant');
    const scale = this.constant(inputOf(args, 1)!, 'scale').values;
    const k = parameterIndex(centredValues.shape, axis, scale.length, `the scale of '${x}'`);
    const values = centredValues.values.map((v, i) => Math.fround(v * scale[k(i)]));
    return this.defineConstant(base, { shape: centredValues.shape, values, integer: false });
  }
  const g = grid.call(this, args, 1, 2);
  const q = centred.call(this, base, this.value(x), g.zeroPoint);
  this.set(base, { ...q, tf: this.op(base, 'Mul', [q.tf, scalar.call(this, `${base}/scale`, g.scale)], FLOAT_OP) });
}

/** QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp (per output channel or not), y_scale, y_zp, B (int32). */
function qLinearConv(this: Converter, args: NodeArgs): void {
  const base = outputOf(args);
  const xGrid = grid.call(this, args, 1, 2);
  const x = centred.call(this, base, this.value(inputOf(args, 0)!), xGrid.zeroPoint);
  this.set(`${base}/x`, x);
  const inputs = [`${base}/x`, centredConstant.call(this, inputOf(args, 3)!, inputOf(args, 5), 0), ...(inputOf(args, 8) ? [inputOf(args, 8)!] : [])];
  const acc = lowered.call(this, base, { opType: 'Conv', input: inputs, attribute: args.node.attribute });
  const out = grid.call(this, args, 6, 7);
  requantized.call(this, args, acc, multipliers(xGrid.scale, this.constant(inputOf(args, 4)!, 'w scale').values, out.scale), 1, out);
}

/** QLinearMatMul: a, a_scale, a_zp, b (a constant [K, N]), b_scale, b_zp (per column or not), y_scale, y_zp. */
function qLinearMatMul(this: Converter, args: NodeArgs): void {
  const base = outputOf(args);
  const aGrid = grid.call(this, args, 1, 2);
  this.set(`${base}/a`, centred.call(this, base, this.value(inputOf(args, 0)!), aGrid.zeroPoint));
  const b = centredConstant.call(this, inputOf(args, 3)!, inputOf(args, 5), -1);
  const acc = lowered.call(this, base, { opType: 'MatMul', input: [`${base}/a`, b] });
  const out = grid.call(this, args, 6, 7);
  requantized.call(this, args, acc, multipliers(aGrid.scale, this.constant(inputOf(args, 4)!, 'b scale').values, out.scale), acc.shape.length - 1, out);
}

/** com.microsoft QLinearAdd: A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp; (a − a_zp)·a_scale/c_scale + (b − b_zp)·b_scale/c_scale, as MLAS. */
function qLinearAdd(this: Converter, args: NodeArgs): void {
  const base = outputOf(args);
  const out = grid.call(this, args, 6, 7);
  const [a, b] = [0, 3].map((at, k) => {
    const name = inputOf(args, at)!;
    const g = grid.call(this, args, at + 1, at + 2);
    const ratio = Math.fround(g.scale / out.scale);
    const operand = `${base}/operand${k}`;
    if (this.isConstant(name)) {
      const c = this.constant(centredConstant.call(this, name, inputOf(args, at + 2), 0), 'operand');
      this.defineConstant(operand, { ...c, values: c.values.map((v) => Math.fround(v * ratio)) });
    } else {
      const q = centred.call(this, operand, this.value(name), g.zeroPoint);
      this.set(operand, { ...q, tf: this.op(operand, 'Mul', [q.tf, scalar.call(this, `${operand}/ratio`, ratio)], FLOAT_OP) });
    }
    return operand;
  });
  const sum = lowered.call(this, base, { opType: 'Add', input: [a, b] });
  this.set(base, { ...sum, tf: toIntegers.call(this, base, sum.tf, out) });
}

/** com.microsoft QLinearGlobalAveragePool (channels first): Σ (x − x_zp) over H·W, times float32(x_scale / float32(y_scale · H·W)), as MLAS. */
function qLinearGlobalAveragePool(this: Converter, args: NodeArgs): void {
  if (intAttr(args, 'channels_last', 0) !== 0) throw new Error('only channels_last = 0 is supported');
  const base = outputOf(args);
  const xGrid = grid.call(this, args, 1, 2);
  const x = centred.call(this, base, this.value(inputOf(args, 0)!), xGrid.zeroPoint);
  if (x.shape.length !== 4) throw new Error(`the input is [${x.shape}], not a 4-D map`);
  reduceAxes.call(this, { ...args, name: `${base}/sum` }, x, [2, 3], true, 'sum', `${base}/accumulator`);
  const out = grid.call(this, args, 3, 4);
  const m = Math.fround(xGrid.scale / Math.fround(out.scale * x.shape[2] * x.shape[3]));
  requantized.call(this, args, this.value(`${base}/accumulator`), [m], 1, out);
}
