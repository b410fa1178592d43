import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { cropBox, filterTaps, normalizePixels, preprocessPixels, resizeBilinear, WASM_BAND_BYTES, type PreprocessSpec, type RgbImage } from '../../src/main/engines/preprocess';

/** An RGB image whose three channels all hold `gray` (rows of values). */
function grayImage(rows: number[][]): RgbImage {
  const height = rows.length;
  const width = rows[0].length;
  return { data: Uint8Array.from(rows.flat().flatMap((v) => [v, v, v])), width, height };
}

/** The first channel of a resize's output, as rows. */
function firstChannel(values: Float32Array, width: number): number[][] {
  const gray = [...values].filter((_, i) => i % 3 === 0);
  return Array.from({ length: gray.length / width }, (_, r) => gray.slice(r * width, (r + 1) * width));
}

const whole = (image: RgbImage) => ({ top: 0, left: 0, width: image.width, height: image.height });

describe('resizeBilinear (half-pixel centers, antialiased)', () => {
  it('upsamples 2 → 4 pixels by linear interpolation: centers at 0.25, 0.75, 1.25, 1.75 (the edges take the edge pixel)', () => {
    const image = grayImage([[0, 100]]);
    expect(firstChannel(resizeBilinear(image, whole(image), 4, 1), 4)).toEqual([[0, 25, 75, 100]]);
  });

  it('downsamples 4 → 2 pixels with a triangle twice as wide: weights ¾ ¾ ¼ around 1, ¼ ¾ ¾ around 3', () => {
    const image = grayImage([[0, 10, 20, 30]]);
    const [[left, right]] = firstChannel(resizeBilinear(image, whole(image), 2, 1), 2);
    expect(left).toBeCloseTo((0.75 * 0 + 0.75 * 10 + 0.25 * 20) / 1.75, 5);
    expect(right).toBeCloseTo((0.25 * 10 + 0.75 * 20 + 0.75 * 30) / 1.75, 5);
  });

  it('keeps thin stripes as gray when it shrinks them (without antialiasing a shrink by 3 of 1-in-3 stripes read only the dark pixels: all 0)', () => {
    const image = grayImage([[255, 0, 0, 255, 0, 0, 255, 0, 0]]);
    const [values] = firstChannel(resizeBilinear(image, whole(image), 3, 1), 3);
    // Weights (support 3): ⅔ 1 ⅔ ⅓ from pixel 0; ⅓ ⅔ 1 ⅔ ⅓ from pixel 2; ⅓ ⅔ 1 ⅔ from pixel 5.
    expect(values[0]).toBeCloseTo((255 * (2 / 3) + 255 * (1 / 3)) / (8 / 3), 4);
    expect(values[1]).toBeCloseTo((255 * (2 / 3) + 255 * (1 / 3)) / 3, 4);
    expect(values[2]).toBeCloseTo((255 * (2 / 3)) / (8 / 3), 4);
  });

  it('keeps a flat image flat, whatever the sizes (the weights sum to 1)', () => {
    for (const [width, height, outWidth, outHeight] of [[105, 105, 32, 32], [7, 300, 224, 3], [1, 1, 5, 5], [4000, 3, 224, 224]]) {
      const image = grayImage(Array.from({ length: height }, () => new Array<number>(width).fill(77)));
      for (const value of resizeBilinear(image, whole(image), outWidth, outHeight)) expect(value).toBeCloseTo(77, 4);
    }
  });

  it('interpolates in both axes: 2×2 → 1×1 is the mean of the four', () => {
    const image = grayImage([
      [0, 100],
      [200, 40],
    ]);
    expect(firstChannel(resizeBilinear(image, whole(image), 1, 1), 1)).toEqual([[85]]);
  });

  it('keeps an image at its own size unchanged, every channel apart', () => {
    const image: RgbImage = { data: Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), width: 2, height: 2 };
    expect([...resizeBilinear(image, whole(image), 2, 2)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('reads only the box: a crop of the middle two columns at their own size, and shrunk to one', () => {
    const image = grayImage([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ]);
    expect(firstChannel(resizeBilinear(image, { top: 0, left: 1, width: 2, height: 2 }, 2, 2), 2)).toEqual([
      [2, 3],
      [6, 7],
    ]);
    expect(firstChannel(resizeBilinear(image, { top: 0, left: 1, width: 2, height: 2 }, 1, 1), 1)).toEqual([[4.5]]);
  });
});

describe('filterTaps', () => {
  it('gives two taps (one at an edge) when enlarging, and about 2·s when shrinking by s', () => {
    expect(filterTaps(0, 2, 4).map((t) => [t.first, t.weights])).toEqual([[0, [1]], [0, [0.75, 0.25]], [0, [0.25, 0.75]], [1, [1]]]);
    const shrunk = filterTaps(10, 105, 32);
    expect(shrunk[0].first).toBe(10);
    expect(shrunk.at(-1)!.first + shrunk.at(-1)!.weights.length).toBe(10 + 105);
    // s = 105/32 ≈ 3.3: 6 or 7 pixels inside the triangle, fewer where it passes the edge.
    for (const [i, { weights }] of shrunk.entries()) {
      expect(weights.length).toBeGreaterThanOrEqual(i === 0 || i === 31 ? 4 : 6);
      expect(weights.length).toBeLessThanOrEqual(7);
      expect(weights.reduce((a, b) => a + b)).toBeCloseTo(1, 12);
      expect(Math.min(...weights)).toBeGreaterThan(0);
    }
  });
});

/**
 * The definition of `resizeBilinear`, one output value at a time from every pixel of the box with
 * its triangle weight: the reference the two-pass implementations must equal bit for bit (the
 * feature caches hold vectors of these values). Only the order of the sums is the implementation's.
 */
function triangleResize(image: RgbImage, box: { top: number; left: number; width: number; height: number }, outWidth: number, outHeight: number): Float32Array {
  const weightsOf = (i: number, size: number, outSize: number) => {
    const scale = size / outSize;
    const support = Math.max(scale, 1);
    const raw = Array.from({ length: size }, (_, j) => Math.max(0, 1 - Math.abs(j + 0.5 - (i + 0.5) * scale) / support));
    let total = 0;
    for (const w of raw) total += w;
    return raw.map((w) => w / total);
  };
  const out = new Float32Array(outWidth * outHeight * 3);
  for (let y = 0; y < outHeight; y++) {
    const wy = weightsOf(y, box.height, outHeight);
    for (let x = 0; x < outWidth; x++) {
      const wx = weightsOf(x, box.width, outWidth);
      for (let c = 0; c < 3; c++) {
        let value = 0;
        for (let r = 0; r < box.height; r++) {
          if (wy[r] === 0) continue;
          let row = 0;
          for (let col = 0; col < box.width; col++) if (wx[col] > 0) row += wx[col] * image.data[((box.top + r) * image.width + box.left + col) * 3 + c];
          value += wy[r] * row;
        }
        out[(y * outWidth + x) * 3 + c] = value;
      }
    }
  }
  return out;
}

describe('resizeBilinear against its definition', () => {
  it('equals the triangle-filter formula bit for bit: up, down, across an axis, and inside a crop', () => {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (const [width, height, outWidth, outHeight] of [[105, 105, 32, 32], [32, 32, 224, 224], [640, 427, 56, 40], [3, 500, 24, 16], [224, 224, 224, 224], [7, 9, 5, 30]]) {
      const image: RgbImage = { data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256)), width, height };
      for (const box of [whole(image), { top: Math.floor(height / 4), left: Math.floor(width / 3), width: Math.ceil(width / 2), height: Math.ceil(height / 2) }]) {
        const ours = resizeBilinear(image, box, outWidth, outHeight);
        expect(Buffer.from(ours.buffer).equals(Buffer.from(triangleResize(image, box, outWidth, outHeight).buffer)), `${width}×${height} → ${outWidth}×${outHeight}`).toBe(true);
      }
    }
  });
});

describe('cropBox', () => {
  const square = { width: 224, height: 224 };
  it("is the whole image for 'stretch'", () => {
    expect(cropBox(1000, 300, { ...square, resize: 'stretch' })).toEqual({ top: 0, left: 0, width: 1000, height: 300 });
  });

  it("is the largest centered box of the teacher's aspect for 'center-crop', in whole pixels (floor)", () => {
    expect(cropBox(4, 2, { ...square, resize: 'center-crop' })).toEqual({ top: 0, left: 1, width: 2, height: 2 });
    expect(cropBox(3, 6, { ...square, resize: 'center-crop' })).toEqual({ top: 1, left: 0, width: 3, height: 3 });
    expect(cropBox(1001, 300, { width: 2, height: 1, resize: 'center-crop' })).toEqual({ top: 0, left: 200, width: 600, height: 300 });
    expect(cropBox(5, 3, { width: 2, height: 1, resize: 'center-crop' })).toEqual({ top: 0, left: 0, width: 5, height: 2 });
  });
});

describe('preprocessPixels', () => {
  it('is normalizePixels(resizeBilinear(crop)) bit for bit, for every layout, normalization and resize mode', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const normalizations: PreprocessSpec['normalization'][] = [
      { kind: 'scale', scale: 1 / 127.5, offset: -1 },
      { kind: 'mean-std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    ];
    // Up and down, odd sizes (the WebAssembly's two-at-a-time loop then ends on one value), a photo
    // larger than one band of WebAssembly memory (resized a band of output rows at a time), and a
    // strip of which one output row does not fit in a band (resampled in JavaScript).
    const image = (width: number, height: number): RgbImage => ({ data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256)), width, height });
    const sizes = [[224, 160], [33, 17], [1, 2]];
    const large = image(1500, 3000);
    expect(large.data.length).toBeGreaterThan(WASM_BAND_BYTES);
    const strip = image(3_000_000, 1);
    expect(strip.data.length).toBeGreaterThan(WASM_BAND_BYTES);
    const cases: [RgbImage, number[][]][] = [...[[105, 105], [32, 32], [640, 427], [3, 500], [1, 1]].map(([w, h]): [RgbImage, number[][]] => [image(w, h), sizes]), [large, [[224, 160], [1, 2]]], [strip, [[2, 1]]]];
    for (const [image, outSizes] of cases) {
      for (const [outWidth, outHeight] of outSizes) {
        for (const layout of ['NHWC', 'NCHW'] as const) {
          for (const resize of ['stretch', 'center-crop'] as const) {
            for (const normalization of normalizations) {
              const spec: PreprocessSpec = { width: outWidth, height: outHeight, resize, normalization, channelOrder: 'RGB', layout };
              const box = cropBox(image.width, image.height, spec);
              if (box.width === 0 || box.height === 0) {
                // 1×1 has no 224:160 crop of a whole pixel: a clear error, not NaN (JavaScript) or stray memory (WebAssembly).
                expect(() => preprocessPixels(image, spec)).toThrow(/too small for the teacher's .* center crop/);
                continue;
              }
              const twoSteps = normalizePixels(resizeBilinear(image, cropBox(image.width, image.height, spec), spec.width, spec.height), spec);
              const into = new Float32Array(new SharedArrayBuffer(twoSteps.length * 4));
              expect(Buffer.from(preprocessPixels(image, spec).buffer).equals(Buffer.from(twoSteps.buffer))).toBe(true);
              expect(Buffer.from(preprocessPixels(image, spec, into).slice().buffer).equals(Buffer.from(twoSteps.buffer))).toBe(true);
            }
          }
        }
      }
    }
  });

  it('refuses an output array of the wrong length', () => {
    const spec: PreprocessSpec = { width: 4, height: 4, resize: 'stretch', normalization: { kind: 'scale', scale: 1, offset: 0 }, channelOrder: 'RGB', layout: 'NHWC' };
    expect(() => preprocessPixels({ data: new Uint8Array(12), width: 2, height: 2 }, spec, new Float32Array(47))).toThrow(/takes 48 values, not 47/);
  });

  it('runs the WebAssembly that wasm/resample.ts compiles to (scripts/build-wasm.mjs --check)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(import.meta.dirname, '../../scripts/build-wasm.mjs'), '--check']);
    expect(stdout).toMatch(/matches wasm\/resample.ts/);
  }, 60_000);
});
