/**
 * Runs an export's model as a client does: the image decoded to RGB bytes (the studio's
 * `decodeImage`, which decode.mjs mirrors) and fed unresized as the one `pixels` input.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';
import { decodeImage } from '../../../src/main/engines/preprocess';
import { loadExportedGraphModel } from '../../helpers/exported-graph-model';

/** Class probabilities of model.onnx in `folder` for each image. */
export async function runExportedOnnx(folder: string, paths: string[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(join(folder, 'model.onnx'));
  const out: Float32Array[] = [];
  for (const path of paths) {
    const { data, width, height } = await decodeImage(readFileSync(path));
    const result = await session.run({ pixels: new ort.Tensor('uint8', data, [height, width, 3]) });
    out.push(result.probabilities.data as Float32Array);
  }
  await session.release();
  return out;
}

/** Class probabilities of the TF.js graph model in `folder` (WebAssembly backend) for each image. */
export async function runExportedTfjs(folder: string, paths: string[]): Promise<Float32Array[]> {
  await tf.setBackend('wasm');
  const model = await loadExportedGraphModel(folder);
  const out: Float32Array[] = [];
  for (const path of paths) {
    const { data, width, height } = await decodeImage(readFileSync(path));
    const pixels = tf.tensor3d(Int32Array.from(data), [height, width, 3], 'int32');
    const y = model.execute({ pixels }, 'probabilities') as tf.Tensor;
    out.push((await y.data()) as Float32Array);
    tf.dispose([pixels, y]);
  }
  model.dispose();
  return out;
}

/** The largest |Δp| between the studio's stored probabilities and an export's, image by image. */
export function maxAbsDifference(expected: readonly { probabilities: Float32Array }[], actual: Float32Array[]): number {
  let worst = 0;
  expected.forEach((p, i) => {
    expect(actual[i]).toHaveLength(p.probabilities.length);
    p.probabilities.forEach((v, c) => (worst = Math.max(worst, Math.abs(v - actual[i][c]))));
  });
  return worst;
}
