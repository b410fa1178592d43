/**
 * Turning image bytes into a teacher's input tensor. Each teacher declares its `PreprocessSpec`
 * (the preprocessing it was trained with); a mismatch here costs accuracy silently, so the spec is
 * explicit data rather than code spread over the engines.
 */
import sharp, { type OutputInfo } from 'sharp';
import { StudioError, errorMessage } from '../core/errors';
import { PIXEL_LIMIT } from '../services/image-decoding';

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
 * Decodes any image sharp reads and returns one normalized image in the spec's layout. EXIF
 * orientation is applied, transparency is flattened onto white (what a person sees in a viewer)
 * and grayscale or CMYK becomes sRGB, so every teacher gets 3 channels.
 */
export async function preprocessImage(bytes: Buffer, spec: PreprocessSpec): Promise<Float32Array> {
  let raw: { data: Buffer; info: OutputInfo };
  try {
    raw = await sharp(bytes, { limitInputPixels: PIXEL_LIMIT, failOn: 'truncated' })
      .rotate()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .resize(spec.width, spec.height, { fit: spec.resize === 'stretch' ? 'fill' : 'cover', position: 'centre' })
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new StudioError('bad_file', `Cannot decode the image for the teacher: ${errorMessage(error).split('\n')[0]}`);
  }
  const { width, height, channels } = raw.info;
  if (width !== spec.width || height !== spec.height || channels !== 3) {
    // sharp guarantees this for the pipeline above; a change there must not feed a teacher garbage.
    throw new StudioError('internal', `Decoded ${width}×${height}×${channels}, expected ${spec.width}×${spec.height}×3`);
  }
  return normalizePixels(raw.data, spec);
}

/** Interleaved RGB bytes (height × width × 3) → normalized floats in the spec's layout. */
export function normalizePixels(rgb: Uint8Array, spec: PreprocessSpec): Float32Array {
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

/** Both normalizations as one per-channel affine map byte → byte * scale[c] + offset[c]. */
function channelAffine(n: Normalization): [number[], number[]] {
  if (n.kind === 'scale') return [[n.scale, n.scale, n.scale], [n.offset, n.offset, n.offset]];
  const scale = n.std.map((s) => 1 / (255 * s));
  const offset = n.mean.map((m, c) => -m / n.std[c]);
  return [scale, offset];
}
