/**
 * Reading a TF.js layers model from disk (model.json + binary weight shards) with errors that name
 * the file at fault. Both the TF.js engine and the ONNX converter load through here, so a broken
 * model fails the same way on either route.
 */
import { dirname, join } from 'node:path';
import { StudioError } from '../core/errors';
import { containedFile, readJsonObject, readRegularFileInto, type ContainedFile } from './model-files';

/** The most weight bytes a teacher may declare: ResNet-152 holds 240 MB, and memory must hold them twice. */
export const MAX_WEIGHT_BYTES = 2 * 1024 ** 3;
/** Convolution kernels have 4 dimensions; more is no weight of an image model. */
const MAX_RANK = 6;
/** float32 and int32 alike. */
const BYTES_PER_VALUE = 4;

export interface WeightSpec {
  name: string;
  shape: number[];
  /** Layers models: float32 only. Graph models also keep int32 constants (axes, shapes). */
  dtype: 'float32' | 'int32';
}

export interface LayersModelFiles {
  /** The `modelTopology` object of model.json (Keras config), as stored. */
  modelTopology: Record<string, unknown>;
  /** Every weight, in manifest order. */
  weightSpecs: WeightSpec[];
  /** The shards' bytes concatenated in manifest order; `weightSpecs` index into it in order. */
  weightData: ArrayBuffer;
}

interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
  /** What the weights need: the shards' total size. */
  bytes: number;
}

export interface ReadOptions {
  /** Weight dtypes accepted (each 4 bytes a value); float32 only unless given. */
  dtypes?: ReadonlyArray<WeightSpec['dtype']>;
}

/**
 * Reads model.json and its weight shards. Everything model.json declares is checked before a byte
 * of weights is read: shard paths stay in its folder and are regular files, shapes are sane, and
 * each group's shards hold exactly the bytes its weights need.
 */
export async function readLayersModelFiles(modelJsonPath: string, options: ReadOptions = {}): Promise<LayersModelFiles> {
  const dtypes = options.dtypes ?? ['float32'];
  const json = await readModelJson(modelJsonPath);
  const modelTopology = json.modelTopology;
  if (!isObject(modelTopology) || !Array.isArray(json.weightsManifest)) {
    throw new StudioError(
      'bad_file',
      `${modelJsonPath} is not a TF.js layers model (needs "modelTopology" and "weightsManifest")`,
    );
  }
  const groups = json.weightsManifest.map((group, i) => checkGroup(group, i, modelJsonPath, dtypes));
  const total = groups.reduce((sum, g) => sum + g.bytes, 0);
  if (total > MAX_WEIGHT_BYTES) {
    throw new StudioError('bad_file', `${modelJsonPath}: its weights need ${total} bytes, more than the ${MAX_WEIGHT_BYTES} a teacher may hold`);
  }
  const shards = groups.flatMap((group, i) => locateShards(dirname(modelJsonPath), group, `${modelJsonPath}: weightsManifest[${i}]`));
  const weightData = new ArrayBuffer(total);
  let offset = 0;
  for (const shard of shards) {
    await readRegularFileInto(shard.path, new Uint8Array(weightData, offset, shard.size));
    offset += shard.size;
  }
  return { modelTopology, weightSpecs: groups.flatMap((g) => g.weights), weightData };
}

/** The weight shards model.json names, checked as `readLayersModelFiles` checks them. */
export async function weightFilePaths(modelJsonPath: string, options: ReadOptions = {}): Promise<string[]> {
  const json = await readModelJson(modelJsonPath);
  if (!Array.isArray(json.weightsManifest)) throw new StudioError('bad_file', `${modelJsonPath} has no "weightsManifest" list`);
  const groups = json.weightsManifest.map((group, i) => checkGroup(group, i, modelJsonPath, options.dtypes ?? ['float32']));
  return groups.flatMap((group, i) => locateShards(dirname(modelJsonPath), group, `${modelJsonPath}: weightsManifest[${i}]`).map((s) => s.path));
}

/** Every weight as float32 values keyed by its name (e.g. 'conv1/kernel'). */
export function weightsByName(files: LayersModelFiles): Map<string, { shape: number[]; values: Float32Array }> {
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const spec of files.weightSpecs) {
    const count = elementCount(spec.shape);
    weights.set(spec.name, { shape: spec.shape, values: new Float32Array(files.weightData, offset, count) });
    offset += count * 4;
  }
  return weights;
}

export async function readModelJson(path: string): Promise<Record<string, unknown>> {
  return readJsonObject(path);
}

function checkGroup(group: unknown, index: number, modelJsonPath: string, dtypes: readonly string[]): ManifestGroup {
  const where = `${modelJsonPath}: weightsManifest[${index}]`;
  if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
    throw new StudioError('bad_file', `${where} needs "paths" and "weights" lists`);
  }
  let bytes = 0;
  for (const w of group.weights as unknown[]) {
    if (!isObject(w) || typeof w.name !== 'string') throw new StudioError('bad_file', `${where} has a weight without a name`);
    const shape = w.shape;
    if (Array.isArray(shape) && shape.length > MAX_RANK) {
      throw new StudioError('bad_file', `${where}: weight '${w.name}' has ${shape.length} dimensions; at most ${MAX_RANK} are supported`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new StudioError('bad_file', `${where}: weight '${w.name}' has shape ${JSON.stringify(shape)}: dimensions must be non-negative integers`);
    }
    // Quantized or integer weights would need dequantizing; no teacher here ships them.
    if (!dtypes.includes(w.dtype as string) || w.quantization !== undefined) {
      const kind = w.quantization !== undefined ? 'quantized' : `dtype ${String(w.dtype)}`;
      throw new StudioError('bad_file', `${where}: weight '${w.name}' is ${kind}; only ${dtypes.join(' or ')} weights are supported`);
    }
    bytes += elementCount(shape as number[]) * BYTES_PER_VALUE;
  }
  if (bytes > MAX_WEIGHT_BYTES) {
    throw new StudioError('bad_file', `${where}: its weights need ${bytes} bytes, more than the ${MAX_WEIGHT_BYTES} a teacher may hold`);
  }
  return { paths: group.paths as string[], weights: group.weights as WeightSpec[], bytes };
}

/**
 * A group's shards are one byte stream split in files: each must be a regular file in the model's
 * folder, and together they must hold exactly the bytes the group's weights need (by stat, before reading).
 */
function locateShards(dir: string, group: ManifestGroup, where: string): ContainedFile[] {
  const shards = group.paths.map((path) => {
    try {
      return containedFile(dir, path, where);
    } catch (error) {
      if (error instanceof StudioError && error.code === 'not_found') {
        throw new StudioError('not_found', `Missing weight shard ${join(dir, path)} (named by ${where})`);
      }
      throw error;
    }
  });
  const size = shards.reduce((sum, s) => sum + s.size, 0);
  if (size !== group.bytes) {
    const files = shards.map((s) => s.path).join(', ');
    const names = group.weights.map((w) => w.name).join(', ');
    throw new StudioError('bad_file', `Weight shard ${files} holds ${size} bytes but its weights (${names}) need ${group.bytes}`);
  }
  return shards;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
