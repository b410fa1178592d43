import { describe, expect, it } from 'vitest';
import type { onnx as Onnx } from 'onnx-proto';
import { prune } from '../../src/main/engines/onnx-graph';

const node = (name: string, input: string[], attribute: Onnx.IAttributeProto[] = []): Onnx.INodeProto => ({ name, opType: 'Op', input, output: [name], attribute });
const names = (items: { name?: string | null }[] | null | undefined) => (items ?? []).map((i) => i.name);

describe('prune', () => {
  it('keeps what the outputs need and drops a dead branch with its weights and inputs', () => {
    // x → a → b (output); a → head (dead, reads weight w_head); y (an input nothing needs)
    const graph: Onnx.IGraphProto = {
      input: [{ name: 'x' }, { name: 'y' }],
      initializer: [{ name: 'w_a' }, { name: 'w_head' }],
      node: [node('a', ['x', 'w_a']), node('head', ['a', 'w_head']), node('b', ['a'])],
      output: [{ name: 'b' }],
      valueInfo: [{ name: 'a' }, { name: 'head' }],
    };
    prune(graph);
    expect(names(graph.node)).toEqual(['a', 'b']);
    expect(names(graph.initializer)).toEqual(['w_a']);
    expect(names(graph.input)).toEqual(['x']);
    expect(names(graph.valueInfo)).toEqual(['a']);
  });

  it("keeps what a kept node's subgraph reads from the outer graph, however deep", () => {
    const inner: Onnx.IGraphProto = { node: [node('inner', ['outer_value'])], output: [{ name: 'inner' }] };
    const middle: Onnx.IGraphProto = { node: [node('middle', ['c'], [{ name: 'body', g: inner }])], output: [{ name: 'middle' }] };
    const graph: Onnx.IGraphProto = {
      input: [{ name: 'x' }],
      node: [node('outer_value', ['x']), node('c', ['x']), node('loop', ['x'], [{ name: 'branches', graphs: [middle] }])],
      output: [{ name: 'loop' }],
    };
    prune(graph);
    expect(names(graph.node)).toEqual(['outer_value', 'c', 'loop']);
  });
});
