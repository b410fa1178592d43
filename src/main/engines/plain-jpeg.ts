/**
 * A fast path for decoding small JPEGs (CIFAR-like crops, thumbnails, frames): sharp spends
 * 1.2–1.7 ms of CPU on every call whatever the image's size, where MozJPEG compiled to WebAssembly
 * (@jsquash/jpeg, the Squoosh app's decoder) decodes a 32×32 JPEG in 0.04–0.1 ms. sharp's libvips
 * decodes JPEGs with MozJPEG too, so both give the same bytes (tests/unit/plain-jpeg.test.ts
 * compares them byte for byte) for the "plain" JPEGs this path takes: 8-bit baseline, extended or
 * progressive Huffman, gray or YCbCr sampled 4:4:4 or 4:2:0, without any segment that would make
 * sharp change the pixels (an ICC profile, EXIF orientation, Adobe's colour transform: only the
 * segments in `plainHeader`), ending in its end marker (sharp refuses a truncated file) and of at
 * most `PLAIN_JPEG_MAX_PIXELS`. Anything else, and any file it fails on, goes to sharp, so a user
 * sees sharp's errors.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import decode, { init } from '@jsquash/jpeg/decode.js';

/**
 * WebAssembly without SIMD costs ~1 ms of CPU a 100,000 pixels where sharp's SIMD decode costs
 * ~0.5 after its fixed ~1.2 ms a call. Measured (CPU time, this 2-core host, ../shared's
 * photos/chelsea.png and coffee.png resized to 32–1024 px wide and written by sharp at quality 90):
 * 0.04–0.3 ms against 1.2–1.7 up to 128×128; 1.9–2.6 against 2.9–3.0 at 384 px wide; 3.3–4.0
 * against 4.0–4.3 at 512; 5.9–8.0 against 5.5–6.5 at 768. The bound keeps a margin below the
 * crossing.
 */
export const PLAIN_JPEG_MAX_PIXELS = 384 * 384;

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const COM = 0xfe;
const DQT = 0xdb;
const DHT = 0xc4;
/** Start of frame: baseline, extended sequential and progressive, all Huffman-coded. */
const PLAIN_FRAMES = new Set([0xc0, 0xc1, 0xc2]);

/** The decoder's WebAssembly module, compiled once per thread; undefined once it failed to load (sharp decodes then). */
let decoder: Promise<WebAssembly.Module | undefined> | undefined;

/** RGB bytes (height × width × 3) of a plain JPEG; undefined for any other file, which sharp decodes. */
export async function decodePlainJpeg(bytes: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number } | undefined> {
  const header = plainHeader(bytes);
  if (!header) return undefined;
  decoder ??= loadDecoder();
  const module = await decoder;
  if (!module) return undefined;
  let rgba: ImageData;
  try {
    // The typings say ArrayBuffer; the decoder copies any byte array into its memory.
    rgba = await decode(bytes as unknown as ArrayBuffer);
  } catch {
    // libjpeg's fatal errors leave the program by exit(), without freeing what it allocated: start a fresh one.
    await startDecoder(module);
    return undefined;
  }
  const { width, height, data } = rgba;
  if (width !== header.width || height !== header.height || data.length !== width * height * 4) return undefined;
  const rgb = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; q < rgb.length; p += 4, q += 3) {
    rgb[q] = data[p];
    rgb[q + 1] = data[p + 1];
    rgb[q + 2] = data[p + 2];
  }
  return { data: rgb, width, height };
}

async function loadDecoder(): Promise<WebAssembly.Module | undefined> {
  try {
    const path = createRequire(import.meta.url).resolve('@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm');
    const module = await WebAssembly.compile(await readFile(path));
    await startDecoder(module);
    return module;
  } catch {
    return undefined;
  }
}

function startDecoder(module: WebAssembly.Module): Promise<void> {
  // Its warnings (corrupt data it recovers from, as sharp does) would go to stdout and stderr.
  const quiet = { print: () => {}, printErr: () => {} };
  // The typings leave out the first argument, the compiled module, that the package's README documents.
  return (init as unknown as (module: WebAssembly.Module, options: object) => Promise<void>)(module, quiet);
}

/**
 * Width and height of a JPEG the fast path takes, read from the segments before its first scan;
 * undefined otherwise. Segments after it cannot change what sharp does: libvips reads the profile
 * and orientation, and libjpeg the colour transform, from the header alone.
 */
function plainHeader(bytes: Uint8Array): { width: number; height: number } | undefined {
  const n = bytes.length;
  // The end marker last: the entropy-coded data cannot hold 0xFF 0xD9 (a 0xFF there is followed by 0 or a restart marker).
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== SOI || bytes[n - 2] !== 0xff || bytes[n - 1] !== EOI) return undefined;
  let size: { width: number; height: number } | undefined;
  for (let at = 2; at + 4 <= n; ) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    const length = (bytes[at + 2] << 8) | bytes[at + 3];
    if (length < 2 || at + 2 + length > n) return undefined;
    if (marker === SOS) return size;
    if (PLAIN_FRAMES.has(marker)) {
      if (size) return undefined;
      size = plainFrame(bytes.subarray(at + 4, at + 2 + length));
      if (!size) return undefined;
    } else if (marker !== APP0 && marker !== COM && marker !== DQT && marker !== DHT) {
      return undefined;
    }
    at += 2 + length;
  }
  return undefined;
}

/** A frame header's size if it is 8-bit gray (1×1 sampling) or YCbCr sampled 4:4:4 or 4:2:0, within the pixel bound. */
function plainFrame(frame: Uint8Array): { width: number; height: number } | undefined {
  const [precision, components] = [frame[0], frame[5]];
  if (frame.length !== 6 + 3 * components || precision !== 8) return undefined;
  const height = (frame[1] << 8) | frame[2];
  const width = (frame[3] << 8) | frame[4];
  // Sampling factors, one byte per component: horizontal in the high 4 bits, vertical in the low.
  const sampling = Array.from({ length: components }, (_, c) => frame[6 + 3 * c + 1]);
  const plain = (components === 1 && sampling[0] === 0x11) || (components === 3 && (sampling[0] === 0x11 || sampling[0] === 0x22) && sampling[1] === 0x11 && sampling[2] === 0x11);
  return plain && width > 0 && height > 0 && width * height <= PLAIN_JPEG_MAX_PIXELS ? { width, height } : undefined;
}
