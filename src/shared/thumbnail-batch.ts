/**
 * Thumbnails a view's worth at a time (issue 15). One request per thumbnail cost the page about
 * 3 ms of main thread each (the response, its load event, layout), which at some 70 tiles a view
 * was most of the half second a jump may take. So the grid asks for many in one request
 * (`/media/thumbs/3,4,5`), and the answer is their bytes one after the other, each behind its
 * image id (float64, exact for every id JavaScript can hold) and its byte length (uint32), both
 * little-endian. An id the project no longer has is left out.
 */
export const THUMBNAILS_PER_REQUEST = 32;

export interface ThumbnailBytes {
  id: number;
  bytes: Uint8Array;
}

const HEADER_BYTES = 12;

export function packThumbnails(thumbnails: readonly ThumbnailBytes[]): Uint8Array {
  const packed = new Uint8Array(thumbnails.reduce((sum, t) => sum + HEADER_BYTES + t.bytes.length, 0));
  const view = new DataView(packed.buffer);
  let at = 0;
  for (const { id, bytes } of thumbnails) {
    view.setFloat64(at, id, true);
    view.setUint32(at + 8, bytes.length, true);
    packed.set(bytes, at + HEADER_BYTES);
    at += HEADER_BYTES + bytes.length;
  }
  return packed;
}

/** The thumbnails of a packed answer, as views into it; a truncated answer throws. */
export function unpackThumbnails(packed: Uint8Array): ThumbnailBytes[] {
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const thumbnails: ThumbnailBytes[] = [];
  let at = 0;
  while (at < packed.length) {
    if (at + HEADER_BYTES > packed.length) throw new Error(`A thumbnail's header is cut short at byte ${at} of ${packed.length}.`);
    const id = view.getFloat64(at, true);
    const length = view.getUint32(at + 8, true);
    const start = at + HEADER_BYTES;
    if (start + length > packed.length) throw new Error(`Thumbnail ${id} is cut short: ${length} bytes said, ${packed.length - start} there.`);
    thumbnails.push({ id, bytes: packed.subarray(start, start + length) });
    at = start + length;
  }
  return thumbnails;
}
