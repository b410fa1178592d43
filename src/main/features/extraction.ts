/**
 * Extraction: images in, pooled vectors in the cache out. Batched (one engine run per batch, the
 * engine pooling in its graph where it can), with the next batches being prepared (on worker
 * threads for many images: `image-preparer.ts`; into batch buffers allocated once and reused, so
 * that no image's tensor is allocated) and the previous batch's vectors being written
 * while the current one runs, progress after each batch, cancel
 * between batches (and inside one, on an engine that runs it in parts: the cut batch is dropped
 * whole), and resume for free: images whose vectors are cached are skipped. An image
 * that cannot be read or decoded is marked failed and the batch goes on without it.
 */
import { runPooled, RunCancelled, type FeatureExtractor, type FeatureLayer, type FeatureMap } from '../engines/feature-extractor';
import { imageLength, type PreprocessSpec } from '../engines/preprocess';
import { batchBuffer, createImagePreparer, preparedTensor, preparerThreads, type ImagePreparer } from './image-preparer';
import type { CachedVector, FeatureCache } from './feature-cache';
import type { Pooling } from '../core/pooling-spec';

export interface ExtractionImage {
  sha256: string;
  path: string;
}

export interface ExtractionProgress {
  total: number;
  cached: number;
  done: number;
  failed: number;
  elapsedSeconds: number;
}

export interface ExtractionReport extends ExtractionProgress {
  computed: number;
  failures: { path: string; reason: string }[];
  cancelled: boolean;
  imagesPerSecond: number;
}

export interface ExtractionOptions {
  extractor: FeatureExtractor;
  cache: FeatureCache;
  teacherKey: string;
  layers: readonly FeatureLayer[];
  pooling: Pooling;
  images: ExtractionImage[];
  /** Images per engine run; 8 keeps all-layer MobileNet maps (~10 MB an image) in cache-friendly sizes. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ExtractionProgress) => void;
  /** Worker threads that prepare the images (default `preparerThreads`: none for a few images). */
  preparerThreads?: number;
}

/** Batches decoded ahead of the engine: two keep it fed when one batch decodes slower than it runs. */
const DECODE_AHEAD = 2;

interface Prepared {
  images: ExtractionImage[];
  /** Views of the batch's buffer, which the next batch but one is prepared into. */
  tensors: Float32Array[];
  failures: { image: ExtractionImage; reason: string }[];
}

export async function extractFeatures(options: ExtractionOptions): Promise<ExtractionReport> {
  const started = performance.now();
  const { extractor, cache, teacherKey, layers, pooling } = options;
  const layerNames = layers.map((l) => l.name);
  const unique = [...new Map(options.images.map((i) => [i.sha256, i])).values()];
  const missing = new Set(cache.missing(unique.map((i) => i.sha256), teacherKey, layerNames, pooling));
  const todo = unique.filter((i) => missing.has(i.sha256));
  const batchSize = options.batchSize ?? 8;
  const progress: ExtractionProgress = { total: unique.length, cached: unique.length - todo.length, done: 0, failed: 0, elapsedSeconds: 0 };
  const failures: { path: string; reason: string }[] = [];
  const report = () => ({ ...progress, elapsedSeconds: (performance.now() - started) / 1000 });
  options.onProgress?.(report());

  const batches = Array.from({ length: Math.ceil(todo.length / batchSize) }, (_, i) => todo.slice(i * batchSize, (i + 1) * batchSize));
  // Preparing (read, decode, resize, normalize: on worker threads for many images) runs DECODE_AHEAD batches ahead of the engine.
  const spec = extractor.preprocess;
  const preparer = createImagePreparer(spec, options.preparerThreads ?? preparerThreads(todo.length));
  // Batch j is prepared into buffers[j % DECODE_AHEAD] and copied out into `input` before batch j + DECODE_AHEAD starts there.
  const buffers = Array.from({ length: Math.min(DECODE_AHEAD, batches.length) }, () => batchBuffer(spec, batchSize));
  // The engine's input: a copy, as onnxruntime-node takes no shared memory; one array, as runs follow one another.
  const input = new Float32Array(batchSize * imageLength(spec));
  const decoding: Promise<Prepared>[] = [];
  let decoded = 0;
  const decodeAhead = () => {
    while (decoding.length < DECODE_AHEAD && decoded < batches.length && !options.signal?.aborted) {
      decoding.push(prepare(batches[decoded], preparer, buffers[decoded % DECODE_AHEAD], spec));
      decoded++;
    }
  };
  // A batch's vectors are written while the engine runs the next batch (one transaction per batch).
  let unwritten: CachedVector[] = [];
  const write = () => {
    if (unwritten.length > 0) cache.put(teacherKey, pooling, unwritten);
    unwritten = [];
  };
  try {
    for (let b = 0; b < batches.length; b++) {
      decodeAhead();
      const prepared = await decoding.shift()!;
      const batch = input.subarray(0, prepared.images.length * imageLength(spec));
      prepared.tensors.forEach((tensor, i) => batch.set(tensor, i * tensor.length));
      decodeAhead();
      for (const { image, reason } of prepared.failures) {
        cache.markFailed(image.sha256, teacherKey, reason);
        failures.push({ path: image.path, reason });
      }
      if (prepared.images.length > 0) {
        const running = runPooled(extractor, batch, prepared.images.length, layers, pooling, options.signal);
        write();
        const pooled = await running.catch((error: unknown) => {
          // Cancelled inside the batch: none of its vectors exist, so none are written or counted.
          if (error instanceof RunCancelled && options.signal?.aborted) return null;
          throw error;
        });
        if (pooled) {
          unwritten = cachedRows(prepared.images, layers, pooled);
          progress.done += prepared.images.length;
        }
      }
      progress.done += prepared.failures.length;
      progress.failed += prepared.failures.length;
      if (options.signal?.aborted || b === batches.length - 1) write();
      options.onProgress?.(report());
      if (options.signal?.aborted) break;
    }
  } finally {
    write();
    await Promise.all(decoding.map((d) => d.catch(() => undefined)));
    await preparer.close();
  }
  const final = report();
  const computed = final.done - final.failed;
  return {
    ...final,
    computed,
    failures,
    cancelled: Boolean(options.signal?.aborted) && final.done < todo.length,
    imagesPerSecond: final.elapsedSeconds > 0 ? computed / final.elapsedSeconds : 0,
  };
}

/** The rows of a batch's pooled vectors, each a view of its layer's [N, D] map. */
function cachedRows(images: ExtractionImage[], layers: readonly FeatureLayer[], pooled: Map<string, FeatureMap>): CachedVector[] {
  return layers.flatMap((layer) => {
    const { data, shape } = pooled.get(layer.name)!;
    const d = shape[1];
    return images.map((image, i) => ({ imageSha256: image.sha256, layer: layer.name, vector: data.subarray(i * d, (i + 1) * d) }));
  });
}

async function prepare(images: ExtractionImage[], preparer: ImagePreparer, into: Float32Array, spec: PreprocessSpec): Promise<Prepared> {
  const results = await preparer.prepare(images.map((image) => image.path), into);
  const prepared: Prepared = { images: [], tensors: [], failures: [] };
  results.forEach((result, i) => {
    if ('prepared' in result) {
      prepared.images.push(images[i]);
      prepared.tensors.push(preparedTensor(into, spec, i));
    } else {
      prepared.failures.push({ image: images[i], reason: result.reason });
    }
  });
  return prepared;
}
