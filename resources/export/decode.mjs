// Decodes an image file to the exported model's input exactly as ATL Studio does (see
// preprocessing.json): EXIF rotation applied, transparency flattened onto white, sRGB, 8-bit RGB at
// the image's own size. No resizing: the model resizes and normalizes inside its graph.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';

/** { data: Uint8Array (height × width × 3, row-major), width, height } */
export async function decode(path) {
  const { data, info } = await sharp(await readFile(path), { failOn: 'truncated' })
    .rotate()
    .flatten({ background: '#ffffff' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

/** Index of the largest value. */
export function argmax(values) {
  let best = 0;
  for (let c = 1; c < values.length; c++) if (values[c] > values[best]) best = c;
  return best;
}
