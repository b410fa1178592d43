import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { foldBatchShapes } from '../../src/main/export/onnx-to-tfjs/batch-shapes';

const { onnx } = onnxProto;
const INT64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;

const int64 = (name: string, values: number[], dims = [values.length]): Onnx.ITensorProto => ({ name, dims, dataType: INT64, int64Data: values });

/** PyTorch's `x.view(x.size(0), -1)`: Reshape(x, Concat(Unsqueeze(Gather(Shape(y), index)), [-1])). */
function viewGraph(index: number): Onnx.IGraphProto {
  return {
    node: [
      { opType: 'Shape', input: ['y'], output: ['s'] },
      { opType: 'Gather', input: ['s', 'index'], output: ['n'], attribute: [{ name: 'axis', type: A.INT, i: 0 }] },
      { opType: 'Unsqueeze', input: ['n'], output: ['n1'], attribute: [{ name: 'axes', type: A.INTS, ints: [0] }] },
      { opType: 'Concat', input: ['n1', 'rest'], output: ['shape'], attribute: [{ name: 'axis', type: A.INT, i: 0 }] },
      { opType: 'Reshape', input: ['x', 'shape'], output: ['flat'] },
    ],
    initializer: [int64('index', [index], []), int64('rest', [-1])],
    output: [{ name: 'flat' }],
  };
}

describe('foldBatchShapes', () => {
  it('makes the batch-first view a constant shape [0, -1] and drops the nodes that computed it', () => {
    const folded = foldBatchShapes(viewGraph(0));
    expect(folded.node?.map((n) => n.opType)).toEqual(['Reshape']);
    const shape = folded.node![0].input![1];
    const constant = folded.initializer?.find((t) => t.name === shape);
    expect(constant?.int64Data?.map(Number)).toEqual([0, -1]);
    expect(constant?.dims).toEqual([2]);
  });

  it('leaves any other shape computation as it is (here, a gather of dim 1)', () => {
    const graph = viewGraph(1);
    expect(foldBatchShapes(graph)).toBe(graph);
  });
});
