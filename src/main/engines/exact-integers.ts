/**
 * Quantized teachers computed with their exact integers on every CPU. ONNX Runtime's kernels for
 * uint8 activations × int8 weights (u8s8) on x86 CPUs with AVX2 but no VNNI add pairs of products
 * in int16 with saturation (ONNX Runtime's quantization docs: "U8S8 … might suffer from saturation
 * issues"), so there they do not compute the graph's integers: on the ONNX zoo's int8 MobileNetV2
 * the logits moved by 0.38 relative and 5-shot accuracy on cifar10-mini fell by about 2 points.
 * The same integers with the weights stored as uint8 (w + 128, zero point + 128) run through its
 * u8u8 kernels, which do not saturate; the studio's other engines (WebGPU, TF.js: the converter's
 * ops-quantized.ts) compute the exact integers too, so every engine gives the same features.
 */
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import type { TeacherSpec } from './teachers';

const { onnx } = onnxProto;

/** Rewrites, in place, the int8 weights of `model`'s QLinearConv and QLinearMatMul nodes as uint8; returns whether there were any. */
export function withExactIntegerKernels(model: Onnx.IModelProto): boolean {
  const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const weighted = (model.graph?.node ?? []).filter((n) => !n.domain && (n.opType === 'QLinearConv' || n.opType === 'QLinearMatMul'));
  let changed = false;
  // A weight and its zero point: inputs 3 and 5 of both ops.
  for (const name of new Set(weighted.flatMap((n) => [n.input?.[3] ?? '', n.input?.[5] ?? '']))) {
    const t = initializers.get(name);
    if (t?.dataType !== onnx.TensorProto.DataType.INT8) continue;
    const values = t.rawData && t.rawData.length > 0 ? new Int8Array(new Uint8Array(t.rawData).slice().buffer) : Int8Array.from(t.int32Data ?? []);
    t.dataType = onnx.TensorProto.DataType.UINT8;
    t.rawData = Uint8Array.from(values, (v) => v + 128);
    t.int32Data = [];
    changed = true;
  }
  return changed;
}

/**
 * Whether an ONNX teacher's file has QLinearConv or QLinearMatMul nodes, whose int8 kernels this
 * module replaces, read from its bytes without decoding it (op types are stored as plain strings):
 * its cached features are keyed apart from those ONNX Runtime's saturating kernels computed before
 * (`teacherKey`). A false match (the words inside a tensor's bytes) only keys a cache anew.
 */
export async function hasQuantizedKernels(spec: TeacherSpec): Promise<boolean> {
  if (spec.format !== 'onnx') return false;
  const bytes = await readFile(spec.modelPath);
  return bytes.includes('QLinearConv') || bytes.includes('QLinearMatMul');
}
