import { describe, expect, it } from 'vitest';
import { packThumbnails, unpackThumbnails } from '../../src/shared/thumbnail-batch';

describe('packed thumbnails', () => {
  it('writes each thumbnail behind its id (float64) and its length (uint32), little-endian', () => {
    const packed = packThumbnails([
      { id: 1, bytes: Uint8Array.of(0xaa, 0xbb) },
      { id: 258, bytes: new Uint8Array(0) },
    ]);
    expect([...packed]).toEqual([
      ...[0, 0, 0, 0, 0, 0, 0xf0, 0x3f], // 1 as float64
      ...[2, 0, 0, 0],
      0xaa,
      0xbb,
      ...[0, 0, 0, 0, 0, 0x20, 0x70, 0x40], // 258 as float64
      ...[0, 0, 0, 0],
    ]);
  });

  it('reads back what it wrote, ids up to the largest safe integer, as views into the answer', () => {
    const thumbnails = [
      { id: 7, bytes: Uint8Array.of(1, 2, 3) },
      { id: Number.MAX_SAFE_INTEGER, bytes: Uint8Array.of(4) },
    ];
    const packed = packThumbnails(thumbnails);
    const read = unpackThumbnails(packed);
    expect(read.map(({ id, bytes }) => ({ id, bytes: [...bytes] }))).toEqual([
      { id: 7, bytes: [1, 2, 3] },
      { id: Number.MAX_SAFE_INTEGER, bytes: [4] },
    ]);
    expect(read[0].bytes.buffer).toBe(packed.buffer);
    expect(unpackThumbnails(new Uint8Array(0))).toEqual([]);
  });

  it('refuses an answer cut short, in a header or in a thumbnail', () => {
    const packed = packThumbnails([{ id: 9, bytes: Uint8Array.of(1, 2, 3) }]);
    expect(() => unpackThumbnails(packed.subarray(0, 5))).toThrow(/header is cut short at byte 0 of 5/);
    expect(() => unpackThumbnails(packed.subarray(0, packed.length - 1))).toThrow(/Thumbnail 9 is cut short: 3 bytes said, 2 there/);
  });
});
