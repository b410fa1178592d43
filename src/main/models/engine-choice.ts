/**
 * Engine choice, in one place: which engine runs a teacher (never silently slow: the choice and
 * the reason for any fallback travel with it), and which one checks a teacher's files on import.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import type { EngineDescription, FeatureExtractor } from '../engines/feature-extractor';
import { createOnnxExtractor } from '../engines/onnx-extractor';
import type { TeacherSpec } from '../engines/teachers';
import { errorMessage, StudioError } from '../core/errors';

export async function createExtractor(spec: TeacherSpec): Promise<FeatureExtractor> {
  // Graph models run as shipped: TF.js only (no ONNX conversion for GraphDefs).
  if (spec.format === 'tfjs-graph') return createTfjsEngine(spec);
  // TF.js teachers use libtensorflow's GPU build when it is installed; otherwise ONNX Runtime is
  // the fast CPU (or CUDA) route, and TF.js's WebAssembly backend the last resort.
  if (spec.format === 'tfjs-layers' && installed('@tensorflow/tfjs-node-gpu')) return createTfjsEngine(spec);
  try {
    return await createOnnxExtractor(spec);
  } catch (error) {
    if (spec.format !== 'tfjs-layers' || error instanceof StudioError) throw error;
    const fallback = await createTfjsEngine(spec);
    const description = fallback.describe();
    fallback.describe = (): EngineDescription => ({
      ...description,
      fallbackReason: `ONNX Runtime failed: ${errorMessage(error)}${description.fallbackReason ? `; ${description.fallbackReason}` : ''}`,
    });
    return fallback;
  }
}

/**
 * A TF.js engine for a layers or graph model. libtensorflow computes on every core by itself; the
 * WebAssembly backend uses one thread, so there a pool of worker threads (one per core) runs it.
 */
async function createTfjsEngine(spec: TeacherSpec): Promise<FeatureExtractor> {
  const { tfjsBackend, createTfjsExtractor } = await import('../engines/tfjs-extractor');
  const backend = await tfjsBackend();
  if (backend.backend === 'wasm' && availableParallelism() > 1) {
    const { createTfjsWorkerPool } = await import('../engines/tfjs-worker-pool');
    return createTfjsWorkerPool(spec);
  }
  if (spec.format === 'tfjs-graph') {
    const { createTfjsGraphExtractor } = await import('../engines/tfjs-graph-extractor');
    return createTfjsGraphExtractor(spec);
  }
  return createTfjsExtractor(spec);
}

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens the teacher in the engine that will run it and closes it again: reads every weight and
 * checks every declared layer, so errors name the file. A small session (CPU, one thread) is enough.
 */
export async function checkTeacherLoads(spec: TeacherSpec): Promise<void> {
  if (spec.format === 'tfjs-graph') {
    const { createTfjsGraphExtractor } = await import('../engines/tfjs-graph-extractor');
    await (await createTfjsGraphExtractor(spec)).dispose();
  } else {
    await (await createOnnxExtractor(spec, { cuda: false, threads: 1 })).dispose();
  }
}
