#!/usr/bin/env node
// Classifies images with the exported ATL Studio model, offline:
//   npm install            (onnxruntime-node and sharp, from package.json)
//   node predict.mjs <image>...
// prints a JSON array of { "path", "class", "confidence" } (or { "path", "error" } for an image
// that cannot be read). Preprocessing follows preprocessing.json exactly as the studio does it.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

const here = dirname(fileURLToPath(import.meta.url));
const spec = JSON.parse(await readFile(join(here, 'preprocessing.json'), 'utf8'));
const { classes } = JSON.parse(await readFile(join(here, 'labels.json'), 'utf8'));

/** Decode, rotate per EXIF, flatten transparency onto white, sRGB, resize, then normalize per channel. */
async function preprocess(path) {
  const { data } = await sharp(await readFile(path), { failOn: 'truncated' })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .resize(spec.width, spec.height, { fit: spec.resize === 'stretch' ? 'fill' : 'cover', position: 'centre' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const n = spec.normalization;
  const scale = n.kind === 'scale' ? [n.scale, n.scale, n.scale] : n.std.map((s) => 1 / (255 * s));
  const offset = n.kind === 'scale' ? [n.offset, n.offset, n.offset] : n.mean.map((m, c) => -m / n.std[c]);
  const pixels = spec.width * spec.height;
  const out = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) out[spec.layout === 'NHWC' ? p * 3 + c : c * pixels + p] = data[p * 3 + c] * scale[c] + offset[c];
  }
  return out;
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error('usage: node predict.mjs <image>...');
  process.exit(2);
}
const session = await ort.InferenceSession.create(join(here, 'model.onnx'));
const shape = spec.layout === 'NHWC' ? [1, spec.height, spec.width, 3] : [1, 3, spec.height, spec.width];
const results = [];
for (const path of paths) {
  try {
    const input = new ort.Tensor('float32', await preprocess(path), shape);
    const output = await session.run({ [session.inputNames[0]]: input });
    const probabilities = output[session.outputNames[0]].data;
    let best = 0;
    for (let c = 1; c < probabilities.length; c++) if (probabilities[c] > probabilities[best]) best = c;
    results.push({ path, class: classes[best].name, confidence: probabilities[best] });
  } catch (error) {
    results.push({ path, error: error.message.split('\n')[0] });
  }
}
console.log(JSON.stringify(results, null, 2));
