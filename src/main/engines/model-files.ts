/**
 * A model's own files, read safely. A path that a model file names (a TF.js weight shard, an ONNX
 * sidecar's model file, an ONNX tensor's external data) must stay inside the model's folder, also
 * after following symlinks, and be a regular file; sizes are checked before anything is read. So a
 * hostile model.json cannot make the studio read /dev/zero, block on a FIFO or read a user's file.
 */
import { closeSync, constants, fstatSync, openSync, readSync, realpathSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import type { z } from 'zod';
import { StudioError, errorMessage } from '../core/errors';
import { isInside } from '../core/paths';

/** Protobuf's own limit on one message: an .onnx file holding its weights inline is at most this big. */
export const MAX_ONNX_BYTES = 2 * 1024 ** 3;

/** JSON files beside a model (model.json, sidecars, labels) hold text, never weights. */
export const MAX_JSON_BYTES = 64 * 1024 ** 2;

/**
 * Opening never blocks (a FIFO with no writer would), and symlinks are followed only where
 * `containedFile` has checked where they lead.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

export interface ContainedFile {
  /** The path as named (inside the folder), for messages and copies. */
  path: string;
  size: number;
}

/**
 * Resolves `name`, as `namedBy` gives it, in `folder`: refuses absolute paths, `../` and symlinks
 * leading out of the folder, and anything that is not a regular file.
 */
export function containedFile(folder: string, name: unknown, namedBy: string): ContainedFile {
  if (typeof name !== 'string' || name === '' || name.includes('\0')) {
    throw new StudioError('bad_file', `${namedBy} names ${JSON.stringify(name)}, which is not a file name`);
  }
  const path = resolve(folder, name);
  if (isAbsolute(name) || !isInside(resolve(folder), path)) {
    throw new StudioError('bad_file', `${namedBy} names '${name}', which is outside the model's folder ${folder}: a model may only use files in its own folder`);
  }
  let real: string;
  try {
    real = realpathSync(path);
  } catch (error) {
    throw new StudioError('not_found', `${namedBy} names '${name}', but ${path} cannot be found: ${errorMessage(error)}`);
  }
  if (!isInside(realpathSync(folder), real)) {
    throw new StudioError('bad_file', `${path} (named by ${namedBy}) resolves outside the model's folder, to ${real}: a model may only use files in its own folder`);
  }
  const stats = statSync(real);
  if (!stats.isFile()) throw new StudioError('bad_file', `${path} is not a regular file`);
  return { path, size: stats.size };
}

/** Reads a whole regular file of at most `maxBytes`, checked before reading. */
export function readRegularFile(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, READ_FLAGS);
  try {
    const size = checkedSize(fstatSync(fd), path, maxBytes);
    const bytes = Buffer.alloc(size);
    let done = 0;
    for (let n = -1; done < size && n !== 0; done += n) n = readSync(fd, bytes, done, size - done, done);
    if (done !== size) throw new StudioError('bad_file', `${path} changed while it was read`);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** Reads a regular file of exactly `target.length` bytes (as checked before) into `target`. */
export async function readRegularFileInto(path: string, target: Uint8Array): Promise<void> {
  const handle = await open(path, READ_FLAGS);
  try {
    const size = checkedSize(await handle.stat(), path, target.length);
    let done = 0;
    for (let n = -1; done < size && n !== 0; done += n) n = (await handle.read(target, done, size - done, done)).bytesRead;
    if (size !== target.length || done !== size) throw new StudioError('bad_file', `${path} changed while it was read`);
  } finally {
    await handle.close();
  }
}

/** A JSON object from a file, with errors that name the file. */
export function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readRegularFile(path, MAX_JSON_BYTES).toString('utf8');
  } catch (error) {
    if (error instanceof StudioError) throw error;
    throw new StudioError('not_found', `Cannot read ${path}: ${errorMessage(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new StudioError('bad_file', `${path} is not valid JSON: ${errorMessage(error)}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new StudioError('bad_file', `${path} does not hold a JSON object`);
  return json as Record<string, unknown>;
}

/** A JSON file checked against `schema`; the error names the file and the first field at fault. */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(readJsonObject(path));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StudioError('bad_file', `${path}: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The external-data files an ONNX model keeps its tensors in (large models ship their weights
 * beside the .onnx), each checked with `containedFile`.
 */
export function onnxExternalDataFiles(modelPath: string): string[] {
  const model = onnxProto.onnx.ModelProto.decode(readRegularFile(modelPath, MAX_ONNX_BYTES));
  const files = new Set<string>();
  const visit = (graph: Onnx.IGraphProto | null | undefined): void => {
    if (!graph) return;
    const tensors: Array<Onnx.ITensorProto | null | undefined> = [...(graph.initializer ?? [])];
    for (const sparse of graph.sparseInitializer ?? []) tensors.push(sparse.values, sparse.indices);
    for (const node of graph.node ?? []) {
      for (const attribute of node.attribute ?? []) {
        tensors.push(attribute.t, ...(attribute.tensors ?? []));
        // Control flow (If, Loop, Scan) carries subgraphs with tensors of their own.
        [attribute.g, ...(attribute.graphs ?? [])].forEach(visit);
      }
    }
    for (const tensor of tensors) {
      if (tensor?.dataLocation !== onnxProto.onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const location = tensor.externalData?.find((entry) => entry.key === 'location')?.value;
      files.add(containedFile(dirname(modelPath), location, `${modelPath}: tensor '${tensor.name ?? ''}'`).path);
    }
  };
  visit(model.graph);
  return [...files];
}

function checkedSize(stats: { isFile(): boolean; size: number }, path: string, maxBytes: number): number {
  if (!stats.isFile()) throw new StudioError('bad_file', `${path} is not a regular file`);
  if (stats.size > maxBytes) throw new StudioError('bad_file', `${path} holds ${stats.size} bytes, more than the ${maxBytes} expected of it`);
  return stats.size;
}

