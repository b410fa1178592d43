/**
 * A converted TF.js graph model as files: model.json (`format: "graph-model"`, the GraphDef as
 * JSON, the weights manifest and the ONNX-named signature) and its one weight shard.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tensorShape, type GraphDefBuilder, type WeightEntry } from './graph-def';

const SHARD = 'group1-shard1of1.bin';

export interface TensorMapping {
  /** The ONNX tensor name. */
  onnx: string;
  /** The TF.js node carrying it (feed / fetch this name, or the ONNX name through the signature). */
  node: string;
  /** ONNX shape, −1 for the batch (and a pixels input's height and width). */
  shape: number[];
  /** float32 unless said (a pixels input is int32: TF.js has no uint8). */
  dtype?: 'float32' | 'int32';
}

export interface ConvertedGraphModel {
  /** model.json's content. */
  modelJson: Record<string, unknown>;
  /** The one weight shard (`group1-shard1of1.bin`). */
  weights: Uint8Array;
  /** One per image input (a head on several teachers has one per teacher). */
  inputs: TensorMapping[];
  outputs: TensorMapping[];
}

/** model.json and its shard for the graph `g` built, whose ONNX inputs and outputs are mapped to TF nodes. */
export function graphModel(
  g: GraphDefBuilder,
  source: { producer: string; opset: number },
  inputs: TensorMapping[],
  outputs: TensorMapping[],
): ConvertedGraphModel {
  const { entries, bytes } = g.weightData();
  const info = (t: TensorMapping): Record<string, unknown> => ({
    name: `${t.node}:0`,
    dtype: t.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT',
    tensorShape: tensorShape(t.shape),
  });
  const modelJson = {
    format: 'graph-model',
    generatedBy: `ONNX (${source.producer}, opset ${source.opset})`,
    convertedBy: 'atl-studio onnx-to-tfjs',
    modelTopology: { node: g.nodes, library: {}, versions: { producer: 1 } },
    weightsManifest: [{ paths: [SHARD], weights: entries satisfies WeightEntry[] }],
    // TF.js maps signature keys to nodes in execute(), so callers may use the ONNX names.
    signature: {
      inputs: Object.fromEntries(inputs.map((i) => [i.onnx, info(i)])),
      outputs: Object.fromEntries(outputs.map((o) => [o.onnx, info(o)])),
    },
    userDefinedMetadata: {
      onnx: {
        layout: 'Inputs and outputs keep their ONNX layout and shape (NCHW maps stay NCHW).',
        inputs,
        outputs,
      },
    },
  };
  return { modelJson, weights: bytes, inputs, outputs };
}

/** Writes model.json and group1-shard1of1.bin into `dir` (created if missing). */
export async function writeTfjsGraphModel(dir: string, converted: ConvertedGraphModel): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, SHARD), converted.weights);
  await writeFile(join(dir, 'model.json'), JSON.stringify(converted.modelJson));
}
