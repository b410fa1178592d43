/**
 * The one interface every teacher engine offers (in the spirit of timm's `forward_intermediates`):
 * run a preprocessed batch once and get back the raw internal feature maps asked for. Extraction
 * wants pooled vectors only: an engine that can pool inside its own graph offers `runPooled`, so
 * that the full maps never leave it; `runPooled` below pools in JS for the engines that cannot.
 */
import { StudioError } from '../core/errors';
import { poolMap, type Pooling } from '../core/pooling-spec';
import { imageLength, type PreprocessSpec } from './preprocess';

export interface EngineDescription {
  engine: 'onnxruntime' | 'tfjs';
  /** e.g. 'cpu', 'cuda' (onnxruntime); 'tensorflow', 'wasm', 'cpu' (tfjs). */
  backend: string;
  /** For people: what actually computes, e.g. 'CPU, 2 threads'. */
  device: string;
  /** Why a faster backend was not used, when one was tried and failed. */
  fallbackReason?: string;
}

export interface FeatureLayer {
  name: string;
  /** [C, H, W] of one image's map; pooled vectors are [C, 1, 1]. */
  shape: [number, number, number];
  channels: number;
  /** H × W cells, the most a spatial pooling grid can have. */
  spatialSize: [number, number];
  /** 0 for the layer nearest the input, rising toward the output. */
  depth: number;
  /** The pooled layer that feeds the teacher's own classifier. */
  penultimate: boolean;
}

/** A feature map for a batch: 4-D maps are always NCHW, whatever the engine's own layout. */
export interface FeatureMap {
  data: Float32Array;
  shape: number[];
}

/**
 * A run stopped between its parts because its signal was aborted: nothing of the batch is
 * returned, so a caller never keeps half a batch (extraction reports the job cancelled).
 */
export class RunCancelled extends Error {
  constructor() {
    super('Cancelled');
    this.name = 'RunCancelled';
  }
}

/** One image's shape from TF's [H,W,C] to the extractors' [C,H,W]; other ranks ([C]) stay. */
export function chwFromHwc<T>(dims: readonly T[]): T[] {
  return dims.length === 3 ? [dims[2], dims[0], dims[1]] : [...dims];
}

export interface FeatureExtractor {
  /** How to turn images into the `batch` that `run` takes. */
  readonly preprocess: PreprocessSpec;
  readonly layers: readonly FeatureLayer[];
  describe(): EngineDescription;
  /**
   * `batch` holds `batchSize` images preprocessed per `preprocess`, back to back. `layerNames` may
   * name any candidate layer, and also the model's own outputs (e.g. class scores). `signal`:
   * an engine that cuts a batch into several runs (WebGPU) stops between them once it is aborted,
   * rejecting with `RunCancelled`; the others finish the batch.
   */
  run(batch: Float32Array, batchSize: number, layerNames: readonly string[], signal?: AbortSignal): Promise<Map<string, FeatureMap>>;
  /**
   * Optional: the layers' maps pooled inside the engine, so only vectors leave it. Same batch as
   * `run`; per layer a [N, D] map (D = `pooledLength(layer, pooling)`) equal to `poolMap` of `run`'s
   * map within float rounding. Call it through `runPooled`, which pools in JS where it is missing.
   */
  runPooled?(batch: Float32Array, batchSize: number, layers: readonly FeatureLayer[], pooling: Pooling, signal?: AbortSignal): Promise<Map<string, FeatureMap>>;
  /** Frees native memory (sessions, tensors); the extractor is unusable afterwards. */
  dispose(): Promise<void>;
}

/** The layers' pooled vectors for a batch ([N, D] per layer): in the engine when it can, else `run` + `poolMap`. */
export async function runPooled(
  extractor: FeatureExtractor,
  batch: Float32Array,
  batchSize: number,
  layers: readonly FeatureLayer[],
  pooling: Pooling,
  signal?: AbortSignal,
): Promise<Map<string, FeatureMap>> {
  return extractor.runPooled ? extractor.runPooled(batch, batchSize, layers, pooling, signal) : poolInJs(extractor, batch, batchSize, layers, pooling, signal);
}

/** `runPooled` for an engine that only returns maps: `run`, then `poolMap` on each map. */
export async function poolInJs(
  extractor: FeatureExtractor,
  batch: Float32Array,
  batchSize: number,
  layers: readonly FeatureLayer[],
  pooling: Pooling,
  signal?: AbortSignal,
): Promise<Map<string, FeatureMap>> {
  const maps = await extractor.run(batch, batchSize, layers.map((l) => l.name), signal);
  return new Map(
    layers.map((layer) => {
      const data = poolMap(maps.get(layer.name)!, layer, pooling);
      return [layer.name, { data, shape: [batchSize, data.length / batchSize] }];
    }),
  );
}

/** What the in-process engines' extractors share: their spec, layers and description, and the batch check before a run. */
export abstract class EngineExtractor implements FeatureExtractor {
  constructor(
    readonly preprocess: PreprocessSpec,
    readonly layers: readonly FeatureLayer[],
    private readonly description: EngineDescription,
  ) {}

  describe(): EngineDescription {
    return { ...this.description };
  }

  async run(batch: Float32Array, batchSize: number, layerNames: readonly string[], signal?: AbortSignal): Promise<Map<string, FeatureMap>> {
    checkBatch(batch, batchSize, imageLength(this.preprocess));
    return this.runChecked(batch, batchSize, layerNames, signal);
  }

  /** `run` on a batch whose length is checked. */
  protected abstract runChecked(batch: Float32Array, batchSize: number, layerNames: readonly string[], signal?: AbortSignal): Promise<Map<string, FeatureMap>>;

  abstract dispose(): Promise<void>;
}

/** What a teacher declares about its feature layers, whatever the engine. */
export interface TeacherLayers {
  /** Candidate feature maps, from the input toward the output. */
  featureLayers: readonly string[];
  /** The pooled layer before the classifier (also listed as a feature layer). */
  penultimate: string;
}

/** Builds `FeatureLayer`s from per-image shapes ([C,H,W], or [C] for pooled vectors), in declared order. */
export function describeLayers(
  teacher: TeacherLayers,
  shapeOf: (name: string) => readonly unknown[],
): FeatureLayer[] {
  return teacher.featureLayers.map((name, depth) => {
    const dims = shapeOf(name);
    // Unknown sizes (null in TF.js, symbolic names in ONNX) cannot size a classifier's input.
    if ((dims.length !== 3 && dims.length !== 1) || !dims.every((d) => Number.isInteger(d) && (d as number) > 0)) {
      throw new StudioError('bad_file', `Layer '${name}' gives a [${dims.join(',')}] map, not a fixed [C,H,W] or [C]`);
    }
    const [c, h, w] = dims.length === 3 ? (dims as number[]) : [dims[0] as number, 1, 1];
    return {
      name,
      shape: [c, h, w],
      channels: c,
      spatialSize: [h, w],
      depth,
      penultimate: name === teacher.penultimate,
    };
  });
}

/** The input length `run` must receive, with a message naming both numbers when it does not. */
export function checkBatch(batch: Float32Array, batchSize: number, imageLength: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new StudioError('invalid_input', `Batch size must be a positive integer, got ${batchSize}`);
  }
  if (batch.length !== batchSize * imageLength) {
    throw new StudioError(
      'invalid_input',
      `A batch of ${batchSize} needs ${batchSize * imageLength} values (${imageLength} per image), got ${batch.length}`,
    );
  }
}
