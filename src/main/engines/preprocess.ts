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
import { RESAMPLE_WASM } from './resample-wasm-binary';

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
 * pass, bit for bit (tests/unit/resize.test.ts checks the sameness): extraction prepares every
 * image through here. In WebAssembly (`resampledWasm`: 0.25–0.4 ms an image at 224 px where
 * `resampled` in JavaScript takes 1.0–1.3, and 0.65 against 1.1 for a 451×300 photo), except for
 * images over `WASM_MAX_PIXELS`. `into`: where to write it (`imageLength(spec)` values), instead of a new array.
 */
export function preprocessPixels(image: RgbImage, spec: PreprocessSpec, into?: Float32Array): Float32Array {
  const box = cropBox(image.width, image.height, spec);
  if (box.width < 1 || box.height < 1) {
    // A sliver (e.g. 1×1 for a 224×160 teacher) has no center crop of a whole pixel: nothing to resize.
    throw new StudioError('bad_file', `A ${image.width}×${image.height} image is too small for the teacher's ${spec.width}×${spec.height} center crop`);
  }
  const { width: outWidth, height: outHeight } = spec;
  const out = into ?? new Float32Array(imageLength(spec));
  if (out.length !== imageLength(spec)) throw new StudioError('internal', `A ${outWidth}×${outHeight} RGB image takes ${imageLength(spec)} values, not ${out.length}`);
  const resample = image.width * image.height <= WASM_MAX_PIXELS ? resampledWasm : resampled;
  return resample({ image, box, outWidth, outHeight, affine: channelAffine(spec.normalization), layout: spec.layout, out });
}

/** A resize of `box` to outWidth × outHeight, mapped by `affine` per channel, written into `out` in `layout`. */
interface Resampling {
  image: RgbImage;
  box: PixelBox;
  outWidth: number;
  outHeight: number;
  /** Per channel: [scale, offset]. */
  affine: [number[], number[]];
  layout: PreprocessSpec['layout'];
  out: Float32Array;
}

/**
 * Larger images are resampled in JavaScript, so that one huge photo does not leave its size in
 * every thread's WebAssembly memory (which never shrinks); its decode costs far more than its resize.
 */
export const WASM_MAX_PIXELS = 1024 * 1024;

/** The compiled wasm/resample.ts of this thread, instantiated on first use; its memory holds one image's work at a time. */
let resampleModule: { memory: WebAssembly.Memory; resample: (...offsetsAndSizes: number[]) => void } | undefined;

/**
 * `resampled` by wasm/resample.ts: the image, the sample points, the affine map per value of an
 * output row and the output are laid out in the module's memory (16-byte aligned), and the output
 * copied out.
 */
function resampledWasm({ image, box, outWidth, outHeight, affine: [scale, offset], layout, out }: Resampling): Float32Array {
  const rowLength = outWidth * 3;
  resampleModule ??= (() => {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(RESAMPLE_WASM, 'base64')));
    return exports as unknown as NonNullable<typeof resampleModule>;
  })();
  const { memory, resample } = resampleModule;
  let end = 0;
  const place = (bytes: number) => {
    const at = end;
    end += Math.ceil(bytes / 16) * 16;
    return at;
  };
  const [source, x0, x1, wx, y0, y1, wy] = [image.data.length, outWidth * 4, outWidth * 4, outWidth * 8, outHeight * 4, outHeight * 4, outHeight * 8].map(place);
  const [scales, offsets, rowA, rowB] = [rowLength * 8, rowLength * 8, rowLength * 8, rowLength * 8].map(place);
  const output = place(rowLength * outHeight * 4);
  if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
  const { buffer } = memory;
  new Uint8Array(buffer, source, image.data.length).set(image.data);
  const rows = samplePoints(box.top, box.height, outHeight);
  const cols = samplePoints(box.left, box.width, outWidth);
  new Int32Array(buffer, x0, outWidth).set(cols.map((c) => c.low * 3));
  new Int32Array(buffer, x1, outWidth).set(cols.map((c) => c.high * 3));
  new Float64Array(buffer, wx, outWidth).set(cols.map((c) => c.weight));
  new Int32Array(buffer, y0, outHeight).set(rows.map((r) => r.low));
  new Int32Array(buffer, y1, outHeight).set(rows.map((r) => r.high));
  new Float64Array(buffer, wy, outHeight).set(rows.map((r) => r.weight));
  // An output row's values in the order the module computes them: x·3 + c (NHWC) or c·outWidth + x (NCHW).
  const channel = (i: number) => (layout === 'NCHW' ? Math.floor(i / outWidth) : i % 3);
  new Float64Array(buffer, scales, rowLength).set(Array.from({ length: rowLength }, (_, i) => scale[channel(i)]));
  new Float64Array(buffer, offsets, rowLength).set(Array.from({ length: rowLength }, (_, i) => offset[channel(i)]));
  resample(source, image.width * 3, outWidth, outHeight, x0, x1, wx, y0, y1, wy, scales, offsets, rowA, rowB, output, layout === 'NCHW' ? 1 : 0);
  out.set(new Float32Array(buffer, output, rowLength * outHeight));
  return out;
}

/**
 * The bilinear resize of `box` (see `resizeBilinear`), each value rounded to float32 (as a resized
 * image stores it) then mapped by the per-channel affine `value · scale[c] + offset[c]` and written
 * in `layout`: the definition wasm/resample.ts computes faster, and the path of large images.
 */
function resampled({ image, box, outWidth, outHeight, affine: [scale, offset], layout, out }: Resampling): Float32Array {
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
  return resampled({ image, box, outWidth, outHeight, affine: [[1, 1, 1], [0, 0, 0]], layout: 'NHWC', out: new Float32Array(outWidth * outHeight * 3) });
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
