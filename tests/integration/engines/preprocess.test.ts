import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { normalizePixels, preprocessImage, type PreprocessSpec } from '../../../src/main/engines/preprocess';

const MOBILENET: PreprocessSpec = {
  width: 2,
  height: 2,
  resize: 'stretch',
  normalization: { kind: 'scale', scale: 1 / 127.5, offset: -1 },
  channelOrder: 'RGB',
  layout: 'NHWC',
};
const RESNET: PreprocessSpec = {
  ...MOBILENET,
  normalization: { kind: 'mean-std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  layout: 'NCHW',
};

/** 2×2: black, white / red, (10, 20, 30). */
const PIXELS = [0, 0, 0, 255, 255, 255, 255, 0, 0, 10, 20, 30];

function png(pixels: number[], width: number, height: number, channels: 1 | 3 | 4): Promise<Buffer> {
  return sharp(Buffer.from(pixels), { raw: { width, height, channels } }).png().toBuffer();
}

describe('preprocessImage', () => {
  it('scales a known 2×2 image to [−1, 1] in NHWC (MobileNet)', async () => {
    const out = await preprocessImage(await png(PIXELS, 2, 2, 3), MOBILENET);
    expect([...out]).toEqual([...new Float32Array(PIXELS.map((v) => v / 127.5 - 1))]);
  });

  it('normalizes by mean and std after /255 in NCHW (ResNet)', async () => {
    const out = await preprocessImage(await png(PIXELS, 2, 2, 3), RESNET);
    const { mean, std } = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    // NCHW: all red values, then green, then blue, each in pixel order.
    const expected = [0, 1, 2].flatMap((c) => [0, 1, 2, 3].map((p) => (PIXELS[p * 3 + c] / 255 - mean[c]) / std[c]));
    expect(out.length).toBe(12);
    out.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    expect(out[0]).toBeCloseTo(-0.485 / 0.229, 5); // black, red channel
  });

  it('turns grayscale into three equal channels and flattens transparency onto white', async () => {
    const gray = await preprocessImage(await png([0, 255, 51, 102], 2, 2, 1), MOBILENET);
    expect([...gray]).toEqual([...new Float32Array([0, 0, 0, 255, 255, 255, 51, 51, 51, 102, 102, 102].map((v) => v / 127.5 - 1))]);
    const rgba = [0, 0, 0, 0, 0, 0, 0, 255, 255, 0, 0, 255, 0, 0, 255, 255]; // transparent black, black, red, blue
    const flat = await preprocessImage(await png(rgba, 2, 2, 4), MOBILENET);
    expect([...flat.subarray(0, 6)]).toEqual([1, 1, 1, -1, -1, -1]);
  });

  it('applies EXIF orientation before resizing', async () => {
    // Stored 16×8, left half black and right half white; orientation 6 displays it turned 90° clockwise,
    // so the left half becomes the top.
    const stored = Array.from({ length: 8 * 16 }, (_, i) => (i % 16 < 8 ? [0, 0, 0] : [255, 255, 255])).flat();
    const jpeg = await sharp(Buffer.from(stored), { raw: { width: 16, height: 8, channels: 3 } })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const out = await preprocessImage(jpeg, MOBILENET); // 2×2 NHWC
    expect(Math.max(...out.subarray(0, 6))).toBeLessThan(-0.5); // top row dark
    expect(Math.min(...out.subarray(6, 12))).toBeGreaterThan(0.5); // bottom row bright
  });

  it('center-crop keeps the middle of a wide image; stretch keeps all of it', async () => {
    // 4×2: a red column, two green columns, a blue column.
    const row = [255, 0, 0, 0, 255, 0, 0, 255, 0, 0, 0, 255];
    const image = await png([...row, ...row], 4, 2, 3);
    const cropped = await preprocessImage(image, { ...MOBILENET, resize: 'center-crop' });
    expect([...cropped]).toEqual([-1, 1, -1, -1, 1, -1, -1, 1, -1, -1, 1, -1]);
    const stretched = await preprocessImage(image, MOBILENET);
    // Red on the left: 4 → 2 weighs the red column and the two green ones ¾ ¾ ¼ (antialiased), so 255·¾/1.75 = 255·3/7, or −1/7 normalized.
    expect(stretched[0]).toBeCloseTo(-1 / 7, 6);
  });

  it('refuses bytes that are not an image', async () => {
    await expect(preprocessImage(Buffer.from('not an image'), MOBILENET)).rejects.toThrow(/Cannot decode the image/);
  });
});

describe('normalizePixels', () => {
  it('checks the byte count', () => {
    expect(() => normalizePixels(new Uint8Array(11), MOBILENET)).toThrow('Expected 12 RGB bytes, got 11');
  });
});
