// Turns an image file into the model's input exactly as ATL Studio does (see preprocessing.json):
// decode, rotate per EXIF, flatten transparency onto white, sRGB, resize, normalize per channel.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';

export async function preprocess(path, spec) {
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

/** The input tensor's shape for one image. */
export function inputShape(spec) {
  return spec.layout === 'NHWC' ? [1, spec.height, spec.width, 3] : [1, 3, spec.height, spec.width];
}

/** Index of the largest value. */
export function argmax(values) {
  let best = 0;
  for (let c = 1; c < values.length; c++) if (values[c] > values[best]) best = c;
  return best;
}
