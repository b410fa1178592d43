/**
 * Turning a file's bytes into what a project stores: size after EXIF orientation, format and a
 * small WebP thumbnail. sharp (libvips) does the work on libuv's worker threads, so many files
 * decode in parallel while the event loop stays free. Every failure becomes a reason a person
 * can act on.
 */
import sharp, { type Metadata } from 'sharp';

/** Decompression-bomb guard: images over this many pixels are refused before decoding. */
export const PIXEL_LIMIT = 100_000_000;
/** Files larger than this are refused before reading them whole. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;
export const THUMBNAIL_SIDE = 256;

export const IMAGE_EXTENSIONS = new Set([
  '.jpg', '.jpeg', '.jpe', '.jfif', '.png', '.webp', '.tif', '.tiff', '.gif', '.avif', '.heif', '.heic',
]);

export interface DecodedImage {
  width: number;
  height: number;
  format: string;
  thumbnail: Buffer;
}

/** An image that cannot be imported, with the reason shown in the import report. */
export class ImageRejected extends Error {}

export async function decodeForImport(bytes: Buffer): Promise<DecodedImage> {
  if (bytes.length === 0) throw new ImageRejected('Empty file (0 bytes)');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (error) {
    const message = shortSharpMessage(error);
    if (/unsupported image format/i.test(message)) {
      throw new ImageRejected(`Not an image, or a format this studio cannot read (${message})`);
    }
    throw new ImageRejected(`Corrupt or truncated image (${message})`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new ImageRejected('Image has no size in its header');
  if (width * height > PIXEL_LIMIT) {
    const megapixels = ((width * height) / 1e6).toFixed(0);
    throw new ImageRejected(
      `Image is ${width}×${height} (${megapixels} megapixels), over the ${PIXEL_LIMIT / 1e6}-megapixel limit`,
    );
  }
  try {
    // Decoding the whole image (not only its header) is what catches truncated and corrupt files.
    const thumbnail = await sharp(bytes, { limitInputPixels: PIXEL_LIMIT, failOn: 'truncated' })
      .rotate()
      .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer();
    const rotated = (meta.orientation ?? 1) >= 5; // EXIF orientations 5–8 swap width and height
    return {
      width: rotated ? height : width,
      height: rotated ? width : height,
      format: meta.format ?? 'unknown',
      thumbnail,
    };
  } catch (error) {
    throw new ImageRejected(`Corrupt or truncated image (${shortSharpMessage(error)})`);
  }
}

function shortSharpMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/\s*\n\s*/g, ' ').replace(/:\s*$/, '').trim();
}
