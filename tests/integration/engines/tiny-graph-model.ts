/**
 * A small TF.js graph model written by the test itself, in tensorflowjs_converter's format
 * (model.json with `format: "graph-model"`, a GraphDef as JSON, one weight shard):
 *
 *   input [−1,9,8,3] → Conv2D 3×3 SAME + BiasAdd → Relu → Conv2D 3×3 stride 2 SAME → Relu6
 *   → (+ Conv2D 1×1, AddV2 residual) → Mean over H,W → MatMul → Softmax
 *
 * 9×8 under stride 2 makes TF's 'same' padding asymmetric in width. The weights are seeded random
 * values and returned, so the test can compute the network by hand.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const GRAPH_INPUT = { height: 9, width: 8 };

export interface GraphWeights {
  conv1: Float32Array; // [3,3,3,4] HWIO
  bias1: Float32Array; // [4]
  conv2: Float32Array; // [3,3,4,6]
  res: Float32Array; // [1,1,6,6]
  fc: Float32Array; // [6,5]
}

type Node = { name: string; op: string; input?: string[]; attr?: Record<string, unknown> };

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const float = { type: 'DT_FLOAT' };
const dims = (shape: number[]): { dim: Array<{ size: string }> } => ({ dim: shape.map((d) => ({ size: String(d) })) });
const constNode = (name: string, shape: number[], dtype: 'DT_FLOAT' | 'DT_INT32' = 'DT_FLOAT'): Node => ({
  name,
  op: 'Const',
  attr: { value: { tensor: { dtype, tensorShape: dims(shape) } }, dtype: { type: dtype } },
});
const conv = (name: string, input: string, kernel: string, stride: number): Node => ({
  name,
  op: 'Conv2D',
  input: [input, kernel],
  attr: {
    T: float,
    strides: { list: { i: ['1', String(stride), String(stride), '1'] } },
    padding: { s: b64('SAME') },
    data_format: { s: b64('NHWC') },
    dilations: { list: { i: ['1', '1', '1', '1'] } },
    use_cudnn_on_gpu: { b: true },
    explicit_paddings: { list: {} },
  },
});

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/**
 * Writes model.json + group1-shard1of1.bin into `dir`; `replaceOp` swaps one node's op (for the
 * error test); `fused` writes conv1 as the converter's optimized `_FusedConv2D` (BiasAdd + Relu).
 */
export function writeTinyGraphModel(dir: string, options: { replaceOp?: [string, string]; fused?: boolean } = {}): GraphWeights {
  const random = seededRandom(7);
  const values = (n: number, scale = 1): Float32Array => Float32Array.from({ length: n }, () => random() * scale);
  const w: GraphWeights = {
    conv1: values(3 * 3 * 3 * 4),
    bias1: values(4),
    conv2: values(3 * 3 * 4 * 6, 2),
    res: values(6 * 6),
    fc: values(6 * 5),
  };
  const nodes: Node[] = [
    {
      name: 'input',
      op: 'Placeholder',
      attr: { dtype: float, shape: { shape: dims([-1, GRAPH_INPUT.height, GRAPH_INPUT.width, 3]) } },
    },
    constNode('conv1/kernel', [3, 3, 3, 4]),
    constNode('conv1/bias', [4]),
    conv('conv1/Conv2D', 'input', 'conv1/kernel', 1),
    { name: 'conv1/BiasAdd', op: 'BiasAdd', input: ['conv1/Conv2D', 'conv1/bias'], attr: { T: float, data_format: { s: b64('NHWC') } } },
    { name: 'conv1/Relu', op: 'Relu', input: ['conv1/BiasAdd'], attr: { T: float } },
    constNode('conv2/kernel', [3, 3, 4, 6]),
    conv('conv2/Conv2D', 'conv1/Relu', 'conv2/kernel', 2),
    { name: 'conv2/Relu6', op: 'Relu6', input: ['conv2/Conv2D'], attr: { T: float } },
    constNode('res/kernel', [1, 1, 6, 6]),
    conv('res/Conv2D', 'conv2/Relu6', 'res/kernel', 1),
    { name: 'res/add', op: 'AddV2', input: ['conv2/Relu6', 'res/Conv2D'], attr: { T: float } },
    constNode('pool/reduction_indices', [2], 'DT_INT32'),
    { name: 'pool/Mean', op: 'Mean', input: ['res/add', 'pool/reduction_indices'], attr: { T: float, Tidx: { type: 'DT_INT32' }, keep_dims: { b: false } } },
    constNode('fc/kernel', [6, 5]),
    { name: 'fc/MatMul', op: 'MatMul', input: ['pool/Mean', 'fc/kernel'], attr: { T: float, transpose_a: { b: false }, transpose_b: { b: false } } },
    { name: 'probs', op: 'Softmax', input: ['fc/MatMul'], attr: { T: float } },
  ];
  if (options.fused) {
    const at = nodes.findIndex((n) => n.name === 'conv1/Conv2D');
    const plain = nodes[at];
    const fused: Node = {
      name: 'conv1/Relu',
      op: '_FusedConv2D',
      input: ['input', 'conv1/kernel', 'conv1/bias'],
      attr: { ...plain.attr, num_args: { i: '1' }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, epsilon: { f: 0 } },
    };
    nodes.splice(at, 3, fused);
  }
  if (options.replaceOp) nodes.find((n) => n.name === options.replaceOp![0])!.op = options.replaceOp[1];
  const weights: Array<{ name: string; shape: number[]; dtype: string; data: ArrayBufferView }> = [
    { name: 'conv1/kernel', shape: [3, 3, 3, 4], dtype: 'float32', data: w.conv1 },
    { name: 'conv1/bias', shape: [4], dtype: 'float32', data: w.bias1 },
    { name: 'conv2/kernel', shape: [3, 3, 4, 6], dtype: 'float32', data: w.conv2 },
    { name: 'res/kernel', shape: [1, 1, 6, 6], dtype: 'float32', data: w.res },
    { name: 'pool/reduction_indices', shape: [2], dtype: 'int32', data: Int32Array.from([1, 2]) },
    { name: 'fc/kernel', shape: [6, 5], dtype: 'float32', data: w.fc },
  ];
  const modelJson = {
    format: 'graph-model',
    generatedBy: '2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: { node: nodes, library: {}, versions: { producer: 1482 } },
    weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: weights.map(({ name, shape, dtype }) => ({ name, shape, dtype })) }],
  };
  writeFileSync(join(dir, 'model.json'), JSON.stringify(modelJson));
  writeFileSync(join(dir, 'group1-shard1of1.bin'), Buffer.concat(weights.map((x) => Buffer.from(x.data.buffer, x.data.byteOffset, x.data.byteLength))));
  return w;
}

/** TF's 'SAME' convolution, NHWC input [H,W,Cin] and HWIO kernel, by hand. */
export function convSame(
  x: Float32Array,
  [h, w, cin]: [number, number, number],
  kernel: Float32Array,
  [kh, kw, cout]: [number, number, number],
  stride: number,
): { data: Float32Array; shape: [number, number, number] } {
  const oh = Math.ceil(h / stride);
  const ow = Math.ceil(w / stride);
  // TF puts the odd padding cell at the bottom / right.
  const top = Math.floor(Math.max((oh - 1) * stride + kh - h, 0) / 2);
  const left = Math.floor(Math.max((ow - 1) * stride + kw - w, 0) / 2);
  const out = new Float32Array(oh * ow * cout);
  for (let i = 0; i < oh; i++) {
    for (let j = 0; j < ow; j++) {
      for (let o = 0; o < cout; o++) {
        let sum = 0;
        for (let a = 0; a < kh; a++) {
          for (let b = 0; b < kw; b++) {
            const y = i * stride + a - top;
            const xx = j * stride + b - left;
            if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
            for (let c = 0; c < cin; c++) sum += x[(y * w + xx) * cin + c] * kernel[((a * kw + b) * cin + c) * cout + o];
          }
        }
        out[(i * ow + j) * cout + o] = sum;
      }
    }
  }
  return { data: out, shape: [oh, ow, cout] };
}

/** [H,W,C] → [C,H,W]. */
export function toChw(x: Float32Array, [h, w, c]: [number, number, number]): Float32Array {
  const out = new Float32Array(x.length);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[k * h * w + p] = x[p * c + k];
  return out;
}
