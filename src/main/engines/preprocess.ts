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
 * feature cache's teacher key: 3 = the resize is `resizeBilinear` with antialiasing; 2 was the
 * same without antialiasing (two pixels per sample whatever the shrink), 1 sharp's own resize
 * (lanczos3). Vectors of another version must not be reused.
 */
export const PREPROCESSING_VERSION = 3;

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
 * image through here. In WebAssembly (`resampledWasm`: 0.4–0.6 ms an image from 32–105 px to 224,
 * 1.2 ms from a 451×300 photo, 0.7 from it to 32 px, 9–12 ms from
 * 1600×1200, ~50 ms from 4000×3000: 3–4 times faster than `resampled`). `into`: where to write it
 * (`imageLength(spec)` values), instead of a new array.
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
  return resampledWasm({ image, box, outWidth, outHeight, affine: channelAffine(spec.normalization), layout: spec.layout, out });
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
 * The most bytes a band of `resampledWasm` may take in a thread's WebAssembly memory (which never
 * shrinks): a large photo is resized a band of output rows at a time, so its size does not stay in
 * every thread. 8 MiB holds ~480 source rows of a 12-megapixel photo (4000 px wide) resized to 224.
 */
export const WASM_BAND_BYTES = 8 * 1024 * 1024;

/** The compiled wasm/resample.ts of this thread, instantiated on first use; its memory holds one band's work at a time. */
let resampleModule: { memory: WebAssembly.Memory; resample: (...offsetsAndSizes: number[]) => void } | undefined;

/**
 * `resampled` by wasm/resample.ts, a band of output rows at a time (one band for all but large
 * images): the band's source rows, the filter taps, the affine map per value of an output row,
 * room for the filtered rows and the output are laid out in the module's memory (16-byte aligned),
 * and the output copied out. Bands share no state, and a filtered row is the same whichever band
 * filters it, so the result is the same bit for bit. An image of which one output row needs more
 * than `bandBytes` (a strip 30 000 px wide or more) is resampled in JavaScript.
 */
function resampledWasm(resampling: Resampling, bandBytes = WASM_BAND_BYTES): Float32Array {
  const { image, box, outWidth, outHeight, layout, out } = resampling;
  const cols = packedTaps(box.left, box.width, outWidth);
  const rows = packedTaps(box.top, box.height, outHeight);
  const rowBytes = image.width * 3;
  const rowLength = outWidth * 3;
  // Source rows [first, end) that output rows [y0, y1) read, and the bytes they take.
  const sourceRows = (y0: number, y1: number) => rows.first[y1 - 1] + rows.count[y1 - 1] - rows.first[y0];
  const bytes = (y0: number, y1: number) => sourceRows(y0, y1) * (rowBytes + rowLength * 8) + (y1 - y0) * rowLength * 4;
  if (bytes(0, 1) > bandBytes) return resampled(resampling);
  for (let y0 = 0; y0 < outHeight; ) {
    let y1 = y0 + 1;
    while (y1 < outHeight && bytes(y0, y1 + 1) <= bandBytes) y1++;
    const band = resampledBand(resampling, cols, rows, y0, y1);
    if (layout === 'NHWC') out.set(band, y0 * rowLength);
    else for (let c = 0; c < 3; c++) out.set(band.subarray(c * outWidth * (y1 - y0), (c + 1) * outWidth * (y1 - y0)), c * outWidth * outHeight + y0 * outWidth);
    y0 = y1;
  }
  return out;
}

/** Output rows [y0, y1) of `resampling` by wasm/resample.ts, in its layout (NCHW: the band's three planes one after the other), in the module's memory until the next call. */
function resampledBand({ image, outWidth, affine: [scale, offset], layout }: Resampling, cols: PackedTaps, rows: PackedTaps, y0: number, y1: number): Float32Array {
  resampleModule ??= (() => {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(RESAMPLE_WASM, 'base64')));
    return exports as unknown as NonNullable<typeof resampleModule>;
  })();
  const { memory, resample } = resampleModule;
  const bandHeight = y1 - y0;
  const rowLength = outWidth * 3;
  const rowBytes = image.width * 3;
  const firstRow = rows.first[y0];
  const rowCount = rows.first[y1 - 1] + rows.count[y1 - 1] - firstRow;
  // The band's weights along y: those of the rows before y0 come first in the packed array.
  let weightsFrom = 0;
  for (let y = 0; y < y0; y++) weightsFrom += rows.count[y];
  let weightsTo = weightsFrom;
  for (let y = y0; y < y1; y++) weightsTo += rows.count[y];
  let end = 0;
  const place = (bytes: number) => {
    const at = end;
    end += Math.ceil(bytes / 16) * 16;
    return at;
  };
  const [source, xFirst, xCount, xWeights, yFirst, yCount, yWeights] = [rowCount * rowBytes, outWidth * 4, outWidth * 4, cols.weights.length * 8, bandHeight * 4, bandHeight * 4, (weightsTo - weightsFrom) * 8].map(place);
  const [scales, offsets, filtered] = [rowLength * 8, rowLength * 8, rowCount * rowLength * 8].map(place);
  const output = place(rowLength * bandHeight * 4);
  if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
  const { buffer } = memory;
  new Uint8Array(buffer, source, rowCount * rowBytes).set(image.data.subarray(firstRow * rowBytes, (firstRow + rowCount) * rowBytes));
  new Int32Array(buffer, xFirst, outWidth).set(cols.first.map((x) => x * 3));
  new Int32Array(buffer, xCount, outWidth).set(cols.count);
  new Float64Array(buffer, xWeights, cols.weights.length).set(cols.weights);
  new Int32Array(buffer, yFirst, bandHeight).set(rows.first.subarray(y0, y1).map((y) => y - firstRow));
  new Int32Array(buffer, yCount, bandHeight).set(rows.count.subarray(y0, y1));
  new Float64Array(buffer, yWeights, weightsTo - weightsFrom).set(rows.weights.subarray(weightsFrom, weightsTo));
  // An output row's values in the order the module computes them: x·3 + c (NHWC) or c·outWidth + x (NCHW).
  const channel = (i: number) => (layout === 'NCHW' ? Math.floor(i / outWidth) : i % 3);
  new Float64Array(buffer, scales, rowLength).set(Array.from({ length: rowLength }, (_, i) => scale[channel(i)]));
  new Float64Array(buffer, offsets, rowLength).set(Array.from({ length: rowLength }, (_, i) => offset[channel(i)]));
  resample(source, rowBytes, rowCount, outWidth, bandHeight, xFirst, xCount, xWeights, yFirst, yCount, yWeights, scales, offsets, filtered, output, layout === 'NCHW' ? 1 : 0);
  return new Float32Array(buffer, output, rowLength * bandHeight);
}

/** Taps as flat arrays: per output index its first source pixel and tap count, and all weights one after the other. */
interface PackedTaps {
  first: Int32Array;
  count: Int32Array;
  weights: Float64Array;
}

/** The packed taps of the last few axes resized, by start, size and output size: a data set's images mostly share sizes. */
const recentTaps = new Map<string, PackedTaps>();

/** `filterTaps(start, size, outSize)` packed, from `recentTaps` when it was computed lately (it costs 0.1–0.3 ms an axis at 224 px). */
function packedTaps(start: number, size: number, outSize: number): PackedTaps {
  const key = `${start} ${size} ${outSize}`;
  let packed = recentTaps.get(key);
  if (!packed) {
    const taps = filterTaps(start, size, outSize);
    packed = {
      first: Int32Array.from(taps, (t) => t.first),
      count: Int32Array.from(taps, (t) => t.weights.length),
      weights: Float64Array.from(taps.flatMap((t) => t.weights)),
    };
    if (recentTaps.size >= 16) recentTaps.clear();
    recentTaps.set(key, packed);
  }
  return packed;
}

/**
 * The resize of `box` (see `resizeBilinear`), each value rounded to float32 (as a resized image
 * stores it) then mapped by the per-channel affine `value · scale[c] + offset[c]` and written in
 * `layout`: the definition wasm/resample.ts computes faster, and the path of large images. Two
 * passes, in this order of float64 operations: every source row the output reads is filtered along
 * x (Σₖ wₖ · pixel, k ascending, from 0), then each output value along y from those rows.
 */
function resampled({ image, box, outWidth, outHeight, affine: [scale, offset], layout, out }: Resampling): Float32Array {
  const rows = filterTaps(box.top, box.height, outHeight);
  const cols = filterTaps(box.left, box.width, outWidth);
  const rowLength = outWidth * 3;
  const firstRow = rows[0].first;
  const lastRow = rows[outHeight - 1].first + rows[outHeight - 1].weights.length - 1;
  const { data } = image;
  // The horizontal pass: row r − firstRow holds source row r filtered, interleaved (x·3 + c).
  const filtered = new Float64Array((lastRow - firstRow + 1) * rowLength);
  for (let r = firstRow; r <= lastRow; r++) {
    const row = r * image.width * 3;
    const into = (r - firstRow) * rowLength;
    for (let x = 0; x < outWidth; x++) {
      const { first, weights } = cols[x];
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * data[row + (first + k) * 3 + c];
        filtered[into + x * 3 + c] = sum;
      }
    }
  }
  const pixels = outWidth * outHeight;
  // Where channel c of output pixel p goes: p · step + c · plane.
  const step = layout === 'NHWC' ? 3 : 1;
  const plane = layout === 'NHWC' ? 1 : pixels;
  for (let y = 0; y < outHeight; y++) {
    const { first, weights } = rows[y];
    for (let x = 0; x < outWidth; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += weights[k] * filtered[(first + k - firstRow) * rowLength + x * 3 + c];
        out[(y * outWidth + x) * step + c * plane] = Math.fround(sum) * scale[c] + offset[c];
      }
    }
  }
  return out;
}

/** One output pixel's source pixels along an axis: the first, and the weights of it and the ones after it (they sum to 1). */
export interface Taps {
  first: number;
  weights: number[];
}

/**
 * The filter of `resizeBilinear` along one axis, for the `size` pixels from `start` resized to
 * `outSize`. Output i is centered at (i + 0.5) · s in the box (s = size / outSize, half-pixel
 * centers) and reads box pixel j with weight max(0, 1 − |j + 0.5 − center| / max(s, 1)), the
 * weights divided by their sum. Enlarging (s ≤ 1) that is linear interpolation between the two
 * nearest pixels (one at the edges). Shrinking, the triangle widens with s so that every pixel
 * counts (antialiasing); PIL's and torchvision's bilinear resize do the same.
 */
export function filterTaps(start: number, size: number, outSize: number): Taps[] {
  const scale = size / outSize;
  const support = Math.max(scale, 1);
  const taps: Taps[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const triangle = (j: number) => Math.max(0, 1 - Math.abs(j + 0.5 - center) / support);
    // Every j with a positive weight lies in (center − support − 0.5, center + support − 0.5).
    let first = Math.max(0, Math.floor(center - support - 0.5));
    let last = Math.min(size - 1, Math.ceil(center + support - 0.5));
    while (triangle(first) === 0) first++;
    while (triangle(last) === 0) last--;
    const weights: number[] = [];
    let total = 0;
    for (let j = first; j <= last; j++) {
      weights.push(triangle(j));
      total += weights[j - first];
    }
    for (let k = 0; k < weights.length; k++) weights[k] /= total;
    taps.push({ first: start + first, weights });
  }
  return taps;
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
 * half-pixel centers and antialiasing: separable, each axis by `filterTaps` (a triangle filter, as
 * wide as the shrink when shrinking). Without antialiasing a large shrink would read only the two
 * pixels nearest each sample: a 4000 px photo shrunk to 224 would see one pixel row in nine. The
 * exported graphs compute the same weights (`onnx-export.ts`, `ResizeAntialiased`).
 */
export function resizeBilinear(image: RgbImage, box: PixelBox, outWidth: number, outHeight: number): Float32Array {
  // The identity map (× 1 + 0) leaves every float32 value as it is.
  return resampled({ image, box, outWidth, outHeight, affine: [[1, 1, 1], [0, 0, 0]], layout: 'NHWC', out: new Float32Array(outWidth * outHeight * 3) });
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
