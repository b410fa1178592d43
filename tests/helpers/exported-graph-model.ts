/** Loads an exported TF.js graph model from its folder (model.json and its shard), as predict.mjs does; the caller sets the backend. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';

export function loadExportedGraphModel(folder: string): Promise<GraphModel> {
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
  const weights = readFileSync(join(folder, json.weightsManifest[0].paths[0]));
  return loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      format: json.format,
      signature: json.signature,
    }),
  });
}
