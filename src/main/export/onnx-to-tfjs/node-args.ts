/** An ONNX node as the op lowerings read it: its inputs, outputs and attributes. */
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;

export interface NodeArgs {
  node: Onnx.INodeProto;
  /** ONNX attributes by name. */
  attrs: Map<string, Onnx.IAttributeProto>;
  name: string;
}

export function nodeArgs(node: Onnx.INodeProto): NodeArgs {
  const name = node.name || node.output?.[0] || (node.opType ?? 'node');
  return { node, attrs: new Map((node.attribute ?? []).map((a) => [a.name ?? '', a])), name };
}

export function intAttr(args: NodeArgs, name: string, fallback: number): number {
  const a = args.attrs.get(name);
  return a?.i != null ? Number(a.i) : fallback;
}
export function intsAttr(args: NodeArgs, name: string): number[] | undefined {
  const a = args.attrs.get(name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}
export function floatAttr(args: NodeArgs, name: string, fallback: number): number {
  const a = args.attrs.get(name);
  return a?.f != null && a.type === onnx.AttributeProto.AttributeType.FLOAT ? a.f : fallback;
}
export function stringAttr(args: NodeArgs, name: string, fallback: string): string {
  const s = args.attrs.get(name)?.s;
  return s && s.length > 0 ? Buffer.from(s).toString('utf8') : fallback;
}
export const inputOf = (args: NodeArgs, i: number): string | undefined => args.node.input?.[i] || undefined;
export const outputOf = (args: NodeArgs): string => args.node.output?.[0] ?? '';
