/**
 * Image files → a teacher's input tensors (read, decode, crop, resize, normalize), for extraction,
 * on worker threads when there are many. Why threads: ONNX Runtime's `run` in onnxruntime-node
 * holds the calling thread for the whole forward pass, so preprocessing on that thread runs in
 * series with it; sharp's decode already runs on libuv's threads, but the resize and normalize
 * (`preprocessPixels`, JavaScript) do not. A CPU profile of extraction (omniglot-small1, MobileNet
 * v1, 2 cores) had this thread 66 % in `run` and 13 % in the resize and normalize. On worker
 * threads they overlap with the forward pass; on GPU engines the cores are free for them. On this
 * 2-core machine, where ONNX Runtime's own threads already use both cores, the gain is small and
 * noisy (bench:extract end to end, 4 runs each: see the commit). A failed thread hands its work
 * back to this one, which prepares the rest itself.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { errorMessage, StudioError } from '../core/errors';
import { imageLength, preprocessImage, type PreprocessSpec } from '../engines/preprocess';
import { workerEntry } from '../services/worker-entry';

/** One image: its tensor was written at its place in the batch, or why it could not be. */
export type PreparedImage = { prepared: true } | { reason: string };

export interface ImagePreparer {
  /**
   * Prepares the images at `paths` into `into` (a `batchBuffer`), image i at i × `imageLength`,
   * and says per image whether it could. The threads write there directly: no image's tensor is
   * allocated, copied or moved between threads. Never rejects for a bad image: that image gets a reason.
   */
  prepare(paths: readonly string[], into: Float32Array): Promise<PreparedImage[]>;
  /** Settles once every thread has started or failed to start: how many started (0 without threads). */
  readonly started: Promise<number>;
  /** Done with its threads: idle ones are kept a while for the next preparer (`IDLE_THREAD_MS`); pending work finishes on this thread. */
  close(): Promise<void>;
}

/**
 * Fewer images than this are prepared on this thread: starting a thread (loading sharp, and from
 * source the TypeScript loader) takes a few hundred milliseconds, the preprocessing of ~100 images.
 */
export const THREAD_MIN_IMAGES = 128;

/** Worker threads for `images` images: none for few; else one per core left beside the engine's thread, at most 4. */
export function preparerThreads(images: number, cores = availableParallelism()): number {
  return images < THREAD_MIN_IMAGES ? 0 : Math.min(4, Math.max(1, cores - 1));
}

/** A preparer on `threads` worker threads (0: on this thread). */
export function createImagePreparer(spec: PreprocessSpec, threads: number): ImagePreparer {
  return threads > 0 ? new ThreadPreparer(spec, threads) : { prepare: (paths, into) => prepareImages(paths, spec, into), started: Promise.resolve(0), close: async () => undefined };
}

/**
 * Room for `batchSize` images prepared per `spec`, in memory every thread shares. Allocated once
 * per batch in flight and reused: fresh tensors of 600 kB an image (MobileNet) kept V8's collector
 * and the allocator at ~7 % of extraction's CPU; reusing buffers saved 0.9 core-ms an image (A/B,
 * omniglot-small1, 2 cores, 1,200 images).
 */
export function batchBuffer(spec: PreprocessSpec, batchSize: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(batchSize * imageLength(spec) * Float32Array.BYTES_PER_ELEMENT));
}

/** Image `index`'s tensor in a batch buffer filled by `prepare`. */
export function preparedTensor(into: Float32Array, spec: PreprocessSpec, index: number): Float32Array {
  const length = imageLength(spec);
  return into.subarray(index * length, (index + 1) * length);
}

/** What a worker thread runs: every image of a batch at once (sharp decodes them on libuv's threads). */
export async function prepareImages(paths: readonly string[], spec: PreprocessSpec, into: Float32Array): Promise<PreparedImage[]> {
  checkRoom(paths, spec, into);
  return Promise.all(paths.map((path, i) => prepareImage(path, spec, preparedTensor(into, spec, i))));
}

function checkRoom(paths: readonly string[], spec: PreprocessSpec, into: Float32Array): void {
  if (into.length < paths.length * imageLength(spec)) {
    throw new StudioError('internal', `A batch buffer of ${into.length} values cannot hold ${paths.length} images of ${imageLength(spec)}`);
  }
}

async function prepareImage(path: string, spec: PreprocessSpec, into: Float32Array): Promise<PreparedImage> {
  try {
    await preprocessImage(await readFile(path), spec, into);
    return { prepared: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { reason: code === 'ENOENT' ? 'The original file was moved or deleted' : `Cannot decode: ${errorMessage(error)}` };
  }
}

export interface PrepareRequest {
  id: number;
  paths: readonly string[];
  /** Per request, so that a thread serves any teacher: threads outlive the extraction that started them. */
  spec: PreprocessSpec;
  /** A `batchBuffer`: shared memory, which the thread writes into. */
  into: Float32Array;
}
export interface PrepareReply {
  id: number;
  images: PreparedImage[];
}
/** What a thread sends: once that it is ready (its modules loaded), then a reply per request. */
export type PreparerMessage = { ready: true } | PrepareReply;

interface Pending {
  paths: readonly string[];
  into: Float32Array;
  resolve: (images: PreparedImage[]) => void;
}

interface PreparerThread {
  worker: Worker;
  pending: Map<number, Pending>;
  ready: boolean;
  /** Settles `started`'s part for this thread: true once ready, false if it stopped first. */
  settle: (started: boolean) => void;
  /** This preparer's listeners on the worker, taken off when the thread is parked for the next extraction. */
  detach: () => void;
}

/**
 * How long a thread an extraction has finished with waits for the next one before it ends. Starting
 * a thread costs ~0.25 core-s bundled (a V8 isolate, sharp), 0.6–0.85 from source (tsx too): 3 % and
 * 7–9 % of the CPU of a 500-image extraction on 2 cores. Extractions often follow one another
 * (several teachers, a bench), and an idle thread holds only memory.
 */
export const IDLE_THREAD_MS = 60_000;

/** Ready threads no extraction is using, unreferenced (they keep no process alive), each with what ends it (its timer, its crash). */
const idleThreads = new Map<Worker, { timer: NodeJS.Timeout; end: () => void }>();

/** A parked thread for a new preparer, if any. */
function takeIdleThread(): Worker | undefined {
  const [first] = idleThreads;
  if (!first) return undefined;
  const [worker, { timer, end }] = first;
  clearTimeout(timer);
  idleThreads.delete(worker);
  worker.off('error', end).off('exit', end).ref();
  return worker;
}

function parkThread(worker: Worker): void {
  const end = () => {
    clearTimeout(idleThreads.get(worker)?.timer);
    idleThreads.delete(worker);
    void worker.terminate();
  };
  // An 'error' event without a listener would throw in this thread.
  worker.on('error', end).on('exit', end).unref();
  idleThreads.set(worker, { timer: setTimeout(end, IDLE_THREAD_MS).unref(), end });
}

/** Ends the parked threads now (tests; a host that shuts down need not: they keep no process alive). */
export async function endIdleThreads(): Promise<void> {
  const workers = [...idleThreads.keys()];
  for (const { timer } of idleThreads.values()) clearTimeout(timer);
  idleThreads.clear();
  await Promise.all(workers.map((w) => w.terminate()));
}

/**
 * Requests dealt round-robin to the threads that are ready; until one is (starting a thread takes
 * 0.1–0.6 s: sharp, and from source the TypeScript loader), this thread prepares them, so the
 * engine's first batches do not wait. Threads an earlier preparer parked (`IDLE_THREAD_MS`) are
 * taken first, ready at once. A thread that fails hands its pending requests back to this thread.
 */
class ThreadPreparer implements ImagePreparer {
  private readonly threads: PreparerThread[] = [];
  private next = 0;
  private ids = 0;
  readonly started: Promise<number>;

  constructor(private readonly spec: PreprocessSpec, count: number) {
    const entry = workerEntry(import.meta.url, 'image-preparer-worker');
    const settled: Promise<boolean>[] = [];
    for (let t = 0; t < count; t++) {
      const parked = takeIdleThread();
      const worker = parked ?? new Worker(entry.url, { workerData: entry.workerData });
      let settle: (started: boolean) => void = () => undefined;
      settled.push(new Promise((resolve) => (settle = resolve)));
      const onMessage = (message: PreparerMessage) => {
        if ('ready' in message) {
          thread.ready = true;
          thread.settle(true);
          return;
        }
        thread.pending.get(message.id)?.resolve(message.images);
        thread.pending.delete(message.id);
      };
      const fail = () => this.dropThread(thread);
      worker.on('message', onMessage).on('error', fail).on('exit', fail);
      const detach = () => worker.off('message', onMessage).off('error', fail).off('exit', fail);
      const thread: PreparerThread = { worker, pending: new Map(), ready: Boolean(parked), settle, detach };
      if (parked) settle(true);
      this.threads.push(thread);
    }
    this.started = Promise.all(settled).then((started) => started.filter(Boolean).length);
  }

  async prepare(paths: readonly string[], into: Float32Array): Promise<PreparedImage[]> {
    // Checked before a thread is ready too, so that a caller's mistake shows on its first batch.
    if (!(into.buffer instanceof SharedArrayBuffer)) throw new StudioError('internal', 'Worker threads prepare into shared memory: pass a batchBuffer');
    const ready = this.threads.filter((t) => t.ready);
    if (ready.length === 0) return prepareImages(paths, this.spec, into);
    checkRoom(paths, this.spec, into);
    const thread = ready[this.next++ % ready.length];
    const id = this.ids++;
    return new Promise((resolve) => {
      thread.pending.set(id, { paths, into, resolve });
      thread.worker.postMessage({ id, paths, spec: this.spec, into } satisfies PrepareRequest);
    });
  }

  /** Parks the threads that are ready and idle for the next preparer; ends the others, after handing back their work. */
  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    const ending: Worker[] = [];
    for (const thread of threads) {
      if (thread.ready && thread.pending.size === 0) {
        thread.detach();
        parkThread(thread.worker);
      } else {
        // Still listened to: an error while it ends must not go unheard (it would throw here).
        this.handBack(thread);
        ending.push(thread.worker);
      }
    }
    await Promise.all(ending.map((w) => w.terminate()));
  }

  /** A thread that errs or stops (after `close` too: then it is no longer listed): its pending images are prepared here, and it gets no more. */
  private dropThread(thread: PreparerThread): void {
    const at = this.threads.indexOf(thread);
    if (at < 0) return;
    this.threads.splice(at, 1);
    this.handBack(thread);
  }

  private handBack(thread: PreparerThread): void {
    thread.settle(false);
    for (const { paths, into, resolve } of thread.pending.values()) void prepareImages(paths, this.spec, into).then(resolve);
    thread.pending.clear();
  }
}
