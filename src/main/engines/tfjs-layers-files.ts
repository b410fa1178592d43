/**
 * Reading a TF.js layers model from disk (model.json + binary weight shards) with errors that name
 * the file at fault. Both the TF.js engine and the ONNX converter load through here, so a broken
 * model fails the same way on either route.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StudioError, errorMessage } from '../services/errors';

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
}

export interface ReadOptions {
  /** Weight dtypes accepted (each 4 bytes a value); float32 only unless given. */
  dtypes?: ReadonlyArray<WeightSpec['dtype']>;
}

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
  const dir = dirname(modelJsonPath);
  const parts: Buffer[] = [];
  for (const group of groups) parts.push(await readGroup(dir, group));
  const all = Buffer.concat(parts);
  return {
    modelTopology,
    weightSpecs: groups.flatMap((g) => g.weights),
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer,
  };
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
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new StudioError('not_found', `Cannot read the model file ${path}: ${errorMessage(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StudioError('bad_file', `${path} is not valid JSON: ${errorMessage(error)}`);
  }
  if (!isObject(json)) throw new StudioError('bad_file', `${path} does not hold a JSON object`);
  return json;
}

function checkGroup(group: unknown, index: number, modelJsonPath: string, dtypes: readonly string[]): ManifestGroup {
  const where = `${modelJsonPath}: weightsManifest[${index}]`;
  if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
    throw new StudioError('bad_file', `${where} needs "paths" and "weights" lists`);
  }
  for (const w of group.weights as unknown[]) {
    if (!isObject(w) || typeof w.name !== 'string' || !Array.isArray(w.shape)) {
      throw new StudioError('bad_file', `${where} has a weight without a name or shape`);
    }
    // Quantized or integer weights would need dequantizing; no teacher here ships them.
    if (!dtypes.includes(w.dtype as string) || w.quantization !== undefined) {
      const kind = w.quantization !== undefined ? 'quantized' : `dtype ${String(w.dtype)}`;
      throw new StudioError('bad_file', `${where}: weight '${w.name}' is ${kind}; only ${dtypes.join(' or ')} weights are supported`);
    }
  }
  return group as unknown as ManifestGroup;
}

/** A group's shards are one byte stream split in files; its length must match its weights exactly. */
async function readGroup(dir: string, group: ManifestGroup): Promise<Buffer> {
  const shards: Buffer[] = [];
  for (const path of group.paths) {
    const file = join(dir, path);
    try {
      shards.push(await readFile(file));
    } catch (error) {
      throw new StudioError('not_found', `Missing weight shard ${file}: ${errorMessage(error)}`);
    }
  }
  const bytes = Buffer.concat(shards);
  const expected = group.weights.reduce((sum, w) => sum + elementCount(w.shape) * 4, 0);
  if (bytes.length !== expected) {
    const files = group.paths.map((p) => join(dir, p)).join(', ');
    const names = group.weights.map((w) => w.name).join(', ');
    throw new StudioError('bad_file', `Weight shard ${files} holds ${bytes.length} bytes but its weights (${names}) need ${expected}`);
  }
  return bytes;
}

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
