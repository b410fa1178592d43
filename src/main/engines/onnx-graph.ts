/**
 * Writing ONNX graphs with onnx-proto: attributes, and a builder that collects nodes and
 * initializers. Used by the TF.js → ONNX converter and by the classifier export.
 */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { StudioError } from '../core/errors';

const { onnx } = onnxProto;
export const OPSET = 13;
export const IR_VERSION = 7;
export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;

export function int(name: string, i: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
export function ints(name: string, values: number[]): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}
export function float(name: string, f: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

/** A float tensor's value info with a symbolic batch dimension N. */
export function batchValueInfo(name: string, shape: readonly number[]): Onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'N' }, ...shape.map((d) => ({ dimValue: d }))] } } } };
}

/** Collects nodes and initializers, then writes the ModelProto. */
export class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];

  node(opType: string, input: string[], output: string, attribute: Onnx.IAttributeProto[] = []): string {
    this.nodes.push({ opType, input, output: [output], name: output, attribute });
    return output;
  }

  initializer(name: string, dims: number[], values: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new StudioError('bad_file', `weight ${name}: expected ${expected} values for [${dims.join(',')}], got ${values.length}`);
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: bytesOf(values) });
    return name;
  }

  int64(name: string, values: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: bytesOf(data) });
    return name;
  }

  graph(input: { name: string; shape: number[] }, outputs: Array<{ name: string; shape: number[] }>): Uint8Array {
    const model: Onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'atl-studio tfjs-to-onnx',
      graph: {
        name: 'converted',
        node: this.nodes,
        initializer: this.initializers,
        input: [batchValueInfo(input.name, input.shape)],
        output: outputs.map((o) => batchValueInfo(o.name, o.shape)),
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

/** Little-endian bytes of a typed array (ONNX raw_data); every platform Node runs on is LE. */
export function bytesOf(values: Float32Array | BigInt64Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}
