/**
 * The exact-integer reference for quantized graphs. ONNX Runtime's CPU kernels for uint8 activations
 * × int8 weights (u8s8) on AVX2 CPUs without VNNI add pairs of products in int16 with saturation
 * (ONNX Runtime's quantization docs: "U8S8 … might suffer from saturation issues"), so on such a CPU
 * they do not compute the graph's integers. The same model with its int8 weights stored as uint8
 * (w + 128, zero point + 128: the same integers w − zp) runs through the u8u8 kernels, which do not
 * saturate: the exact integer arithmetic, on any CPU.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export function withUint8Weights(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const initializers = new Map((model.graph?.initializer ?? []).map((t) => [t.name ?? '', t]));
  const weighted = (model.graph?.node ?? []).filter((n) => n.opType === 'QLinearConv' || n.opType === 'QLinearMatMul');
  // A weight and its zero point: inputs 3 and 5 of both ops.
  for (const name of new Set(weighted.flatMap((n) => [n.input?.[3] ?? '', n.input?.[5] ?? '']))) {
    const t = initializers.get(name);
    if (t?.dataType !== onnx.TensorProto.DataType.INT8) continue;
    const values = t.rawData && t.rawData.length > 0 ? new Int8Array(new Uint8Array(t.rawData).slice().buffer) : Int8Array.from(t.int32Data ?? []);
    t.dataType = onnx.TensorProto.DataType.UINT8;
    t.rawData = Uint8Array.from(values, (v) => v + 128);
    t.int32Data = [];
  }
  return onnx.ModelProto.encode(model).finish();
}
