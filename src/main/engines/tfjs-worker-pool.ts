/**
 * TF.js on WebAssembly, on every core: the wasm backend computes on one thread, so this extractor
 * keeps a pool of worker threads (one per core by default), each with its own backend and its own
 * copy of the teacher, and splits every batch across them. Same `FeatureExtractor` as the others.
 *
 * The worker is tfjs-worker.ts beside this module, found by `workerEntry` from source or bundle.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { StudioError } from '../core/errors';
import { workerEntry } from '../services/worker-entry';
import { checkBatch, type EngineDescription, type FeatureExtractor, type FeatureLayer, type FeatureMap } from './feature-extractor';
import { imageLength, type PreprocessSpec } from './preprocess';
import type { TeacherSpec } from './teachers';
import type { WireError, WorkerReply, WorkerRequest } from './tfjs-worker-protocol';

export interface WorkerPoolOptions {
  /** Worker threads; default: `availableParallelism()`. */
  workers?: number;
}

type Outputs = NonNullable<Extract<WorkerReply, { type: 'result' }>['outputs']>;

/** Starts one worker (which loads the teacher, so load errors surface here) and returns the pool. */
export async function createTfjsWorkerPool(teacher: TeacherSpec, options: WorkerPoolOptions = {}): Promise<TfjsWorkerPool> {
  if (teacher.format !== 'tfjs-layers' && teacher.format !== 'tfjs-graph') {
    throw new StudioError('invalid_input', `${teacher.name} is an ${teacher.format} model; the TF.js engine runs TF.js models`);
  }
  const size = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  const first = new PoolWorker(teacher, 0);
  let ready: Ready;
  try {
    ready = await first.ready;
  } catch (error) {
    await first.terminate();
    throw error;
  }
  return new TfjsWorkerPool(teacher, size, first, ready);
}

interface Ready {
  layers: FeatureLayer[];
  description: EngineDescription;
}

export class TfjsWorkerPool implements FeatureExtractor {
  readonly preprocess: PreprocessSpec;
  readonly layers: readonly FeatureLayer[];
  private readonly slots: Array<PoolWorker | undefined>;
  private readonly description: EngineDescription;
  private disposed = false;

  constructor(
    private readonly teacher: TeacherSpec,
    readonly size: number,
    first: PoolWorker,
    ready: Ready,
  ) {
    this.preprocess = teacher.preprocess;
    this.layers = ready.layers;
    this.slots = Array.from({ length: size }, (_, i) => (i === 0 ? first : undefined));
    const base = ready.description;
    const device = `${base.device.replace(/, 1 thread$/, '')}, ${size} worker thread${size === 1 ? '' : 's'}`;
    this.description = { ...base, device };
  }

  describe(): EngineDescription {
    return { ...this.description };
  }

  async run(batch: Float32Array, batchSize: number, layerNames: readonly string[]): Promise<Map<string, FeatureMap>> {
    if (this.disposed) throw new StudioError('internal', 'The TF.js worker pool was disposed');
    const length = imageLength(this.preprocess);
    checkBatch(batch, batchSize, length);
    // Even parts, in order: the first `extra` workers take one image more.
    const parts = Math.min(batchSize, this.size);
    const base = Math.floor(batchSize / parts);
    const extra = batchSize % parts;
    const jobs: Array<Promise<Outputs>> = [];
    let start = 0;
    for (let i = 0; i < parts; i++) {
      const n = base + (i < extra ? 1 : 0);
      // One copy of the caller's input per part (the caller keeps its array), then transferred.
      const slice = batch.slice(start * length, (start + n) * length);
      start += n;
      jobs.push(this.worker(i).run(slice, n, [...layerNames]));
    }
    const results = await Promise.all(jobs);
    const maps = new Map<string, FeatureMap>();
    for (const [k, name] of layerNames.entries()) {
      const pieces = results.map((r) => r[k]);
      if (pieces.some((p) => p?.name !== name)) throw new StudioError('internal', `A TF.js worker did not return '${name}'`);
      if (pieces.length === 1) {
        maps.set(name, { data: pieces[0].data, shape: pieces[0].shape });
        continue;
      }
      const data = new Float32Array(pieces.reduce((sum, p) => sum + p.data.length, 0));
      let offset = 0;
      for (const p of pieces) {
        data.set(p.data, offset);
        offset += p.data.length;
      }
      const shape = [...pieces[0].shape];
      shape[0] = pieces.reduce((sum, p) => sum + p.shape[0], 0);
      maps.set(name, { data, shape });
    }
    return maps;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    const live = this.slots.filter((w): w is PoolWorker => w !== undefined);
    this.slots.fill(undefined);
    await Promise.all(live.map((w) => w.terminate()));
  }

  /** Worker threads started and not yet exited. */
  liveWorkers(): number {
    return this.slots.filter((w) => w !== undefined && !w.exited).length;
  }

  /** Tests only: makes worker `index` die of an uncaught error. */
  crashWorkerForTest(index: number): void {
    this.slots[index]?.post({ type: 'crash' });
  }

  /** The worker in slot `index`, started on first use, or afresh after a crash. */
  private worker(index: number): PoolWorker {
    let worker = this.slots[index];
    if (!worker || worker.dead) {
      if (worker) void worker.terminate();
      worker = new PoolWorker(this.teacher, index);
      this.slots[index] = worker;
    }
    return worker;
  }
}

/** One worker thread and the requests waiting on it. */
class PoolWorker {
  readonly ready: Promise<Ready>;
  exited = false;
  private readonly thread: Worker;
  private readonly pending = new Map<number, { resolve: (outputs: Outputs) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private settleReady!: { resolve: (ready: Ready) => void; reject: (error: Error) => void };
  private failure?: Error;
  private terminating = false;

  /** Crashed, failed to load, or exited: the pool starts another in its place. */
  get dead(): boolean {
    return this.exited || this.failure !== undefined;
  }

  constructor(teacher: TeacherSpec, private readonly index: number) {
    this.ready = new Promise<Ready>((resolve, reject) => {
      this.settleReady = { resolve, reject };
    });
    this.ready.catch(() => undefined); // surfaced through run() or createTfjsWorkerPool
    const entry = workerEntry(import.meta.url, 'tfjs-worker');
    this.thread = new Worker(entry.url, { workerData: { ...entry.workerData, spec: teacher } });
    this.thread.on('message', (reply: WorkerReply) => this.receive(reply));
    this.thread.on('error', (error) => this.fail(`crashed: ${error.message}`));
    this.thread.on('exit', (code) => {
      this.exited = true;
      this.fail(this.terminating ? 'was stopped' : `exited unexpectedly (code ${code})`);
    });
  }

  async run(batch: Float32Array, batchSize: number, layerNames: string[]): Promise<Outputs> {
    await this.ready;
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    const done = new Promise<Outputs>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.thread.ref(); // keep the process alive while work is in flight
    this.post({ type: 'run', id, batch, batchSize, layerNames }, [batch.buffer as ArrayBuffer]);
    return done;
  }

  post(request: WorkerRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.exited) this.thread.postMessage(request, transfer);
  }

  async terminate(): Promise<void> {
    this.terminating = true;
    if (!this.exited) await this.thread.terminate();
  }

  private receive(reply: WorkerReply): void {
    if (reply.type === 'ready') {
      this.settleReady.resolve({ layers: reply.layers, description: reply.description });
      this.idle();
    } else if (reply.type === 'failed') {
      this.fail(`could not load the teacher: ${reply.error.message}`, reply.error);
      void this.terminate();
    } else {
      const request = this.pending.get(reply.id);
      if (!request) return;
      this.pending.delete(reply.id);
      if (reply.error) request.reject(new StudioError(reply.error.code, reply.error.message));
      else request.resolve(reply.outputs ?? []);
      this.idle();
    }
  }

  /** Rejects everything waiting on this worker; the pool starts a new one on the next run. */
  private fail(why: string, cause?: WireError): void {
    if (!this.failure) {
      this.failure = cause && !why.startsWith('crashed')
        ? new StudioError(cause.code, `TF.js worker thread ${this.index + 1} ${why}`)
        : new StudioError('internal', `TF.js worker thread ${this.index + 1} ${why}`);
    }
    this.settleReady.reject(this.failure);
    for (const request of this.pending.values()) request.reject(this.failure);
    this.pending.clear();
  }

  /** An idle worker must not keep the process alive (the single-thread engines do not either). */
  private idle(): void {
    if (this.pending.size === 0 && !this.exited) this.thread.unref();
  }
}
