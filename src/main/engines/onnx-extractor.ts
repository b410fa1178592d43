/**
 * The onnxruntime engine: runs a native ONNX teacher (feature maps already graph outputs) or a
 * TF.js teacher converted by `tfjs-to-onnx` with its feature layers exposed.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { StudioError, errorMessage } from '../core/errors';
import type { Pooling } from '../core/pooling-spec';
import {
  checkBatch,
  describeLayers,
  poolInJs,
  EngineExtractor,
  type EngineDescription,
  type FeatureExtractor,
  type FeatureLayer,
  type FeatureMap,
} from './feature-extractor';
import { withExactIntegerKernels } from './exact-integers';
import { decodeOnnxModel } from './onnx-inventory';
import { pooledGraph, pooledOutputName } from './onnx-graph';
import { batchShape, imageLength, type PreprocessSpec } from './preprocess';
import type { TeacherSpec } from './teachers';
import { convertTfjsLayersModel } from './tfjs-to-onnx';

export interface OnnxExtractorOptions {
  /** Try the CUDA execution provider first (default true); CPU is the fallback. */
  cuda?: boolean;
  /** Intra-op threads on CPU; default: every core. */
  threads?: number;
}

export async function createOnnxExtractor(
  teacher: TeacherSpec,
  options: OnnxExtractorOptions = {},
): Promise<FeatureExtractor> {
  const converted =
    teacher.format === 'onnx'
      ? teacher.modelPath
      : (await convertTfjsLayersModel(teacher.modelPath, teacher.featureLayers)).onnx;
  const model = await withExactKernels(converted);
  const threads = options.threads ?? availableParallelism();
  const { session, description } = await openSession(model, threads, options.cuda ?? true, teacher.modelPath);
  const shapes = new Map(session.outputMetadata.map((m) => [m.name, m.isTensor ? m.shape : []]));
  let layers: FeatureLayer[];
  try {
    checkInput(session, teacher.preprocess, teacher.modelPath);
    layers = describeLayers(teacher, (name) => {
      const shape = shapes.get(name);
      if (!shape) throw new StudioError('bad_file', `${teacher.modelPath} has no output '${name}'`);
      return shape.slice(1);
    });
  } catch (error) {
    await session.release();
    throw error;
  }
  // A pooled graph's session opens on the backend the maps' session got (CUDA or CPU).
  const openPooled =
    typeof model === 'string'
      ? undefined
      : async (pooling: Pooling) => (await openSession(pooledGraph(decodeOnnxModel(model, teacher.modelPath), layers, pooling), threads, description.backend === 'cuda', teacher.modelPath)).session;
  return new OnnxExtractor(session, openPooled, teacher.preprocess, layers, description);
}

/**
 * The teacher's graph with exact integer kernels (`withExactIntegerKernels`), as bytes; a graph
 * whose weights lie in external files stays a path, which bytes cannot carry: its maps are pooled in JS.
 */
async function withExactKernels(model: string | Uint8Array): Promise<string | Uint8Array> {
  const source = typeof model === 'string' ? model : 'the converted teacher';
  const proto = decodeOnnxModel(typeof model === 'string' ? new Uint8Array(await readFile(model)) : model, source);
  const external = (proto.graph?.initializer ?? []).some((t) => t.dataLocation === onnxProto.onnx.TensorProto.DataLocation.EXTERNAL);
  if (external) return model;
  withExactIntegerKernels(proto);
  return onnxProto.onnx.ModelProto.encode(proto).finish();
}

/**
 * Two kinds of session on one teacher: the graph as it is, for `run`'s maps, and per pooling a
 * graph whose only outputs are that pooling's vectors (`pooledGraph`), opened on first use, for
 * `runPooled`. One graph for both would cost extraction half its speed: onnxruntime runs every
 * node any graph output needs, whatever a run asks for.
 */
class OnnxExtractor extends EngineExtractor {
  private readonly pooledSessions = new Map<Pooling, Promise<ort.InferenceSession>>();

  constructor(
    private readonly session: ort.InferenceSession,
    /** Undefined where the graph cannot be rewritten (external weights): `runPooled` pools in JS. */
    private readonly openPooled: ((pooling: Pooling) => Promise<ort.InferenceSession>) | undefined,
    preprocess: PreprocessSpec,
    layers: readonly FeatureLayer[],
    description: EngineDescription,
  ) {
    super(preprocess, layers, description);
  }

  protected async runChecked(batch: Float32Array, batchSize: number, layerNames: readonly string[]): Promise<Map<string, FeatureMap>> {
    const unknown = layerNames.filter((name) => !this.session.outputNames.includes(name));
    if (unknown.length > 0) {
      throw new StudioError('invalid_input', `No output named ${unknown.join(', ')}; this teacher has ${this.session.outputNames.join(', ')}`);
    }
    return runOutputs(this.session, this.preprocess, batch, batchSize, layerNames);
  }

  /** Only the pooled vectors leave the engine: the pooling's own session computes nothing else. */
  async runPooled(batch: Float32Array, batchSize: number, layers: readonly FeatureLayer[], pooling: Pooling): Promise<Map<string, FeatureMap>> {
    if (!this.openPooled) return poolInJs(this, batch, batchSize, layers, pooling);
    checkBatch(batch, batchSize, imageLength(this.preprocess));
    const unknown = layers.filter((layer) => !this.layers.some((l) => l.name === layer.name));
    if (unknown.length > 0) {
      throw new StudioError('invalid_input', `No feature layer named ${unknown.map((l) => l.name).join(', ')}; this teacher has ${this.layers.map((l) => l.name).join(', ')}`);
    }
    if (layers.length === 0) return new Map();
    const session = await this.pooledSession(pooling);
    const outputs = await runOutputs(session, this.preprocess, batch, batchSize, layers.map((layer) => pooledOutputName(layer.name, pooling)));
    return new Map(layers.map((layer) => [layer.name, outputs.get(pooledOutputName(layer.name, pooling))!]));
  }

  private pooledSession(pooling: Pooling): Promise<ort.InferenceSession> {
    let session = this.pooledSessions.get(pooling);
    if (!session) {
      session = this.openPooled!(pooling);
      this.pooledSessions.set(pooling, session);
      // A failed open is not kept: the next run tries again.
      session.catch(() => this.pooledSessions.delete(pooling));
    }
    return session;
  }

  async dispose(): Promise<void> {
    const pooled = await Promise.allSettled(this.pooledSessions.values());
    this.pooledSessions.clear();
    await Promise.all([this.session, ...pooled.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []))].map((s) => s.release()));
  }
}

/** Runs `session` for these outputs, in runs of one image where the graph's batch is fixed at 1. */
async function runOutputs(
  session: ort.InferenceSession,
  preprocess: PreprocessSpec,
  batch: Float32Array,
  batchSize: number,
  outputNames: readonly string[],
): Promise<Map<string, FeatureMap>> {
  // Asked for nothing (e.g. a pooling none of the layers in use needs): nothing to run.
  if (outputNames.length === 0) return new Map();
  // A graph exported with a fixed batch of 1 runs one image at a time.
  const perRun = session.inputMetadata[0]?.isTensor && session.inputMetadata[0].shape[0] === 1 ? 1 : batchSize;
  const runs: ort.InferenceSession.OnnxValueMapType[] = [];
  const imageLength = batch.length / batchSize;
  for (let start = 0; start < batchSize; start += perRun) {
    const images = batch.subarray(start * imageLength, (start + perRun) * imageLength);
    const input = new ort.Tensor('float32', images, batchShape(perRun, preprocess));
    runs.push(await session.run({ [session.inputNames[0]]: input }, [...outputNames]));
  }
  const maps = new Map<string, FeatureMap>();
  for (const name of outputNames) {
    const tensors = runs.map((results) => results[name]);
    const data = tensors.length === 1 ? (tensors[0].data as Float32Array) : concatenate(tensors.map((t) => t.data as Float32Array));
    maps.set(name, { data, shape: [batchSize, ...tensors[0].dims.slice(1)] });
  }
  return maps;
}

function concatenate(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** A session on CUDA when its provider is installed and loads, else on CPU with the reason kept. */
async function openSession(
  model: string | Uint8Array,
  threads: number,
  tryCuda: boolean,
  source: string,
): Promise<{ session: ort.InferenceSession; description: EngineDescription }> {
  let fallbackReason: string | undefined;
  if (tryCuda) {
    fallbackReason = cudaProviderMissing();
    if (!fallbackReason) {
      try {
        const session = await create(model, { executionProviders: ['cuda'] }, source);
        return { session, description: { engine: 'onnxruntime', backend: 'cuda', device: 'NVIDIA GPU (CUDA)' } };
      } catch (error) {
        fallbackReason = `CUDA failed: ${errorMessage(error).split('\n')[0]}`;
      }
    }
  }
  // No spinning: between runs ONNX Runtime's threads would otherwise busy-wait on the cores that
  // decode the next batch (sharp) and write the cache. bench:extract on 2 cores, end to end:
  // cifar10-mini 85 → 100–102 images/s, omniglot-small1 91 → 88–93 (noise); the raw forward
  // pass alone, run back to back, is what loses (cifar10-mini 160 → 129).
  const extra = { session: { intra_op: { allow_spinning: '0' } } };
  const session = await create(model, { executionProviders: ['cpu'], intraOpNumThreads: threads, extra }, source);
  const device = `CPU, ${threads} thread${threads === 1 ? '' : 's'}`;
  return { session, description: { engine: 'onnxruntime', backend: 'cpu', device, fallbackReason } };
}

async function create(model: string | Uint8Array, options: ort.InferenceSession.SessionOptions, source: string) {
  try {
    // Two calls because create()'s overloads take a path or bytes, not their union.
    return typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  } catch (error) {
    if (options.executionProviders?.[0] === 'cuda') throw error;
    throw new StudioError('bad_file', `onnxruntime cannot load ${source}: ${errorMessage(error).split('\n')[0]}`);
  }
}

/**
 * onnxruntime-node ships CPU only; its install script fetches the CUDA provider, which this project
 * skips (no network at install). Checking for the library first avoids onnxruntime's own red
 * error log on every machine without it.
 */
export function cudaProviderMissing(): string | undefined {
  if (process.platform !== 'linux' && process.platform !== 'win32') return `no CUDA on ${process.platform}`;
  const packageDist = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
  const binding = join(packageDist, '..', 'bin', 'napi-v6', process.platform, process.arch);
  const library = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  if (!existsSync(join(binding, library))) {
    return (
      `the CUDA provider (${library}) is not installed; ` +
      "onnxruntime-node's install script fetches it (--onnxruntime-node-install=cuda12)"
    );
  }
  return undefined;
}

/** Catches a teacher whose declared preprocessing disagrees with the model's input. */
function checkInput(session: ort.InferenceSession, spec: PreprocessSpec, source: string): void {
  const meta = session.inputMetadata[0];
  if (session.inputNames.length !== 1 || !meta?.isTensor) {
    throw new StudioError('bad_file', `${source} must have exactly one image input, has ${session.inputNames.join(', ')}`);
  }
  const expected = batchShape(1, spec).slice(1);
  const actual = meta.shape.slice(1);
  if (actual.some((d, i) => typeof d === 'number' && d !== expected[i]) || actual.length !== 3) {
    throw new StudioError(
      'bad_file',
      `${source} takes [${meta.shape.join(',')}] but its preprocessing gives [N,${expected.join(',')}] (${spec.layout})`,
    );
  }
}
