/**
 * A small TF.js layers model written by the test itself: every layer type the ONNX converter
 * supports, odd and even sizes under stride 2 (where Keras's 'same' padding is asymmetric), and
 * seeded random weights split over two shards. Keras 2 functional format, like MobileNet's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TeacherSpec } from '../../../src/main/engines/teachers';

type Config = Record<string, unknown>;
interface LayerDef {
  type: string;
  name: string;
  config: Config;
  inputs: string[];
  /** Weight name suffix → shape, in Keras's order. */
  weights?: Array<[string, number[]]>;
}

export const TINY_INPUT = { height: 23, width: 18 };

const conv = (name: string, input: string, config: Config, weights: Array<[string, number[]]>): LayerDef => ({
  type: 'Conv2D',
  name,
  inputs: [input],
  config: { padding: 'same', strides: [1, 1], dilation_rate: [1, 1], use_bias: true, activation: 'linear', data_format: 'channels_last', ...config },
  weights,
});

export const TINY_LAYERS: LayerDef[] = [
  { type: 'InputLayer', name: 'input_1', inputs: [], config: { batch_input_shape: [null, TINY_INPUT.height, TINY_INPUT.width, 3], dtype: 'float32' } },
  { type: 'ZeroPadding2D', name: 'pad', inputs: ['input_1'], config: { padding: [[1, 2], [0, 1]] } }, // → 26×19
  conv('conv_a', 'pad', { filters: 6, kernel_size: [3, 3], strides: [2, 2], activation: 'relu' }, [['kernel', [3, 3, 3, 6]], ['bias', [6]]]), // → 13×10
  {
    type: 'DepthwiseConv2D',
    name: 'dw',
    inputs: ['conv_a'],
    config: { kernel_size: [3, 3], strides: [2, 2], padding: 'same', depth_multiplier: 2, use_bias: true, activation: 'linear' },
    weights: [['depthwise_kernel', [3, 3, 6, 2]], ['bias', [12]]],
  }, // → 7×5×12
  {
    type: 'BatchNormalization',
    name: 'bn',
    inputs: ['dw'],
    config: { axis: -1, epsilon: 0.001, center: true, scale: false },
    weights: [['beta', [12]], ['moving_mean', [12]], ['moving_variance', [12]]],
  },
  { type: 'ReLU', name: 'relu6', inputs: ['bn'], config: { max_value: 6 } },
  conv('conv_b', 'relu6', { filters: 12, kernel_size: [1, 1], use_bias: false, activation: 'swish' }, [['kernel', [1, 1, 12, 12]]]),
  { type: 'Add', name: 'sum', inputs: ['relu6', 'conv_b'], config: {} },
  conv('conv_c', 'sum', { filters: 4, kernel_size: [3, 2], padding: 'valid', dilation_rate: [2, 1], activation: 'tanh' }, [['kernel', [3, 2, 12, 4]], ['bias', [4]]]), // → 3×4
  { type: 'Activation', name: 'act_sig', inputs: ['sum'], config: { activation: 'sigmoid' } },
  { type: 'Concatenate', name: 'cat', inputs: ['sum', 'act_sig'], config: { axis: -1 } }, // → 7×5×24
  { type: 'MaxPooling2D', name: 'maxp', inputs: ['cat'], config: { pool_size: [3, 3], strides: [2, 2], padding: 'same' } }, // → 4×3
  { type: 'AveragePooling2D', name: 'avgp', inputs: ['cat'], config: { pool_size: [3, 3], strides: [2, 2], padding: 'same' } },
  { type: 'AveragePooling2D', name: 'avgv', inputs: ['cat'], config: { pool_size: [2, 2], strides: null, padding: 'valid' } }, // → 3×2
  { type: 'GlobalAveragePooling2D', name: 'gap', inputs: ['maxp'], config: {} },
  { type: 'GlobalMaxPooling2D', name: 'gmp', inputs: ['avgp'], config: {} },
  { type: 'Flatten', name: 'flat', inputs: ['avgv'], config: {} }, // → 144
  { type: 'Concatenate', name: 'merged', inputs: ['gap', 'gmp', 'flat'], config: { axis: -1 } }, // → 192
  { type: 'Dropout', name: 'drop', inputs: ['merged'], config: { rate: 0.5 } },
  { type: 'Dense', name: 'dense_nb', inputs: ['drop'], config: { units: 16, use_bias: false, activation: 'linear' }, weights: [['kernel', [192, 16]]] },
  { type: 'Dense', name: 'dense', inputs: ['dense_nb'], config: { units: 8, activation: 'relu' }, weights: [['kernel', [16, 8]], ['bias', [8]]] },
  { type: 'Reshape', name: 'reshape', inputs: ['dense'], config: { target_shape: [2, 1, 4] } },
  conv('conv_d', 'reshape', { filters: 3, kernel_size: [1, 1] }, [['kernel', [1, 1, 4, 3]], ['bias', [3]]]),
  { type: 'Reshape', name: 'reshape_out', inputs: ['conv_d'], config: { target_shape: [6] } },
  { type: 'Softmax', name: 'probs', inputs: ['reshape_out'], config: { axis: -1 } },
];

/** Every layer except the input, in order: the converter and TF.js must agree on all of them. */
export const TINY_FEATURES = TINY_LAYERS.slice(1).map((l) => l.name);

export function tinyTeacher(dir: string): TeacherSpec {
  return {
    name: 'tiny',
    format: 'tfjs-layers',
    modelPath: join(dir, 'model.json'),
    preprocess: {
      ...TINY_INPUT,
      resize: 'stretch',
      normalization: { kind: 'scale', scale: 1 / 127.5, offset: -1 },
      channelOrder: 'RGB',
      layout: 'NHWC',
    },
    featureLayers: TINY_FEATURES,
    penultimate: 'merged',
    classifier: { output: 'probs', labels: ['a', 'b', 'c', 'd', 'e', 'f'], scores: 'probabilities' },
  };
}

/** Writes model.json and two shards; `layers` lets a test break the topology. */
export function writeTinyModel(dir: string, layers: LayerDef[] = TINY_LAYERS): void {
  const random = seeded(7);
  const specs = layers.flatMap((l) =>
    (l.weights ?? []).map(([param, shape]) => ({ name: `${l.name}/${param}`, shape, dtype: 'float32' })),
  );
  const values = specs.flatMap((s) => {
    const count = s.shape.reduce((a, b) => a * b, 1);
    // Variances must be positive; everything else spans [−1, 1).
    return Array.from({ length: count }, () => (s.name.endsWith('variance') ? 0.5 + random() : 2 * random() - 1));
  });
  const bytes = Buffer.from(new Float32Array(values).buffer);
  const half = Math.floor(bytes.length / 2); // shards split mid-weight, as TF.js may
  writeFileSync(join(dir, 'group1-shard1of2'), bytes.subarray(0, half));
  writeFileSync(join(dir, 'group1-shard2of2'), bytes.subarray(half));
  const topology = {
    keras_version: '2.1.4',
    backend: 'tensorflow',
    model_config: {
      class_name: 'Model',
      config: {
        name: 'tiny',
        layers: layers.map((l) => ({
          class_name: l.type,
          name: l.name,
          config: { name: l.name, trainable: true, ...l.config },
          inbound_nodes: l.inputs.length === 0 ? [] : [l.inputs.map((i) => [i, 0, 0, {}])],
        })),
        input_layers: [['input_1', 0, 0]],
        output_layers: [['probs', 0, 0], ['conv_c', 0, 0]],
      },
    },
  };
  const weightsManifest = [{ paths: ['group1-shard1of2', 'group1-shard2of2'], weights: specs }];
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ modelTopology: topology, weightsManifest }));
}

/** mulberry32: a tiny seeded generator, so failures reproduce. */
export function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
