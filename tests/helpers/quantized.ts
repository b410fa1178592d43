/**
 * The exact-integer reference for quantized graphs: the model with its int8 weights stored as uint8
 * (src/main/engines/exact-integers.ts), which ONNX Runtime runs through kernels that do not saturate.
 * Bytes in, bytes out, for tests that hold a model's bytes.
 */
import onnxProto from 'onnx-proto';
import { withExactIntegerKernels } from '../../src/main/engines/exact-integers';

const { onnx } = onnxProto;

export function withUint8Weights(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  withExactIntegerKernels(model);
  return onnx.ModelProto.encode(model).finish();
}
