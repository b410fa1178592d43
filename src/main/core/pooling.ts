/**
 * Pooling a teacher's feature maps into fixed-length vectors per image. Maps are [N, C, H, W]
 * (what every `FeatureExtractor` returns); a rank-2 output [N, C] counts as [N, C, 1, 1].
 * Results are row-major [N, features].
 */
import { StudioError } from './errors';

/** [N, C, H, W] of a feature map's shape; rank-2 outputs (pooled vectors) become [N, C, 1, 1]. */
export function asNCHW(shape: readonly number[]): [number, number, number, number] {
  if (shape.length === 4) return [shape[0], shape[1], shape[2], shape[3]];
  if (shape.length === 2) return [shape[0], shape[1], 1, 1];
  throw new StudioError('invalid_input', `A feature map must be [N,C,H,W] or [N,C], got [${shape.join(',')}]`);
}

/** Mean over H×W per channel → [N, C]. */
export function globalAveragePool(data: Float32Array, shape: readonly number[]): Float32Array {
  const [n, c, h, w] = checked(data, shape);
  return spatialAveragePool(data, [n, c, h, w], 1, 1);
}

/** Max over H×W per channel → [N, C]. */
export function globalMaxPool(data: Float32Array, shape: readonly number[]): Float32Array {
  const [n, c, h, w] = checked(data, shape);
  const area = h * w;
  const out = new Float32Array(n * c);
  for (let m = 0; m < n * c; m++) {
    let max = -Infinity;
    for (let i = m * area; i < (m + 1) * area; i++) if (data[i] > max) max = data[i];
    out[m] = max;
  }
  return out;
}

/**
 * Head2Toe-style pooling: averages each channel over a grid of gridH × gridW cells, flattened per
 * image as [C, gridH, gridW] → [N, C·gridH·gridW]. Cells follow adaptive average pooling
 * (PyTorch's AdaptiveAvgPool2d): cell i covers rows floor(i·H/gridH) … ceil((i+1)·H/gridH) − 1, so
 * a grid that does not divide the map gets slightly overlapping cells instead of dropped rows.
 */
export function spatialAveragePool(
  data: Float32Array,
  shape: readonly number[],
  gridH: number,
  gridW: number = gridH,
): Float32Array {
  const [n, c, h, w] = checked(data, shape);
  if (!Number.isInteger(gridH) || !Number.isInteger(gridW) || gridH < 1 || gridW < 1 || gridH > h || gridW > w) {
    throw new StudioError('invalid_input', `Pooling grid ${gridH}×${gridW} must be between 1×1 and the map's ${h}×${w}`);
  }
  const rows = cellBounds(h, gridH);
  const cols = cellBounds(w, gridW);
  const out = new Float32Array(n * c * gridH * gridW);
  let o = 0;
  for (let plane = 0; plane < n * c; plane++) {
    const base = plane * h * w;
    for (const [r0, r1] of rows) {
      for (const [c0, c1] of cols) {
        let sum = 0;
        for (let y = r0; y < r1; y++) for (let x = c0; x < c1; x++) sum += data[base + y * w + x];
        out[o++] = sum / ((r1 - r0) * (c1 - c0));
      }
    }
  }
  return out;
}

/** [start, end) of each of `cells` adaptive-pooling cells along a side of `size`. */
export function cellBounds(size: number, cells: number): Array<[number, number]> {
  return Array.from({ length: cells }, (_, i) => [
    Math.floor((i * size) / cells),
    Math.ceil(((i + 1) * size) / cells),
  ]);
}

function checked(data: Float32Array, shape: readonly number[]): [number, number, number, number] {
  const nchw = asNCHW(shape);
  const expected = nchw.reduce((a, b) => a * b, 1);
  if (data.length !== expected) {
    throw new StudioError('invalid_input', `Feature map [${shape.join(',')}] needs ${expected} values, got ${data.length}`);
  }
  return nchw;
}
