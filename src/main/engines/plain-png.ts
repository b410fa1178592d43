/**
 * A fast path for decoding the small PNGs that image sets are often made of (scanned characters,
 * crops, icons): sharp spends 1.3–2 ms of CPU on every call whatever the image's size (libvips
 * setting up its pipeline, its JavaScript wrapper), where decoding a 105×105 1-bit character in
 * JavaScript (fast-png) takes 0.3 ms. It takes only the "plain" PNGs, whose pixels it gives exactly
 * as sharp gives them (`decodeImage`: tests/unit/plain-png.test.ts compares them byte for byte):
 * gray, RGB or palette, 8 bits or fewer, not interlaced, without transparency and without any
 * chunk that could change the pixels (a colour profile, gamma, EXIF orientation…: only the chunks
 * in `NEUTRAL_CHUNKS`), of at most `PLAIN_PNG_MAX_BYTES` and `PLAIN_PNG_MAX_PIXELS`. Anything else,
 * and any file it cannot decode, goes to sharp, so a user sees sharp's errors.
 */
import { decode } from 'fast-png';

/** Chunks that leave the pixels as they are: the image's own, text, time and physical size. */
const NEUTRAL_CHUNKS = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND', 'tEXt', 'zTXt', 'iTXt', 'tIME', 'pHYs']);
const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const GRAY = 0;
const RGB = 2;
const PALETTE = 3;

/**
 * The fast path's cost grows with the file (fflate inflates in JavaScript: ~0.04 ms a KB of
 * photo), sharp's hardly does past its ~1.5 ms a call. Measured (CPU time, this 2-core host):
 * 0.25–0.8 ms against 1.5–2 for photo PNGs up to 18 KB; even at 29 KB; 8 ms against 3.3 at 163 KB.
 * A 1-bit 512×512 scan takes 7.6 KB (0.8 ms against 4.9).
 */
export const PLAIN_PNG_MAX_BYTES = 16 * 1024;
/** So that a small file cannot unpack into a huge image (a 16 KB deflate stream can hold megabytes). */
export const PLAIN_PNG_MAX_PIXELS = 512 * 512;

/** RGB bytes (height × width × 3) of a plain PNG; undefined for any other file, which sharp decodes. */
export function decodePlainPng(bytes: Uint8Array): { data: Uint8Array; width: number; height: number } | undefined {
  const header = plainHeader(bytes);
  if (!header) return undefined;
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes, { checkCrc: true });
  } catch {
    return undefined;
  }
  const { width, height, depth } = png;
  if (width !== header.width || height !== header.height || depth !== header.depth) return undefined;
  const rowBytes = Math.ceil((width * depth * png.channels) / 8);
  if (!(png.data instanceof Uint8Array) || png.data.length !== rowBytes * height) return undefined;
  if (header.colorType === RGB) return { data: png.data, width, height };
  // Gray and palette: each sample's RGB, from the palette, or the gray level scaled to 0…255
  // (× 255 / (2^d − 1): 255, 85, 17, 1 for d = 1, 2, 4, 8) in all three channels.
  const palette = header.colorType === PALETTE ? png.palette : Array.from({ length: 2 ** depth }, (_, v) => [0, 1, 2].map(() => (v * 255) / (2 ** depth - 1)));
  if (!palette) return undefined;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0, at = y * width * 3; x < width; x++, at += 3) {
      const color = palette[sample(png.data, y * rowBytes, x, depth)];
      if (!color) return undefined;
      rgb[at] = color[0];
      rgb[at + 1] = color[1];
      rgb[at + 2] = color[2];
    }
  }
  return { data: rgb, width, height };
}

/** Sample x of a row starting at `row`, packed `depth` bits a sample, most significant bits first. */
function sample(data: Uint8Array, row: number, x: number, depth: number): number {
  if (depth === 8) return data[row + x];
  const bit = x * depth;
  return (data[row + (bit >> 3)] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}

/** The header of a PNG the fast path takes, read from its chunks (without inflating anything); undefined otherwise. */
function plainHeader(bytes: Uint8Array): { width: number; height: number; depth: number; colorType: number } | undefined {
  if (bytes.length < 33 || bytes.length > PLAIN_PNG_MAX_BYTES || SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') return undefined;
  for (let at = 8; at + 8 <= bytes.length; ) {
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (!NEUTRAL_CHUNKS.has(type)) return undefined;
    if (type === 'IEND') {
      const width = view.getUint32(16);
      const height = view.getUint32(20);
      const [depth, colorType, interlaced] = [bytes[24], bytes[25], bytes[28] !== 0];
      // Not interlaced: rare in image sets, and fast-png's Adam7 fails on samples of under 8 bits.
      const plain = !interlaced && ((colorType === RGB && depth === 8) || ((colorType === GRAY || colorType === PALETTE) && depth <= 8));
      return plain && width > 0 && height > 0 && width * height <= PLAIN_PNG_MAX_PIXELS ? { width, height, depth, colorType } : undefined;
    }
    at += 12 + view.getUint32(at);
  }
  return undefined;
}
