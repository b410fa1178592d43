/**
 * The PNG fast path (engines/plain-png.ts) gives exactly sharp's bytes for the PNGs it takes, and
 * leaves every other PNG to sharp: real files, PNGs sharp writes, and PNGs written here chunk by
 * chunk (bit depths, palettes and chunks sharp does not write).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeWithSharp } from '../../src/main/engines/preprocess';
import { decodePlainPng, PLAIN_PNG_MAX_BYTES, PLAIN_PNG_MAX_PIXELS } from '../../src/main/engines/plain-png';
import { OMNIGLOT_SMALL1, SHARED } from '../helpers/fixtures';

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

interface PngParts {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  /** One sample per pixel (gray level or palette index; RGB: 3 a pixel), row-major. */
  samples: number[];
  palette?: number[][];
  /** Chunks put before IDAT, e.g. ['gAMA', bytes]. */
  extra?: [string, Uint8Array][];
}

/** A non-interlaced PNG, each row filter 0 and its samples packed `depth` bits each, most significant first. */
function png({ width, height, depth, colorType, samples, palette, extra = [] }: PngParts): Buffer {
  const perPixel = colorType === 2 ? 3 : 1;
  const rowBytes = Math.ceil((width * perPixel * depth) / 8);
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < width * perPixel; i++) {
      const bit = i * depth;
      raw[y * (rowBytes + 1) + 1 + (bit >> 3)] |= samples[y * width * perPixel + i] << (8 - depth - (bit & 7));
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    ...(palette ? [chunk('PLTE', Uint8Array.from(palette.flat()))] : []),
    ...extra.map(([type, data]) => chunk(type, data)),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ]);
}

/** Deterministic pseudo-random integers in [0, n). */
function randomSamples(count: number, n: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  });
}

async function expectSharpBytes(bytes: Buffer): Promise<void> {
  const fast = decodePlainPng(bytes);
  expect(fast, 'the fast path should take this PNG').toBeDefined();
  const slow = await decodeWithSharp(bytes);
  expect([fast!.width, fast!.height]).toEqual([slow.width, slow.height]);
  expect(Buffer.compare(Buffer.from(fast!.data), Buffer.from(slow.data))).toBe(0);
}

describe('decodePlainPng gives sharp’s bytes', () => {
  it('for real PNGs: 1-bit Omniglot characters', async () => {
    const alphabet = join(OMNIGLOT_SMALL1, readdirSync(OMNIGLOT_SMALL1).sort()[0]);
    const characters = readdirSync(alphabet).sort().slice(0, 6);
    const files = characters.flatMap((c) => readdirSync(join(alphabet, c)).map((f) => join(alphabet, c, f)));
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) await expectSharpBytes(readFileSync(file));
  });

  it.each([1, 2, 4, 8])('for gray and palette PNGs of %i bits, rows padded to whole bytes', async (depth) => {
    const [width, height] = [13, 7];
    await expectSharpBytes(png({ width, height, depth, colorType: 0, samples: randomSamples(width * height, 2 ** depth, depth) }));
    const palette = Array.from({ length: 2 ** depth }, (_, i) => randomSamples(3, 256, 100 + i));
    await expectSharpBytes(png({ width, height, depth, colorType: 3, palette, samples: randomSamples(width * height, 2 ** depth, 7 * depth) }));
  });

  it('for RGB PNGs with text, time and physical-size chunks', async () => {
    const [width, height] = [9, 11];
    const text = new TextEncoder().encode('Comment\0scanned');
    await expectSharpBytes(png({ width, height, depth: 8, colorType: 2, samples: randomSamples(width * height * 3, 256, 3), extra: [['tEXt', text], ['pHYs', new Uint8Array(9)]] }));
  });

  it('for RGB, paletted and gray PNGs that sharp writes of a photo', async () => {
    const photo = sharp(join(SHARED, 'datasets/photos/coffee.png')).resize(53, 37);
    for (const bytes of [
      await photo.clone().png().toBuffer(),
      await photo.clone().png({ palette: true, colours: 16 }).toBuffer(),
      await photo.clone().png({ palette: true, colours: 4 }).toBuffer(),
      await photo.clone().toColourspace('b-w').png().toBuffer(),
    ]) {
      await expectSharpBytes(bytes);
    }
  });
});

describe('decodePlainPng leaves to sharp', () => {
  const gray = (extra: [string, Uint8Array][]) => png({ width: 4, height: 4, depth: 8, colorType: 0, samples: randomSamples(16, 256, 1), extra });

  it('transparency, 16 bits, interlacing, a colour profile, gamma, EXIF and unknown chunks, and large files and images', async () => {
    const photo = sharp(join(SHARED, 'datasets/photos/coffee.png')).resize(40, 30);
    const leftToSharp = [
      await photo.clone().ensureAlpha(0.5).png().toBuffer(),
      await photo.clone().toColourspace('rgb16').png().toBuffer(),
      await photo.clone().png({ progressive: true }).toBuffer(),
      await photo.clone().png({ palette: true, colours: 4, progressive: true }).toBuffer(),
      gray([['tRNS', Uint8Array.from([0, 7])]]),
      gray([['gAMA', Uint8Array.from([0, 0, 0xb1, 0x8f])]]),
      gray([['eXIf', new Uint8Array(8)]]),
      gray([['abCd', new Uint8Array(1)]]),
      readFileSync(join(SHARED, 'datasets/photos/chelsea.png')), // iCCP
      await sharp(join(SHARED, 'datasets/photos/coffee.png')).resize(105, 105).png().toBuffer(), // over PLAIN_PNG_MAX_BYTES
      png({ width: 1024, height: PLAIN_PNG_MAX_PIXELS / 1024 + 1, depth: 1, colorType: 0, samples: [] }),
    ];
    expect(leftToSharp.at(-2)!.length).toBeGreaterThan(PLAIN_PNG_MAX_BYTES);
    expect(leftToSharp.at(-1)!.length).toBeLessThan(PLAIN_PNG_MAX_BYTES); // left for its pixels alone
    for (const bytes of leftToSharp) {
      expect(decodePlainPng(bytes)).toBeUndefined();
      // decodeImage still decodes it, by sharp.
      expect(Buffer.compare((await decodeImage(bytes)).data, (await decodeWithSharp(bytes)).data)).toBe(0);
    }
  });

  it('damaged files, so that the user sees sharp’s error', async () => {
    const good = gray([]);
    const badCrc = Buffer.from(good);
    badCrc[good.length - 20] ^= 0xff; // inside IDAT's data
    const truncated = good.subarray(0, good.length - 20);
    for (const bytes of [badCrc, truncated, good.subarray(0, 20), Buffer.from('not a png at all, long enough to look')]) {
      expect(decodePlainPng(bytes)).toBeUndefined();
      await expect(decodeImage(bytes)).rejects.toThrow(/Cannot decode the image/);
    }
  });
});
