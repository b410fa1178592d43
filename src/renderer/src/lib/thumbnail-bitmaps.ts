import { SvelteMap } from 'svelte/reactivity';
import { THUMBNAILS_PER_REQUEST, unpackThumbnails } from '../../../shared/thumbnail-batch';

/**
 * Decoded thumbnails kept at most: about 250 of the 256 px thumbnails of photos, tens of thousands
 * of small ones. Chosen to bound the page's memory, not tuned.
 */
const BITMAP_BUDGET_BYTES = 64 * 1024 * 1024;

/**
 * Loads the thumbnails the grid's queue starts. Those started together go in one request
 * (src/shared/thumbnail-batch.ts), and each is decoded off the main thread (createImageBitmap) for
 * its tile to draw: an <img> per thumbnail took the page's main thread about 3 ms each, most of what
 * a jump to a new view cost (issue 15). Decoded thumbnails are kept up to a budget; past it the
 * oldest that no tile wants now are dropped, and the queue forgets them, so they load again when
 * wanted.
 */
export class ThumbnailBitmaps {
  /** Decoded thumbnails by image id, oldest first. */
  readonly bitmaps = new SvelteMap<number, ImageBitmap>();
  private bytesHeld = 0;
  /** Started and not released: one released meanwhile is dropped when it arrives. */
  private readonly wanted = new Set<number>();
  /** Started since the last request went out: they go together, once the current task is done. */
  private batch: number[] = [];
  /** Counts clears: an answer to a request made before one belongs to another project. */
  private generation = 0;

  constructor(
    private readonly url: (ids: readonly number[]) => string,
    /** A started thumbnail arrived or failed: the queue starts the next. */
    private readonly onFinished: (id: number) => void,
    /** Asks the queue to forget a thumbnail no tile wants now (false: one does, keep it). */
    private readonly forget: (id: number) => boolean,
    private readonly budgetBytes = BITMAP_BUDGET_BYTES,
  ) {}

  start(id: number): void {
    this.wanted.add(id);
    this.batch.push(id);
    if (this.batch.length === 1) queueMicrotask(() => this.send());
  }

  release(id: number): void {
    this.wanted.delete(id);
  }

  /** Forgets every thumbnail: a project was opened or closed. */
  clear(): void {
    this.generation++;
    this.wanted.clear();
    this.batch = [];
    for (const bitmap of this.bitmaps.values()) bitmap.close();
    this.bitmaps.clear();
    this.bytesHeld = 0;
  }

  private send(): void {
    const ids = this.batch.filter((id) => this.wanted.has(id));
    this.batch = [];
    for (let at = 0; at < ids.length; at += THUMBNAILS_PER_REQUEST) void this.load(ids.slice(at, at + THUMBNAILS_PER_REQUEST));
  }

  private async load(ids: number[]): Promise<void> {
    const generation = this.generation;
    const decoded = await this.fetchDecoded(ids);
    if (generation !== this.generation) return decoded.forEach(({ bitmap }) => bitmap.close());
    for (const { id, bitmap } of decoded) {
      if (!this.wanted.has(id) || this.bitmaps.has(id)) {
        bitmap.close();
        continue;
      }
      this.bitmaps.set(id, bitmap);
      this.bytesHeld += bitmapBytes(bitmap);
    }
    // A thumbnail missing from the answer or that did not decode shows an empty tile, as a broken <img> did.
    for (const id of ids) if (this.wanted.delete(id)) this.onFinished(id);
    this.trim();
  }

  private async fetchDecoded(ids: number[]): Promise<{ id: number; bitmap: ImageBitmap }[]> {
    try {
      const response = await fetch(this.url(ids));
      // 204: the project was closed since the request (the grid clears as it hears of it).
      if (!response.ok) return [];
      const thumbnails = unpackThumbnails(new Uint8Array(await response.arrayBuffer()));
      const settled = await Promise.allSettled(
        thumbnails
          .filter(({ id }) => this.wanted.has(id))
          .map(async ({ id, bytes }) => ({ id, bitmap: await decodeThumbnail(bytes) })),
      );
      return settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    } catch {
      return [];
    }
  }

  /** Drops the oldest thumbnails no tile wants until what is kept fits the budget. */
  private trim(): void {
    for (const [id, bitmap] of this.bitmaps) {
      if (this.bytesHeld <= this.budgetBytes) return;
      if (!this.forget(id)) continue;
      this.bitmaps.delete(id);
      this.bytesHeld -= bitmapBytes(bitmap);
      bitmap.close();
    }
  }
}

/**
 * A WebP thumbnail decoded off the main thread: by WebCodecs' ImageDecoder where the browser has it
 * (48 of Fashion-MNIST's in 12 ms in Chromium here, against 56-72 ms for createImageBitmap on a
 * Blob, which goes through the browser's blob store), else by createImageBitmap.
 */
async function decodeThumbnail(bytes: Uint8Array): Promise<ImageBitmap> {
  if (typeof ImageDecoder === 'undefined') return createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/webp' }));
  const decoder = new ImageDecoder({ data: bytes, type: 'image/webp' });
  try {
    const { image } = await decoder.decode();
    try {
      return await createImageBitmap(image);
    } finally {
      image.close();
    }
  } finally {
    decoder.close();
  }
}

function bitmapBytes(bitmap: ImageBitmap): number {
  return bitmap.width * bitmap.height * 4;
}

/** A Svelte action: the canvas shows the bitmap at its own size (CSS scales it). */
export function drawBitmap(canvas: HTMLCanvasElement, bitmap: ImageBitmap) {
  const draw = (next: ImageBitmap) => {
    canvas.width = next.width;
    canvas.height = next.height;
    canvas.getContext('2d')?.drawImage(next, 0, 0);
  };
  draw(bitmap);
  return { update: draw };
}
