/**
 * The TF.js engine: runs a TF.js layers teacher as its authors shipped it, the reference the ONNX
 * conversion is checked against. The backend is process-wide in TF.js; the fastest one that loads
 * wins: libtensorflow on GPU (tfjs-node-gpu), libtensorflow on CPU (tfjs-node), WebAssembly, then
 * plain JavaScript.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import { loadLayersModel, model as functionalModel, type LayersModel, type SymbolicTensor } from '@tensorflow/tfjs-layers';
import { StudioError, errorMessage } from '../core/errors';
import {
  chwFromHwc,
  describeLayers,
  EngineExtractor,
  type EngineDescription,
  type FeatureExtractor,
  type FeatureLayer,
  type FeatureMap,
} from './feature-extractor';
import type { PreprocessSpec } from './preprocess';
import type { TeacherSpec } from './teachers';
import { readLayersModelFiles, type LayersModelFiles } from './tfjs-layers-files';

export async function createTfjsExtractor(teacher: TeacherSpec): Promise<FeatureExtractor> {
  if (teacher.format !== 'tfjs-layers') {
    const why = `${teacher.name} is an ${teacher.format} model; the TF.js engine runs TF.js layers models`;
    throw new StudioError('invalid_input', why);
  }
  const description = await tfjsBackend();
  const files = await readLayersModelFiles(teacher.modelPath);
  const model = await loadFromMemory((handler) => loadLayersModel(handler), files, { format: 'layers-model' }, teacher.modelPath);
  try {
    checkInput(model, teacher.preprocess, teacher.modelPath);
    const layers = describeLayers(teacher, (name) => outputShape(model, name, teacher.modelPath));
    return new TfjsExtractor(model, teacher.preprocess, layers, description, teacher.modelPath);
  } catch (error) {
    model.dispose();
    throw error;
  }
}

class TfjsExtractor extends EngineExtractor {
  /** A functional model per requested set of layers, built once. */
  private readonly heads = new Map<string, LayersModel>();

  constructor(
    private readonly model: LayersModel,
    preprocess: PreprocessSpec,
    layers: readonly FeatureLayer[],
    description: EngineDescription,
    private readonly source: string,
  ) {
    super(preprocess, layers, description);
  }

  protected async runChecked(batch: Float32Array, batchSize: number, layerNames: readonly string[]): Promise<Map<string, FeatureMap>> {
    const head = this.head(layerNames);
    const { width, height } = this.preprocess;
    const outputs = tf.tidy(() => {
      const x = tf.tensor4d(batch, [batchSize, height, width, 3]);
      const ys = head.predict(x, { batchSize });
      // Keras maps are NHWC; every extractor returns NCHW.
      return (Array.isArray(ys) ? ys : [ys]).map(nchwFromNhwc);
    });
    const maps = new Map<string, FeatureMap>();
    for (const [i, name] of layerNames.entries()) {
      maps.set(name, { data: (await outputs[i].data()) as Float32Array, shape: [...outputs[i].shape] });
    }
    tf.dispose(outputs);
    return maps;
  }

  async dispose(): Promise<void> {
    // Heads share the model's layers without counting references: disposing one would free them.
    this.heads.clear();
    this.model.dispose();
  }

  private head(layerNames: readonly string[]): LayersModel {
    const key = layerNames.join('\n');
    let head = this.heads.get(key);
    if (!head) {
      const outputs = layerNames.map((name) => layerOutput(this.model, name, this.source));
      head = functionalModel({ inputs: this.model.inputs, outputs });
      this.heads.set(key, head);
    }
    return head;
  }
}

function layerOutput(model: LayersModel, name: string, source: string): SymbolicTensor {
  let output: SymbolicTensor | SymbolicTensor[];
  try {
    output = model.getLayer(name).output;
  } catch {
    throw new StudioError('invalid_input', `${source} has no layer named '${name}'`);
  }
  if (Array.isArray(output)) throw new StudioError('invalid_input', `Layer '${name}' has several outputs`);
  return output;
}

/** Catches a teacher whose declared preprocessing disagrees with the model's (NHWC) input. */
function checkInput(model: LayersModel, spec: PreprocessSpec, source: string): void {
  const shape = model.inputs[0].shape;
  const expected = [spec.height, spec.width, 3];
  if (model.inputs.length !== 1 || spec.layout !== 'NHWC' || shape.slice(1).some((d, i) => d !== expected[i])) {
    throw new StudioError(
      'bad_file',
      `${source} takes [${shape.map((d) => d ?? 'N').join(',')}] but its preprocessing gives [N,${expected.join(',')}] (${spec.layout})`,
    );
  }
}

/** Per-image shape in the extractor's layout: Keras [H,W,C] → [C,H,W]; [C] stays. */
function outputShape(model: LayersModel, name: string, source: string): Array<number | null> {
  return chwFromHwc(layerOutput(model, name, source).shape.slice(1));
}

/**
 * Loads a model with TF.js's `load` from files already read, through an in-memory IO handler (TF.js
 * never touches the network or the file system itself); `artifacts` adds model.json's other fields.
 */
export async function loadFromMemory<M>(
  load: (handler: tf.io.IOHandler) => Promise<M>,
  files: LayersModelFiles,
  artifacts: Omit<tf.io.ModelArtifacts, 'modelTopology' | 'weightSpecs' | 'weightData'>,
  source: string,
): Promise<M> {
  try {
    const { modelTopology, weightSpecs, weightData } = files;
    return await load({ load: async () => ({ modelTopology, weightSpecs, weightData, ...artifacts }) });
  } catch (error) {
    throw new StudioError('bad_file', `TF.js cannot load ${source}: ${errorMessage(error)}`);
  }
}

/** A batch of TF's NHWC maps as the NCHW every extractor returns; other ranks as they are. */
export function nchwFromNhwc(y: tf.Tensor): tf.Tensor {
  return y.rank === 4 ? tf.transpose(y, [0, 3, 1, 2]) : y;
}

let chosenBackend: Promise<EngineDescription> | undefined;

/** Picks and initializes the process-wide TF.js backend once. */
export function tfjsBackend(): Promise<EngineDescription> {
  chosenBackend ??= chooseBackend();
  return chosenBackend;
}

async function chooseBackend(): Promise<EngineDescription> {
  const failed: string[] = [];
  const libtensorflow: Array<[string, string]> = [
    ['@tensorflow/tfjs-node-gpu', 'libtensorflow, GPU build (CUDA when a GPU is visible, else CPU)'],
    ['@tensorflow/tfjs-node', 'CPU (libtensorflow)'],
  ];
  for (const [pkg, device] of libtensorflow) {
    try {
      // A variable specifier: these optional packages are usually absent and must not be bundled.
      await import(/* @vite-ignore */ pkg);
      if (await tf.setBackend('tensorflow')) return { engine: 'tfjs', backend: 'tensorflow', device, ...reason(failed) };
      failed.push(`${pkg}: its backend did not initialize`);
    } catch (error) {
      failed.push(`${pkg}: ${notInstalled(error) ? 'not installed' : errorMessage(error).split('\n')[0]}`);
    }
  }
  if (await tf.setBackend('wasm')) {
    const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const device = `CPU, WebAssembly${simd ? ' SIMD' : ''}, 1 thread`;
    return { engine: 'tfjs', backend: 'wasm', device, ...reason(failed) };
  }
  failed.push('wasm: its backend did not initialize');
  await tf.setBackend('cpu');
  return { engine: 'tfjs', backend: 'cpu', device: 'CPU (plain JavaScript)', ...reason(failed) };
}

function reason(failed: string[]): { fallbackReason?: string } {
  return failed.length > 0 ? { fallbackReason: failed.join('; ') } : {};
}

function notInstalled(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}
