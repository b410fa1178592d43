/**
 * Turning image bytes into a teacher's input tensor. Each teacher declares its `PreprocessSpec`
 * (the preprocessing it was trained with); a mismatch here costs accuracy silently, so the spec is
 * explicit data rather than code spread over the engines.
 */
import sharp, { type OutputInfo } from 'sharp';
import { StudioError, errorMessage } from '../core/errors';
import { PIXEL_LIMIT } from '../services/image-decoding';
import { decodePlainJpeg } from './plain-jpeg';
import { decodePlainPng } from './plain-png';

/** 'stretch' resizes to the input size ignoring aspect; 'center-crop' fills it and crops the overflow. */
export type ResizeMode = 'stretch' | 'center-crop';

export type Normalization =
  /** value = byte * scale + offset; MobileNet's x / 127.5 − 1 is { scale: 1/127.5, offset: −1 }. */
  | { kind: 'scale'; scale: number; offset: number }
  /** value = (byte / 255 − mean[c]) / std[c], the torchvision convention. */
  | { kind: 'mean-std'; mean: readonly [number, number, number]; std: readonly [number, number, number] };

export interface PreprocessSpec {
  width: number;
  height: number;
  resize: ResizeMode;
  normalization: Normalization;
  /** Only RGB so far; a BGR teacher would add 'BGR' here and a swap in `normalizePixels`. */
  channelOrder: 'RGB';
  /** Layout of one image in the batch: NHWC (TF/Keras) or NCHW (PyTorch/ONNX). */
  layout: 'NHWC' | 'NCHW';
}

/** Length of one preprocessed image in a batch. */
export function imageLength(spec: PreprocessSpec): number {
  return spec.width * spec.height * 3;
}

/** The 4-D shape of a batch of `batchSize` preprocessed images, in the spec's layout. */
export function batchShape(batchSize: number, spec: PreprocessSpec): [number, number, number, number] {
  return spec.layout === 'NHWC' ? [batchSize, spec.height, spec.width, 3] : [batchSize, 3, spec.height, spec.width];
}

/**
 * Version of the preprocessing's definition (decode, crop, resize, normalize), hashed into the
 * feature cache's teacher key: 2 = sharp decodes only, the resize is `resizeBilinear` (the
 * exported graphs' Resize); 1 was sharp's own resize (lanczos3), whose vectors must not be reused.
 */
export const PREPROCESSING_VERSION = 2;

/** Decoded RGB pixels, row-major, interleaved (height × width × 3 bytes). */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes any image sharp reads to RGB bytes at its own size. EXIF orientation is applied,
 * transparency is flattened onto white (what a person sees in a viewer) and grayscale or CMYK
 * becomes sRGB, so every teacher gets 3 channels. The exported browser page decodes the same way.
 * Small plain PNGs and JPEGs take fast paths that give the same bytes (`decodePlainPng`, `decodePlainJpeg`).
 */
export async function decodeImage(bytes: Buffer): Promise<RgbImage> {
  return decodePlainPng(bytes) ?? (await decodePlainJpeg(bytes)) ?? decodeWithSharp(bytes);
}

/** `decodeImage` by sharp alone, whatever the file. */
export async function decodeWithSharp(bytes: Buffer): Promise<RgbImage> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(bytes, { limitInputPixels: PIXEL_LIMIT, failOn: 'truncated' })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new StudioError('bad_file', `Cannot decode the image for the teacher: ${errorMessage(error).split('\n')[0]}`);
  }
  const { width, height, channels } = raw.info;
  if (channels !== 3) {
    // sharp guarantees this for the pipeline above; a change there must not feed a teacher garbage.
    throw new StudioError('internal', `Decoded ${width}×${height}×${channels}, expected 3 channels`);
  }
  return { data: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.length), width, height };
}

/**
 * One image as the teacher's input: decoded (`decodeImage`), cropped (`cropBox`), resized
 * (`resizeBilinear`) and normalized in the spec's layout. The exported models hold the same steps
 * in their graphs, so the studio and every client of an export compute the same numbers.
 */
export async function preprocessImage(bytes: Buffer, spec: PreprocessSpec, into?: Float32Array): Promise<Float32Array> {
  return preprocessPixels(await decodeImage(bytes), spec, into);
}

/**
 * `preprocessImage` after the decode: `normalizePixels(resizeBilinear(image, cropBox(…)))` in one
 * pass (`resampled`), bit for bit: extraction prepares every image through here, and the two passes
 * took 2.1–2.9 ms an image at 224 px where one takes 1.1–1.6 ms (tests/unit/resize.test.ts checks
 * the sameness). `into`: where to write it (`imageLength(spec)` values), instead of a new array.
 */
export function preprocessPixels(image: RgbImage, spec: PreprocessSpec, into?: Float32Array): Float32Array {
  return resampled(image, cropBox(image.width, image.height, spec), spec.width, spec.height, channelAffine(spec.normalization), spec.layout, into);
}

/**
 * The bilinear resize of `box` (see `resizeBilinear`), each value rounded to float32 (as a resized
 * image stores it) then mapped by the per-channel affine `value · scale[c] + offset[c]` and written
 * in `layout`. The sample points are in typed arrays and the channels unrolled: it is the hot loop
 * of extraction.
 */
function resampled(
  image: RgbImage,
  box: PixelBox,
  outWidth: number,
  outHeight: number,
  [scale, offset]: [number[], number[]],
  layout: PreprocessSpec['layout'],
  out: Float32Array = new Float32Array(outWidth * outHeight * 3),
): Float32Array {
  const rows = samplePoints(box.top, box.height, outHeight);
  const cols = samplePoints(box.left, box.width, outWidth);
  const x0 = Int32Array.from(cols, (c) => c.low * 3);
  const x1 = Int32Array.from(cols, (c) => c.high * 3);
  const wx = Float64Array.from(cols, (c) => c.weight);
  const [s0, s1, s2] = scale;
  const [o0, o1, o2] = offset;
  const pixels = outWidth * outHeight;
  // Where channel c of output pixel p goes: p · step + c · plane.
  const step = layout === 'NHWC' ? 3 : 1;
  const plane = layout === 'NHWC' ? 1 : pixels;
  const { data } = image;
  if (out.length !== pixels * 3) throw new StudioError('internal', `A ${outWidth}×${outHeight} RGB image takes ${pixels * 3} values, not ${out.length}`);
  for (let y = 0; y < outHeight; y++) {
    const top = rows[y].low * image.width * 3;
    const bottom = rows[y].high * image.width * 3;
    const wy = rows[y].weight;
    for (let x = 0; x < outWidth; x++) {
      const a = top + x0[x];
      const b = top + x1[x];
      const c = bottom + x0[x];
      const d = bottom + x1[x];
      const w = wx[x];
      const at = (y * outWidth + x) * step;
      out[at] = lerp2(data[a], data[b], data[c], data[d], w, wy) * s0 + o0;
      out[at + plane] = lerp2(data[a + 1], data[b + 1], data[c + 1], data[d + 1], w, wy) * s1 + o1;
      out[at + 2 * plane] = lerp2(data[a + 2], data[b + 2], data[c + 2], data[d + 2], w, wy) * s2 + o2;
    }
  }
  return out;
}

/** Bilinear interpolation between four pixels' values, rounded to float32 as a resized image stores it. */
function lerp2(a: number, b: number, c: number, d: number, wx: number, wy: number): number {
  const upper = a + (b - a) * wx;
  const lower = c + (d - c) * wx;
  return Math.fround(upper + (lower - upper) * wy);
}

/** A rectangle of an image, in whole pixels. */
export interface PixelBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * The part of a width × height image that is resized to the teacher's size: all of it for
 * 'stretch'; for 'center-crop' the largest centered box of the teacher's aspect ratio, in whole
 * pixels: height min(H, ⌊W·h/w⌋), width min(W, ⌊H·w/h⌋), top ⌊(H − height)/2⌋, left ⌊(W − width)/2⌋
 * (the exported graphs compute the same integers from the input's shape).
 */
export function cropBox(width: number, height: number, spec: Pick<PreprocessSpec, 'width' | 'height' | 'resize'>): PixelBox {
  if (spec.resize === 'stretch') return { top: 0, left: 0, height, width };
  const boxHeight = Math.min(height, Math.floor((width * spec.height) / spec.width));
  const boxWidth = Math.min(width, Math.floor((height * spec.width) / spec.height));
  return { top: Math.floor((height - boxHeight) / 2), left: Math.floor((width - boxWidth) / 2), height: boxHeight, width: boxWidth };
}

/**
 * Bilinear resize of `box` of an RGB image to outWidth × outHeight, on float values, with
 * half-pixel centers and no antialiasing: output pixel i samples the box at
 * (i + 0.5) · boxSize / outSize − 0.5, clamped to the box, from its two nearest pixels per axis.
 * The same definition as ONNX Resize (mode linear, coordinate_transformation_mode half_pixel) and
 * TF's resizeBilinear (alignCorners false, halfPixelCenters true), which the exported graphs use.
 */
export function resizeBilinear(image: RgbImage, box: PixelBox, outWidth: number, outHeight: number): Float32Array {
  // The identity map (× 1 + 0) leaves every float32 value as it is.
  return resampled(image, box, outWidth, outHeight, [[1, 1, 1], [0, 0, 0]], 'NHWC');
}

/** Per output index along one axis: the two source pixels it reads and the weight of the second. */
function samplePoints(start: number, size: number, outSize: number): { low: number; high: number; weight: number }[] {
  return Array.from({ length: outSize }, (_, i) => {
    const at = Math.min(Math.max((i + 0.5) * (size / outSize) - 0.5, 0), size - 1);
    const low = Math.floor(at);
    return { low: start + low, high: start + Math.min(low + 1, size - 1), weight: at - low };
  });
}

/** Interleaved RGB values (height × width × 3, bytes or resized floats) → normalized floats in the spec's layout. */
export function normalizePixels(rgb: ArrayLike<number>, spec: PreprocessSpec): Float32Array {
  const pixels = spec.width * spec.height;
  if (rgb.length !== pixels * 3) {
    throw new StudioError('internal', `Expected ${pixels * 3} RGB bytes, got ${rgb.length}`);
  }
  const [scale, offset] = channelAffine(spec.normalization);
  const out = new Float32Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) {
      const value = rgb[p * 3 + c] * scale[c] + offset[c];
      out[spec.layout === 'NHWC' ? p * 3 + c : c * pixels + p] = value;
    }
  }
  return out;
}

/** Both normalizations as one per-channel affine map byte → byte * scale[c] + offset[c] (the exported graphs apply it too). */
export function channelAffine(n: Normalization): [number[], number[]] {
  if (n.kind === 'scale') return [[n.scale, n.scale, n.scale], [n.offset, n.offset, n.offset]];
  const scale = n.std.map((s) => 1 / (255 * s));
  const offset = n.mean.map((m, c) => -m / n.std[c]);
  return [scale, offset];
}
