/**
 * A bare .onnx image backbone (no model.json sidecar) made ready to be a teacher: its inventory is
 * found from the graph (onnx-inventory.ts), a copy is rewritten with the block outputs and the
 * penultimate as graph outputs, a dry run with onnxruntime on one zero image gives their shapes,
 * and a generated model.json sidecar records the rest, so the teacher then loads like any ONNX
 * teacher with a sidecar. The source file is only read.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { totalmem } from 'node:os';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { StudioError, errorMessage } from '../core/errors';
import { MAX_ONNX_BYTES, readRegularFile } from './model-files';
import { decodeOnnxModel, exposeTensors, findInventory, type ExposedTensor, type ImageInput } from './onnx-inventory';
import type { TeacherPreprocessing } from '../../shared/contract';
import type { ResizeMode } from './preprocess';

/**
 * The preprocessings a bare model can be given, each with one resize policy: `imagenet` (torchvision
 * models) keeps the aspect ratio and crops the centre, as they were evaluated; `inception` and `unit`
 * (TF/Keras-style models) stretch the whole image to the input size, as Keras's own loaders do.
 */
export const ONNX_PREPROCESSING: Record<TeacherPreprocessing, { mean: readonly number[]; std: readonly number[]; resize: ResizeMode; text: string }> = {
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resize: 'center-crop', text: 'RGB/255, ImageNet mean/std' },
  inception: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], resize: 'stretch', text: 'RGB scaled to [-1, 1]' },
  unit: { mean: [0, 0, 0], std: [1, 1, 1], resize: 'stretch', text: 'RGB/255' },
};

export interface BareOnnxOptions {
  /** Default: `imagenet` for an NCHW input (PyTorch's convention), `inception` for NHWC (TF's). */
  preprocess?: TeacherPreprocessing;
  /** Input height and width; default: the graph's own (required when the graph leaves them free). */
  size?: number;
}

export interface PreparedOnnxTeacher {
  /** The rewritten copy, its block outputs and penultimate exposed as float32 outputs. */
  model: Uint8Array;
  /** A model.json sidecar in the format `onnxSidecarTeacher` reads (plus how it was generated). */
  sidecar: Record<string, unknown>;
  /** Of the source file. */
  sourceSha256: string;
}

/** How much memory loading a model takes, as a multiple of its file: the bytes, the decoded graph, the session's weights. */
const MEMORY_PER_FILE_BYTE = 4;

/** Reads, inspects, rewrites and dry-runs `path`; `file` is what the copy will be called. Throws naming what is wrong. */
export async function prepareBareOnnxTeacher(path: string, file: string, options: BareOnnxOptions = {}): Promise<PreparedOnnxTeacher> {
  const { size } = statSync(path);
  if (size > MAX_ONNX_BYTES) {
    throw new StudioError('bad_file', `${path} is too large: ${gigabytes(size)}, over the ${gigabytes(MAX_ONNX_BYTES)} an .onnx file can hold its weights in`);
  }
  if (size * MEMORY_PER_FILE_BYTE > totalmem()) {
    throw new StudioError('bad_file', `${path} is too large for this machine's memory: ${gigabytes(size)} needs about ${gigabytes(size * MEMORY_PER_FILE_BYTE)} to load, it has ${gigabytes(totalmem())}`);
  }
  const bytes = readRegularFile(path, MAX_ONNX_BYTES);
  const model = decodeOnnxModel(bytes, path);
  const external = (model.graph?.initializer ?? []).some((t) => t.dataLocation === onnxProto.onnx.TensorProto.DataLocation.EXTERNAL);
  if (external) {
    throw new StudioError('bad_file', `${path} keeps its weights in external data files: import it with a model.json sidecar beside it (see docs/engines.md)`);
  }
  const inventory = findInventory(model, path);
  const { input } = inventory;
  const [height, width] = inputSize(input, options.size, path);
  const preprocess = options.preprocess ?? (input.layout === 'NCHW' ? 'imagenet' : 'inception');

  // Shapes for every candidate; a fixed batch is freed when the graph allows it.
  const exposed = [...inventory.blocks, ...(inventory.penultimate ? [inventory.penultimate] : [])];
  const candidates = await dryRun(bytes, exposed, input, [height, width], inventory.classifier, path);
  // The penultimate is never also a block, even when it is a 4-D map (Keras's [N, 1, 1, C] after its pool).
  const blocks = exposed.filter((e, i) => e !== inventory.penultimate && candidates.shapes[i].length === 4 && candidates.shapes[i].slice(1).every((d) => d > 0));
  if (blocks.length === 0) throw new StudioError('bad_file', `${path}: none of its block outputs is a 4-D feature map`);
  const penultimate: ExposedTensor = inventory.penultimate ?? { ...blocks[blocks.length - 1], pool: true };
  const final = [...blocks, penultimate];
  const { model: rewritten, names } = exposeTensors(bytes, final, { freeBatch: candidates.freeBatch });
  const penultimateName = names[names.length - 1];
  // A headless backbone (its output is a feature map or the pooled vector) has no class scores: its penultimate stands in.
  const classifier = inventory.classifier && !names.includes(inventory.classifier) ? inventory.classifier : null;
  const classes = classifier ? candidates.classes : candidates.shapes[exposed.findIndex((e) => e.tensor === penultimate.tensor)][1];
  const sourceSha256 = createHash('sha256').update(bytes).digest('hex');
  // Nothing here may depend on where the file was or what it was called: the weights' sha256 (the
  // feature cache's and trained heads' key) is over these files, so importing the same model again
  // with the same options finds its features and heads again.
  return {
    model: rewritten,
    sourceSha256,
    sidecar: {
      name: `ONNX model ${sourceSha256.slice(0, 12)}`,
      classes: Array.from({ length: classes }, (_, i) => `class ${i}`),
      onnx: { file },
      input: { layout: input.layout, channel_order: 'RGB', size: [height, width], mean: ONNX_PREPROCESSING[preprocess].mean, std: ONNX_PREPROCESSING[preprocess].std },
      resize: ONNX_PREPROCESSING[preprocess].resize,
      preprocess,
      outputs: [...(classifier ? [classifier] : []), ...names].map((name) => ({ name })),
      feature_outputs: names,
      generated: {
        by: 'atl-studio models import (inventory found from the graph)',
        source_sha256: sourceSha256,
        penultimate: penultimateName,
        fixed_batch: !candidates.freeBatch && input.fixedBatch,
      },
    },
  };
}

/** [height, width]: the graph's, or `size` where the graph leaves them free; a fixed size can't be changed. */
function inputSize(input: ImageInput, size: number | undefined, path: string): [number, number] {
  if (size !== undefined && (!Number.isInteger(size) || size < 8 || size > 4096)) {
    throw new StudioError('invalid_input', `--size must be a whole number of pixels from 8 to 4096, got ${size}`);
  }
  const fixed = input.height !== null && input.width !== null;
  if (fixed && size !== undefined && (size !== input.height || size !== input.width)) {
    throw new StudioError('invalid_input', `${path} takes ${input.height}×${input.width} images only; leave out --size or give ${input.height}`);
  }
  if (fixed) return [input.height!, input.width!];
  if (size === undefined) throw new StudioError('invalid_input', `${path} does not fix its input size: give it with --size (e.g. 224)`);
  return [input.height ?? size, input.width ?? size];
}

/**
 * Runs the copy exposing `tensors` on a zero image (a batch of 2 with the batch freed; a batch of 1
 * when the graph only allows its fixed batch) and returns their shapes and the class count.
 */
async function dryRun(
  bytes: Uint8Array,
  tensors: ExposedTensor[],
  input: ImageInput,
  [height, width]: [number, number],
  classifier: string | null,
  path: string,
): Promise<{ shapes: number[][]; classes: number; freeBatch: boolean }> {
  const attempts = input.fixedBatch ? [true, false] : [false];
  let failure: unknown;
  for (const freeBatch of attempts) {
    const { model, names } = exposeTensors(bytes, tensors, { freeBatch });
    const batch = freeBatch || !input.fixedBatch ? 2 : 1;
    try {
      // Fatal messages only: a graph refusing a freed batch is expected, and its error is kept below.
      const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 4 });
      try {
        const dims = input.layout === 'NCHW' ? [batch, 3, height, width] : [batch, height, width, 3];
        const zero = new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
        const fetched = [...names, ...(classifier && !names.includes(classifier) ? [classifier] : [])];
        const results = await session.run({ [input.name]: zero }, fetched);
        if (fetched.some((name) => results[name].dims[0] !== batch)) throw new Error(`its outputs do not keep the batch of ${batch}`);
        const shapes = names.map((name) => results[name].dims.map(Number));
        const classes = classifier ? results[classifier].dims.slice(1).reduce((a, b) => a * Number(b), 1) : 0;
        return { shapes, classes, freeBatch };
      } finally {
        await session.release();
      }
    } catch (error) {
      failure = error;
    }
  }
  throw new StudioError('bad_file', `ONNX Runtime cannot run ${path}: ${errorMessage(failure).split('\n')[0]}`);
}

function gigabytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}
