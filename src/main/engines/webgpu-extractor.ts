/**
 * The WebGPU engine: TF.js on Dawn's WebGPU (webgpu-device.ts), so any GPU with a Vulkan, Metal or
 * D3D12 driver computes without a CUDA install. Every teacher reaches it as one TF.js graph model:
 * an ONNX teacher through the ONNX → TF.js converter the export uses, a TF.js layers teacher first
 * through `tfjs-to-onnx` (the route ONNX Runtime takes), so both engines run the same graph and the
 * graph's outputs keep ONNX's layout (maps NCHW, as every extractor returns them).
 *
 * Batches are cut to the adapter's buffer limits; pooling runs on the GPU (`runPooled`) so only
 * vectors are read back. A run's signal is checked between those parts, so a cancel waits for one
 * part, not a whole large batch (which a slow or software adapter can take minutes over). A lost
 * device fails the run with `WebgpuDeviceLost`, which the engine choice answers by moving the rest
 * of the job to the CPU engine.
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModelSync, type GraphModel } from '@tensorflow/tfjs-converter';
import { StudioError, errorMessage } from '../core/errors';
import { cellBounds } from '../core/pooling';
import { spatialGrid, type Pooling } from '../core/pooling-spec';
import { convertOnnxToTfjsGraph, type ConvertedGraphModel } from '../export/onnx-to-tfjs';
import { describeLayers, EngineExtractor, RunCancelled, type FeatureLayer, type FeatureMap } from './feature-extractor';
import { batchShape, imageLength, type PreprocessSpec } from './preprocess';
import type { TeacherSpec } from './teachers';
import { convertTfjsLayersModel } from './tfjs-to-onnx';
import { adapterLabel, onWebgpu, webgpuBackend, type AdapterDescription, type AdapterLimits, type WebgpuBackendState } from './webgpu-device';

/** A run that failed because the GPU's device is gone (driver reset, unplugged, destroyed). */
export class WebgpuDeviceLost extends StudioError {
  constructor(why: string) {
    super('io', `WebGPU failed: ${why}`);
  }
}

export interface WebgpuExtractorOptions {
  /** Run on a software adapter (SwiftShader…) when no hardware one exists: only when forced. */
  allowSoftware?: boolean;
  /** At most this many images a run, below what the adapter's limits allow (default 64). */
  mostImagesPerRun?: number;
}

export async function createWebgpuExtractor(teacher: TeacherSpec, options: WebgpuExtractorOptions = {}): Promise<WebgpuExtractor> {
  if (teacher.format === 'tfjs-graph') {
    throw new StudioError('invalid_input', `${teacher.name} is a TF.js graph model; the WebGPU engine runs ONNX and TF.js layers teachers`);
  }
  const state = await webgpuBackend(options.allowSoftware ?? false);
  const onnx =
    teacher.format === 'onnx' ? new Uint8Array(await readFile(teacher.modelPath)) : (await convertTfjsLayersModel(teacher.modelPath, teacher.featureLayers)).onnx;
  const converted = convertOnnxToTfjsGraph(onnx, { source: teacher.modelPath });
  const outputs = new Map(converted.outputs.map((o) => [o.onnx, o.shape]));
  const layers = describeLayers(teacher, (name) => {
    const shape = outputs.get(name);
    if (!shape) throw new StudioError('bad_file', `${teacher.modelPath} has no output '${name}'`);
    return shape.slice(1);
  });
  checkInput(converted, teacher.preprocess, teacher.modelPath);
  const model = onWebgpu(() => loadConverted(converted, teacher.modelPath));
  const maxImages = imagesPerRun(state.limits, [imageLength(teacher.preprocess), ...converted.outputs.map((o) => elementCount(o.shape.slice(1)))], options.mostImagesPerRun);
  return new WebgpuExtractor(model, teacher.preprocess, layers, state, maxImages, [...outputs.keys()]);
}

function loadConverted(converted: ConvertedGraphModel, source: string): GraphModel<tf.io.IOHandlerSync> {
  const json = converted.modelJson as { modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }>; format: string; signature: object };
  const weights = converted.weights;
  try {
    return loadGraphModelSync({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
      format: json.format,
      signature: json.signature,
    });
  } catch (error) {
    throw new StudioError('bad_file', `TF.js cannot load ${source} converted for WebGPU: ${errorMessage(error)}`);
  }
}

/**
 * How many images one run may take: the largest tensor of a run (input or output map, per image
 * `valuesPerImage`, float32) must fit one storage binding and one buffer. The 1.25 leaves room for
 * the padded copies convolutions make of a map; at most 64, so a batch never holds much GPU memory.
 */
export function imagesPerRun(limits: AdapterLimits, valuesPerImage: readonly number[], most = 64): number {
  const largest = Math.max(...valuesPerImage) * 4 * 1.25;
  const bytes = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  return Math.max(1, Math.min(most, Math.floor(bytes / largest)));
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export class WebgpuExtractor extends EngineExtractor {
  private disposed = false;

  constructor(
    private readonly model: GraphModel<tf.io.IOHandlerSync>,
    preprocess: PreprocessSpec,
    layers: readonly FeatureLayer[],
    private readonly state: WebgpuBackendState,
    /** Most images per forward pass, from the adapter's limits (`imagesPerRun`). */
    readonly maxImagesPerRun: number,
    private readonly outputNames: readonly string[],
  ) {
    super(preprocess, layers, {
      engine: 'tfjs',
      backend: 'webgpu',
      device: `WebGPU on ${adapterLabel(state.adapter)}`,
      ...(state.adapter.software ? { fallbackReason: 'a software adapter computes on the CPU: slower than ONNX Runtime CPU' } : {}),
    });
  }

  protected async runChecked(batch: Float32Array, batchSize: number, layerNames: readonly string[], signal?: AbortSignal): Promise<Map<string, FeatureMap>> {
    this.checkNames(layerNames);
    return this.inParts(batch, batchSize, (input) => onWebgpu(() => this.model.execute(input, [...layerNames]) as tf.Tensor[] | tf.Tensor), layerNames, signal);
  }

  /** The maps pooled on the GPU: only [N, D] vectors are read back. */
  async runPooled(batch: Float32Array, batchSize: number, layers: readonly FeatureLayer[], pooling: Pooling, signal?: AbortSignal): Promise<Map<string, FeatureMap>> {
    const names = layers.map((l) => l.name);
    this.checkNames(names);
    const pool = (input: tf.Tensor): tf.Tensor[] =>
      onWebgpu(() =>
        tf.tidy(() => {
          const ys = this.model.execute(input, names);
          return (Array.isArray(ys) ? ys : [ys]).map((y, i) => poolOnDevice(y, layers[i], pooling));
        }),
      );
    return this.inParts(batch, batchSize, pool, names, signal);
  }

  /** The adapter this engine computes on. */
  get adapter(): AdapterDescription {
    return { ...this.state.adapter };
  }

  /** Tests only: loses the device as a driver reset would. */
  loseDeviceForTest(): void {
    this.state.device.destroy();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    onWebgpu(() => this.model.dispose());
  }

  private checkNames(names: readonly string[]): void {
    if (this.disposed) throw new StudioError('internal', 'The WebGPU extractor was disposed');
    const unknown = names.filter((n) => !this.outputNames.includes(n));
    if (unknown.length > 0) {
      throw new StudioError('invalid_input', `No output named ${unknown.join(', ')}; this teacher has ${this.outputNames.join(', ')}`);
    }
  }

  /**
   * Runs `compute` on parts of at most `maxImagesPerRun` images, reads each part's outputs back
   * before the next starts (so GPU memory holds one part), and joins them per name. Once `signal`
   * is aborted no further part starts and the run rejects with `RunCancelled`: the parts done are
   * dropped, as the batch is either whole or not returned at all.
   */
  private async inParts(
    batch: Float32Array,
    batchSize: number,
    compute: (input: tf.Tensor) => tf.Tensor | tf.Tensor[],
    names: readonly string[],
    signal?: AbortSignal,
  ): Promise<Map<string, FeatureMap>> {
    const length = batch.length / batchSize;
    const parts: Array<Array<{ data: Float32Array; shape: number[] }>> = [];
    for (let start = 0; start < batchSize; start += this.maxImagesPerRun) {
      this.throwIfLost();
      if (signal?.aborted) throw new RunCancelled();
      const n = Math.min(this.maxImagesPerRun, batchSize - start);
      const input = onWebgpu(() => tf.tensor(batch.subarray(start * length, (start + n) * length), batchShape(n, this.preprocess)));
      let outputs: tf.Tensor[] = [];
      try {
        const ys = compute(input);
        outputs = Array.isArray(ys) ? ys : [ys];
        parts.push(await Promise.all(outputs.map(async (y) => ({ data: await this.read(y), shape: [...y.shape] }))));
      } catch (error) {
        this.throwIfLost();
        throw error instanceof StudioError ? error : new StudioError('internal', `WebGPU run failed: ${errorMessage(error)}`);
      } finally {
        onWebgpu(() => tf.dispose([input, ...outputs]));
      }
    }
    return new Map(names.map((name, k) => [name, joinParts(parts.map((p) => p[k]))]));
  }

  /** A tensor's values, or the device loss if the device goes while they are read. */
  private async read(y: tf.Tensor): Promise<Float32Array> {
    const lost = this.state.device.lost.then(() => {
      throw new WebgpuDeviceLost(this.state.lost ?? 'the WebGPU device was lost');
    });
    const data = await Promise.race([y.data(), lost]);
    return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  }

  private throwIfLost(): void {
    if (this.state.lost) throw new WebgpuDeviceLost(this.state.lost);
  }
}

function joinParts(parts: Array<{ data: Float32Array; shape: number[] }>): FeatureMap {
  if (parts.length === 1) return parts[0];
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let offset = 0;
  for (const p of parts) {
    data.set(p.data, offset);
    offset += p.data.length;
  }
  return { data, shape: [parts.reduce((n, p) => n + p.shape[0], 0), ...parts[0].shape.slice(1)] };
}

/**
 * `poolMap` on the GPU: a map [N,C,H,W] (or a pooled [N,C]) to [N, D], the same cells and order
 * (spatial: per channel, the adaptive-pooling grid row by row).
 */
export function poolOnDevice(y: tf.Tensor, layer: FeatureLayer, pooling: Pooling): tf.Tensor2D {
  const [n, c] = y.shape;
  const map = (y.rank === 4 ? y : tf.reshape(y, [n, c, 1, 1])) as tf.Tensor4D;
  if (pooling === 'gap') return tf.mean(map, [2, 3]);
  if (pooling === 'gmp') return tf.max(map, [2, 3]);
  const grid = spatialGrid(layer);
  const [, , h, w] = map.shape;
  const cells: tf.Tensor[] = [];
  for (const [r0, r1] of cellBounds(h, grid)) {
    for (const [c0, c1] of cellBounds(w, grid)) {
      cells.push(tf.mean(tf.slice(map, [0, 0, r0, c0], [n, c, r1 - r0, c1 - c0]), [2, 3]));
    }
  }
  // [N, C, g²] flattened: channel-major, as the CPU pooling writes it.
  return tf.reshape(tf.stack(cells, 2), [n, c * grid * grid]);
}

/** The converted graph's one input must take what the preprocessing gives. */
function checkInput(converted: ConvertedGraphModel, spec: PreprocessSpec, source: string): void {
  const expected = batchShape(1, spec).slice(1);
  const inputs = converted.inputs;
  if (inputs.length !== 1 || inputs[0].shape.length !== 4 || inputs[0].shape.slice(1).some((d, i) => d !== expected[i])) {
    const shapes = inputs.map((i) => `[${i.shape.join(',')}]`).join(', ');
    throw new StudioError('bad_file', `${source} takes ${shapes} but its preprocessing gives [N,${expected.join(',')}] (${spec.layout})`);
  }
}
