/**
 * The scale bench's data: IDX decoding on known bytes, and the Fashion-MNIST PNGs written under
 * ATL_STUDIO_SCALE_CACHE only, resumable (a second run writes nothing), with the label's class.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';

const cache = mkdtempSync(join(tmpdir(), 'atl-scale-data-'));
process.env.ATL_STUDIO_SCALE_CACHE = cache;
const { parseIdx } = await import('../../bench/datasets');
const { FASHION_SCALE_DIR, fashionPath, writeFashionMnist } = await import('../../bench/scale-data');
afterAll(() => rmSync(cache, { recursive: true, force: true }));

describe('IDX', () => {
  it('decodes the header and data of a 2×2×3 unsigned-byte file', () => {
    const bytes = Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const { dims, data } = parseIdx(bytes);
    expect(dims).toEqual([2, 2, 3]);
    expect([...data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('refuses other types and truncated data, saying why', () => {
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), 'f.idx')).toThrow('f.idx: not an unsigned-byte IDX file');
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x08, 1, 0, 0, 0, 3, 7]), 'f.idx')).toThrow('f.idx: 1 bytes of data, its header says 3');
  });
});

describe('Fashion-MNIST scale data', () => {
  it('writes each image once as a one-channel PNG in its class folder, under the scale cache only', async (ctx) => {
    expect(FASHION_SCALE_DIR).toBe(join(cache, 'fashion-mnist'));
    expect(fashionPath(FASHION_SCALE_DIR, 'train', 7, 9)).toBe(join(cache, 'fashion-mnist', 'Ankle-boot', 'train-00007.png'));
    const written = await writeFashionMnist(FASHION_SCALE_DIR, { limitPerSplit: 5 });
    if (written === null) ctx.skip('dataset-fashion-mnist is not installed');
    expect(written).toBe(10);
    expect(readdirSync(cache)).toEqual(['fashion-mnist']);
    // The first image of the test split is an ankle boot (label 9), 28×28.
    const first = join(FASHION_SCALE_DIR, 'Ankle-boot', 't10k-00000.png');
    expect(await sharp(first).metadata()).toMatchObject({ width: 28, height: 28, channels: 1, format: 'png' });
    expect(await writeFashionMnist(FASHION_SCALE_DIR, { limitPerSplit: 5 })).toBe(0);
    const files = readdirSync(FASHION_SCALE_DIR, { recursive: true }).filter((f) => String(f).endsWith('.png'));
    expect(files).toHaveLength(10);
  });
});
