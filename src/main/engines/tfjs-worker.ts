/**
 * One thread of the TF.js worker pool (tfjs-worker-pool.ts): loads the teacher on its own TF.js
 * backend (WebAssembly, single-threaded, so several of these run side by side), reports its layers
 * and engine, then runs the batches it is sent, one at a time. Feature maps go back as transferred
 * buffers, not copies.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage, StudioError } from '../core/errors';
import type { FeatureExtractor } from './feature-extractor';
import type { TeacherSpec } from './teachers';
import type { WorkerReply, WorkerRequest } from './tfjs-worker-protocol';

const port = parentPort;
if (!port) throw new Error('tfjs-worker runs as a worker thread of the TF.js worker pool');

const { spec } = workerData as { spec: TeacherSpec };

let extractor: FeatureExtractor | undefined;
try {
  if (spec.format === 'tfjs-graph') {
    const { createTfjsGraphExtractor } = await import('./tfjs-graph-extractor');
    extractor = await createTfjsGraphExtractor(spec);
  } else {
    const { createTfjsExtractor } = await import('./tfjs-extractor');
    extractor = await createTfjsExtractor(spec);
  }
  reply({ type: 'ready', layers: [...extractor.layers], description: extractor.describe() });
} catch (error) {
  reply({ type: 'failed', error: wireError(error) });
}

// One batch at a time: TF.js keeps one backend per thread.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: WorkerRequest) => {
  if (request.type === 'crash') {
    // For the tests: an uncaught error, as a real crash would be.
    throw new Error('simulated TF.js worker crash');
  }
  queue = queue.then(() => run(request));
});

async function run(request: Extract<WorkerRequest, { type: 'run' }>): Promise<void> {
  if (!extractor) {
    reply({ type: 'result', id: request.id, error: { code: 'internal', message: 'the teacher did not load in this worker' } });
    return;
  }
  try {
    const maps = await extractor.run(request.batch, request.batchSize, request.layerNames);
    const outputs: Array<{ name: string; data: Float32Array; shape: number[] }> = [];
    const transfer = new Set<ArrayBuffer>();
    for (const [name, map] of maps) {
      // Only a buffer this array owns whole can be transferred (never wasm memory or a shared one).
      let data = map.data;
      const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
      if (!owned || transfer.has(data.buffer as ArrayBuffer)) data = data.slice();
      transfer.add(data.buffer as ArrayBuffer);
      outputs.push({ name, data, shape: map.shape });
    }
    reply({ type: 'result', id: request.id, outputs }, [...transfer]);
  } catch (error) {
    reply({ type: 'result', id: request.id, error: wireError(error) });
  }
}

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function wireError(error: unknown): { code: StudioError['code']; message: string } {
  return { code: error instanceof StudioError ? error.code : 'internal', message: errorMessage(error) };
}
