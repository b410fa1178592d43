/**
 * Typed arrays in SQLite blobs, and joined end to end. better-sqlite3 returns a blob as a Buffer
 * that may start at any byte offset, while a Float32Array/Float64Array view needs an aligned one,
 * so reading always copies; writing never needs to.
 */

/** The array's bytes as a Buffer, without copying. */
export function blobOf(values: ArrayBufferView): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

/** A copy of the blob's bytes starting at offset 0, ready for a typed-array view. */
export function alignedCopy(blob: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(blob.byteLength);
  copy.set(blob);
  return copy.buffer;
}

/** The parts one after another in a new array of the same kind. */
export function concatenated<T extends Float32Array | Float64Array>(parts: readonly T[], make: (length: number) => T): T {
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
