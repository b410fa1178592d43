#!/usr/bin/env node
// Classifies images with the exported ATL Studio model (ONNX), offline:
//   npm install            (onnxruntime-node, and sharp to decode, from package.json)
//   node predict.mjs <image>...
// prints a JSON array of { "path", "class", "confidence" } (or { "path", "error" } for an image
// that cannot be read). The model takes the decoded pixels and resizes them itself.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { argmax, decode } from './decode.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(await readFile(join(here, 'preprocessing.json'), 'utf8'));
const { classes } = JSON.parse(await readFile(join(here, 'labels.json'), 'utf8'));

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error('usage: node predict.mjs <image>...');
  process.exit(2);
}
const session = await ort.InferenceSession.create(join(here, 'model.onnx'));
const results = [];
for (const path of paths) {
  try {
    const { data, width, height } = await decode(path);
    const output = await session.run({ [spec.input]: new ort.Tensor('uint8', data, [height, width, 3]) });
    const probabilities = output[spec.output].data;
    const best = argmax(probabilities);
    results.push({ path, class: classes[best].name, confidence: probabilities[best] });
  } catch (error) {
    results.push({ path, error: error.message.split('\n')[0] });
  }
}
console.log(JSON.stringify(results, null, 2));
