/**
 * What the studio must know about a teacher besides its weights: the preprocessing it was trained
 * with, its candidate feature layers and its own classifier. MobileNet v1 (TF.js) is declared here;
 * ONNX teachers describe themselves in a model.json sidecar beside the .onnx file; TF.js graph
 * models are inspected (their layers found in the graph) with an optional atl-preprocess.json.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { StudioError } from '../core/errors';
import type { TeacherLayers } from './feature-extractor';
import { containedFile, readJsonFile, readJsonObject } from './model-files';
import type { PreprocessSpec } from './preprocess';

export interface TeacherSpec extends TeacherLayers {
  name: string;
  format: 'tfjs-layers' | 'tfjs-graph' | 'onnx';
  /** model.json of a TF.js layers or graph model, or the .onnx file. */
  modelPath: string;
  preprocess: PreprocessSpec;
  /** The model's own class scores: the output's name, its labels, and whether softmax is applied. */
  classifier: { output: string; labels: string[]; scores: 'probabilities' | 'logits' };
}

/** MobileNet v1 as Google trained it: RGB scaled to [−1, 1], NHWC. */
export const MOBILENET_V1_PREPROCESS: PreprocessSpec = {
  width: 224,
  height: 224,
  resize: 'stretch',
  normalization: { kind: 'scale', scale: 1 / 127.5, offset: -1 },
  channelOrder: 'RGB',
  layout: 'NHWC',
};

/** Keras's MobileNet v1 (any width) from a TF.js folder with model.json and metadata.json labels. */
export async function mobilenetV1Teacher(dir: string): Promise<TeacherSpec> {
  // Google's files carry no labels; a metadata.json beside them may (the class names only matter
  // for showing the teacher's own predictions, never for training).
  const labels = existsSync(join(dir, 'metadata.json'))
    ? readJsonFile(join(dir, 'metadata.json'), z.object({ labels: z.array(z.string()).length(1000) })).labels
    : Array.from({ length: 1000 }, (_, i) => `ImageNet class ${i}`);
  const blocks = Array.from({ length: 13 }, (_, i) => [`conv_dw_${i + 1}_relu`, `conv_pw_${i + 1}_relu`]).flat();
  const penultimate = 'global_average_pooling2d_1';
  return {
    name: 'MobileNet v1',
    format: 'tfjs-layers',
    modelPath: join(dir, 'model.json'),
    preprocess: MOBILENET_V1_PREPROCESS,
    featureLayers: ['conv1_relu', ...blocks, penultimate],
    penultimate,
    classifier: { output: 'reshape_2', labels, scores: 'probabilities' },
  };
}

const OnnxSidecar = z.object({
  name: z.string(),
  classes: z.array(z.string()).min(2),
  onnx: z.object({ file: z.string() }),
  input: z.object({
    layout: z.enum(['NCHW', 'NHWC']),
    channel_order: z.literal('RGB'),
    size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
    mean: z.tuple([z.number(), z.number(), z.number()]),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]),
  }),
  /** How images are resized to `input.size` (default 'stretch'). */
  resize: z.enum(['stretch', 'center-crop']).optional(),
  outputs: z.array(z.object({ name: z.string() })),
  /** Candidate layers from input to output; the last one is the pooled penultimate layer. */
  feature_outputs: z.array(z.string()).min(1),
});

/** An ONNX teacher whose model.json sidecar gives preprocessing, feature outputs and classes. */
export async function onnxSidecarTeacher(dir: string): Promise<TeacherSpec> {
  const sidecarPath = join(dir, 'model.json');
  const sidecar = readJsonFile(sidecarPath, OnnxSidecar);
  const { input } = sidecar;
  // Class scores: the output that is neither a feature map nor pooled (e.g. 'logits'); a headless
  // backbone has none, and its penultimate stands in (the studio only shows a teacher's own scores).
  const penultimate = sidecar.feature_outputs[sidecar.feature_outputs.length - 1];
  const classifier = sidecar.outputs.find((o) => !sidecar.feature_outputs.includes(o.name)) ?? { name: penultimate };
  return {
    name: sidecar.name,
    format: 'onnx',
    modelPath: containedFile(dir, sidecar.onnx.file, `${sidecarPath}: onnx.file`).path,
    preprocess: {
      width: input.size[1],
      height: input.size[0],
      resize: sidecar.resize ?? 'stretch',
      normalization: { kind: 'mean-std', mean: input.mean, std: input.std },
      channelOrder: input.channel_order,
      layout: input.layout,
    },
    featureLayers: sidecar.feature_outputs,
    penultimate,
    classifier: { output: classifier.name, labels: sidecar.classes, scores: 'logits' },
  };
}

/** The preprocessing sidecar a TF.js graph-model folder may carry (graph models record none). */
export const GRAPH_PREPROCESS_FILE = 'atl-preprocess.json';

const GraphSidecar = z
  .object({
    name: z.string().optional(),
    /** [height, width] of the input; default 224 × 224. */
    size: z.tuple([z.number().int().positive(), z.number().int().positive()]).optional(),
    layout: z.enum(['NHWC', 'NCHW']).optional(),
    resize: z.enum(['stretch', 'center-crop']).optional(),
    channel_order: z.literal('RGB').optional(),
    /** value = byte · scale + offset (default 1/127.5 and −1), or mean/std after /255. */
    scale: z.number().optional(),
    offset: z.number().optional(),
    mean: z.tuple([z.number(), z.number(), z.number()]).optional(),
    std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).optional(),
    labels: z.array(z.string()).min(2).optional(),
  })
  .strict()
  .refine((s) => (s.mean === undefined) === (s.std === undefined), { message: 'give both "mean" and "std", or neither' })
  .refine((s) => s.mean === undefined || (s.scale === undefined && s.offset === undefined), {
    message: 'give either "scale"/"offset" or "mean"/"std", not both',
  });

/** Whether `dir/model.json` is a TF.js graph model (tensorflowjs_converter's `format: "graph-model"`). */
export async function isGraphModelFolder(dir: string): Promise<boolean> {
  try {
    return readJsonObject(join(dir, 'model.json')).format === 'graph-model';
  } catch {
    return false;
  }
}

/**
 * A TF.js graph model: preprocessing from `atl-preprocess.json` when present (else 224 × 224,
 * x/127.5 − 1, NHWC, as MobileNet-family SavedModels take), candidate layers found in the graph by
 * loading it and running one zero image.
 */
export async function tfjsGraphTeacher(dir: string): Promise<TeacherSpec> {
  const sidecarPath = join(dir, GRAPH_PREPROCESS_FILE);
  const sidecar: z.infer<typeof GraphSidecar> = existsSync(sidecarPath) ? readJsonFile(sidecarPath, GraphSidecar) : {};
  const [height, width] = sidecar.size ?? [224, 224];
  const preprocess: PreprocessSpec = {
    width,
    height,
    resize: sidecar.resize ?? 'stretch',
    normalization:
      sidecar.mean && sidecar.std
        ? { kind: 'mean-std', mean: sidecar.mean, std: sidecar.std }
        : { kind: 'scale', scale: sidecar.scale ?? 1 / 127.5, offset: sidecar.offset ?? -1 },
    channelOrder: 'RGB',
    layout: sidecar.layout ?? 'NHWC',
  };
  const modelPath = join(dir, 'model.json');
  const { inspectGraphModel } = await import('./tfjs-graph-extractor');
  const graph = await inspectGraphModel(modelPath, preprocess);
  if (sidecar.labels && sidecar.labels.length !== graph.outputSize) {
    throw new StudioError('bad_file', `${sidecarPath} lists ${sidecar.labels.length} labels but output '${graph.output}' gives ${graph.outputSize} scores`);
  }
  return {
    name: sidecar.name ?? basename(dir),
    format: 'tfjs-graph',
    modelPath,
    preprocess,
    featureLayers: graph.featureLayers,
    penultimate: graph.penultimate,
    classifier: {
      output: graph.output,
      labels: sidecar.labels ?? Array.from({ length: graph.outputSize }, (_, i) => `class ${i}`),
      scores: graph.softmax ? 'probabilities' : 'logits',
    },
  };
}
