/**
 * The JPEG fast path (engines/plain-jpeg.ts) gives exactly sharp's bytes for the JPEGs it takes,
 * and leaves every other JPEG to sharp: real CIFAR files, JPEGs sharp writes of a photo, damaged
 * ones, and headers changed byte by byte.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeWithSharp } from '../../src/main/engines/preprocess';
import { decodePlainJpeg, PLAIN_JPEG_MAX_PIXELS } from '../../src/main/engines/plain-jpeg';
import { CIFAR10_MINI, SHARED } from '../helpers/fixtures';

const PHOTO = join(SHARED, 'datasets/photos/coffee.png');

async function expectSharpBytes(bytes: Buffer): Promise<void> {
  const fast = await decodePlainJpeg(bytes);
  expect(fast, 'the fast path should take this JPEG').toBeDefined();
  const slow = await decodeWithSharp(bytes);
  expect([fast!.width, fast!.height]).toEqual([slow.width, slow.height]);
  expect(Buffer.compare(Buffer.from(fast!.data), Buffer.from(slow.data))).toBe(0);
}

async function expectLeftToSharp(bytes: Buffer): Promise<void> {
  expect(await decodePlainJpeg(bytes)).toBeUndefined();
}

/** Offset of the first segment with this marker (0xFF, marker) before the first scan's data. */
function segment(bytes: Buffer, marker: number): number {
  for (let at = 2; at + 4 <= bytes.length; at += 2 + bytes.readUInt16BE(at + 2)) {
    if (bytes[at + 1] === marker) return at;
  }
  throw new Error(`no segment 0x${marker.toString(16)}`);
}

/** A copy of `bytes` with the byte at `offset` set to `value`. */
function patched(bytes: Buffer, offset: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[offset] = value;
  return copy;
}

describe('decodePlainJpeg gives sharp’s bytes', () => {
  it('for real JPEGs: every CIFAR-10 image of the development set', async () => {
    const files = readdirSync(CIFAR10_MINI).flatMap((c) => readdirSync(join(CIFAR10_MINI, c)).map((f) => join(CIFAR10_MINI, c, f)));
    expect(files.length).toBeGreaterThanOrEqual(500);
    for (const file of files) await expectSharpBytes(readFileSync(file));
  });

  it('for JPEGs sharp writes of a photo: sizes up to the bound, 4:2:0 and 4:4:4, progressive, MozJPEG’s tables, gray', async () => {
    for (const width of [17, 64, 201, 384]) {
      const photo = sharp(PHOTO).resize(width, Math.floor(PLAIN_JPEG_MAX_PIXELS / 384));
      for (const bytes of [
        await photo.clone().jpeg().toBuffer(),
        await photo.clone().jpeg({ quality: 97, chromaSubsampling: '4:4:4' }).toBuffer(),
        await photo.clone().jpeg({ progressive: true }).toBuffer(),
        await photo.clone().jpeg({ mozjpeg: true, quality: 40 }).toBuffer(),
        await photo.clone().toColourspace('b-w').jpeg().toBuffer(),
      ]) {
        await expectSharpBytes(bytes);
      }
    }
  });

  it('for damaged files sharp decodes too: an early end marker, corrupt entropy-coded data', async () => {
    const good = await sharp(PHOTO).resize(96).jpeg().toBuffer();
    const cut = Buffer.concat([good.subarray(0, good.length >> 1), Buffer.from([0xff, 0xd9])]);
    const corrupt = Buffer.from(good);
    for (let i = good.length - 400; i < good.length - 360; i++) corrupt[i] ^= 0x55;
    await expectSharpBytes(cut);
    await expectSharpBytes(corrupt);
  });
});

describe('decodePlainJpeg leaves to sharp', () => {
  it('EXIF orientation, a colour profile, CMYK, unknown segments, other sampling and precision, large images', async () => {
    const photo = sharp(PHOTO).resize(40, 30);
    const plain = await photo.clone().jpeg().toBuffer();
    const frame = segment(plain, 0xc0);
    const decodedBySharp = [
      await photo.clone().withMetadata({ orientation: 6 }).jpeg().toBuffer(),
      await photo.clone().withIccProfile('p3').jpeg().toBuffer(),
      await photo.clone().toColourspace('cmyk').jpeg().toBuffer(),
      // An APP1 segment of 4 bytes before the frame.
      Buffer.concat([plain.subarray(0, 2), Buffer.from([0xff, 0xe1, 0, 4, 0, 0]), plain.subarray(2)]),
      await sharp(PHOTO).resize(385, 385, { fit: 'fill' }).jpeg().toBuffer(),
    ];
    for (const bytes of decodedBySharp) {
      await expectLeftToSharp(bytes);
      expect(Buffer.compare((await decodeImage(bytes)).data, (await decodeWithSharp(bytes)).data)).toBe(0);
    }
    // Frame headers changed in place (the data no longer matches them).
    await expectLeftToSharp(patched(plain, frame + 4, 12)); // 12-bit samples
    await expectLeftToSharp(patched(plain, frame + 11, 0x21)); // luma sampled 2×1: 4:2:2
    await expectLeftToSharp(patched(plain, frame + 1, 0xc3)); // lossless
  });

  it('truncated and broken files, so that the user sees sharp’s error, and decodes the next file itself', async () => {
    const good = await sharp(PHOTO).resize(96).jpeg().toBuffer();
    const scan = segment(good, 0xda);
    // A scan of a component the frame does not have: libjpeg stops with a fatal error after the header passed.
    const badScan = patched(good, scan + 5, 9);
    for (const bytes of [good.subarray(0, good.length - 10), good.subarray(0, good.length >> 1), badScan, Buffer.from('not a jpeg, though long enough to look')]) {
      await expectLeftToSharp(bytes);
      await expect(decodeImage(bytes)).rejects.toThrow(/Cannot decode the image/);
    }
    await expectSharpBytes(good);
  });
});
