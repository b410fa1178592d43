#!/usr/bin/env node
// Classifies images with the exported ATL Studio model (TF.js graph model), offline:
//   npm install            (TF.js core, converter, WebAssembly backend, and sharp to decode, from package.json)
//   node predict.mjs <image>...
// prints a JSON array of { "path", "class", "confidence" } (or { "path", "error" }). The model takes
// the decoded pixels and resizes them itself; in a browser, see predict-browser.html.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { argmax, decode } from './decode.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(await readFile(join(here, 'preprocessing.json'), 'utf8'));
const { classes } = JSON.parse(await readFile(join(here, 'labels.json'), 'utf8'));

/** Reads model.json and its weight files from this folder (TF.js's own loaders fetch URLs). */
async function loadFromFolder() {
  const json = JSON.parse(await readFile(join(here, 'model.json'), 'utf8'));
  const paths = json.weightsManifest.flatMap((group) => group.paths);
  const shards = await Promise.all(paths.map((p) => readFile(join(here, p))));
  const weights = Buffer.concat(shards);
  return loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      format: json.format,
      signature: json.signature,
      userDefinedMetadata: json.userDefinedMetadata,
    }),
  });
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error('usage: node predict.mjs <image>...');
  process.exit(2);
}
await tf.setBackend('wasm');
const model = await loadFromFolder();
const results = [];
for (const path of paths) {
  try {
    const { data, width, height } = await decode(path);
    // TF.js has no uint8 tensors: the pixels go in as int32 (the graph casts them to float).
    const pixels = tf.tensor3d(Int32Array.from(data), [height, width, 3], 'int32');
    const output = model.execute({ [spec.input]: pixels }, spec.output);
    const probabilities = await output.data();
    tf.dispose([pixels, output]);
    const best = argmax(probabilities);
    results.push({ path, class: classes[best].name, confidence: probabilities[best] });
  } catch (error) {
    results.push({ path, error: error.message.split('\n')[0] });
  }
}
console.log(JSON.stringify(results, null, 2));
