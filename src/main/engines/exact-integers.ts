/**
 * Quantized teachers computed with their exact integers on every CPU. ONNX Runtime's kernels for
 * uint8 activations × int8 weights (u8s8) on x86 CPUs with AVX2 but no VNNI add pairs of products
 * in int16 with saturation (ONNX Runtime's quantization docs: "U8S8 … might suffer from saturation
 * issues"), so there they do not compute the graph's integers: on the ONNX zoo's int8 MobileNetV2
 * the logits moved by 0.38 relative and 5-shot accuracy on cifar10-mini fell from 62.7 % to 58.2 %.
 * The same integers with the weights stored as uint8 (w + 128, zero point + 128) run through its
 * u8u8 kernels, which do not saturate; the studio's other engines (WebGPU, TF.js: the converter's
 * ops-quantized.ts) compute the exact integers too, so every engine gives the same features.
 */
import { createReadStream } from 'node:fs';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { initializerValues } from './onnx-graph';
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
    t.rawData = Uint8Array.from(initializerValues(t)!, (v) => v + 128);
    t.dataType = onnx.TensorProto.DataType.UINT8;
    t.int32Data = [];
    changed = true;
  }
  return changed;
}

/** The op types whose int8 kernels `withExactIntegerKernels` replaces, as their bytes in a model file. */
const QUANTIZED_OPS = ['QLinearConv', 'QLinearMatMul'].map((op) => Buffer.from(op));

/**
 * Whether an ONNX teacher's file has QLinearConv or QLinearMatMul nodes, read from its bytes
 * without decoding it (op types are stored as plain strings), a chunk at a time so that a large
 * model is not held in memory a second time: its cached features are keyed apart from those ONNX
 * Runtime's saturating kernels computed before (`teacherKey`). A false match (the words inside a
 * tensor's bytes) only keys a cache anew.
 */
export async function hasQuantizedKernels(spec: TeacherSpec): Promise<boolean> {
  if (spec.format !== 'onnx') return false;
  const overlap = Math.max(...QUANTIZED_OPS.map((op) => op.length)) - 1;
  let tail = Buffer.alloc(0);
  for await (const chunk of createReadStream(spec.modelPath) as AsyncIterable<Buffer>) {
    // The end of the previous chunk in front, so that a word split across chunks is found.
    const window = Buffer.concat([tail, chunk]);
    if (QUANTIZED_OPS.some((op) => window.includes(op))) return true;
    tail = window.subarray(Math.max(0, window.length - overlap));
  }
  return false;
}
