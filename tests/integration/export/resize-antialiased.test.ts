/**
 * The exports' `ResizeAntialiased` (onnx-export.ts), run by ONNX Runtime on the ONNX function and by
 * TF.js on the converter's lowering of it, against the studio's `resizeBilinear`: shrinking (where
 * antialiasing reads every pixel), enlarging, one axis each way, and the same size. Prints the
 * largest differences, in levels of 0–255.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, FLOAT, int } from '../../../src/main/engines/onnx-graph';
import { resizeBilinear, type RgbImage } from '../../../src/main/engines/preprocess';
import { RESIZE_ANTIALIASED, STUDIO_DOMAIN, resizeAntialiasedFunction } from '../../../src/main/export/onnx-export';
import { convertOnnxToTfjsGraph, writeTfjsGraphModel } from '../../../src/main/export/onnx-to-tfjs';
import { loadExportedGraphModel } from '../../helpers/exported-graph-model';
import { tempDir } from '../../helpers/fixtures';
import { seededRandom } from '../engines/tiny-graph-model';

const { onnx } = onnxProto;

/** pixels (uint8 [height, width, 3]) → float → [1, H, W, 3] → ResizeAntialiased to [outHeight, outWidth] → `resized`, as the exports' graphs begin. */
function resizeModel(outHeight: number, outWidth: number): Uint8Array {
  const g = new GraphBuilder();
  const batch = g.node('Unsqueeze', [g.node('Cast', ['pixels'], 'float', [int('to', FLOAT)]), g.int64('batch_axis', [0])], 'batch');
  g.node(RESIZE_ANTIALIASED, [batch, g.int64('sizes', [outHeight, outWidth])], 'resized', [], STUDIO_DOMAIN);
  const dim = [{ dimParam: 'height' }, { dimParam: 'width' }, { dimValue: 3 }];
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }, { domain: STUDIO_DOMAIN, version: 1 }],
    functions: [resizeAntialiasedFunction(13)],
    graph: {
      name: 'resize',
      node: g.nodes,
      initializer: g.initializers,
      input: [{ name: 'pixels', type: { tensorType: { elemType: onnx.TensorProto.DataType.UINT8, shape: { dim } } } }],
      output: [{ name: 'resized', type: { tensorType: { elemType: FLOAT } } }],
    },
  }).finish();
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('atl-resize-');
});
afterAll(() => dir.remove());

describe('ResizeAntialiased in the exported graphs', () => {
  // [width, height] → [outWidth, outHeight]: a photo to ResNet's 32 and to 224, a small image up, mixed, the same size.
  const cases = [[451, 300, 32, 24], [600, 400, 224, 224], [7, 5, 33, 20], [100, 10, 30, 40], [64, 48, 64, 48]];

  it.each(cases)('%i×%i → %i×%i: ONNX Runtime and TF.js (cpu, wasm) give resizeBilinear to float32 precision', async (width, height, outWidth, outHeight) => {
    // The graphs compute the weights in float32 from positions up to the image's size, so each
    // carries ~size · 2⁻²⁴ of relative error: a few of those, of 255 levels, is the bound.
    const bound = 255 * Math.max(width, height) * 2 ** -22;
    const random = seededRandom(width * height);
    const image: RgbImage = { data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256)), width, height };
    const expected = resizeBilinear(image, { top: 0, left: 0, width, height }, outWidth, outHeight);
    const model = resizeModel(outHeight, outWidth);

    const session = await ort.InferenceSession.create(model);
    const { resized } = await session.run({ pixels: new ort.Tensor('uint8', image.data, [height, width, 3]) });
    await session.release();
    expect(resized.dims).toEqual([1, outHeight, outWidth, 3]);
    const figures = [`onnxruntime ${maxDifference(resized.data as Float32Array, expected).toExponential(2)}`];
    expect(maxDifference(resized.data as Float32Array, expected)).toBeLessThanOrEqual(bound);

    const folder = `${dir.path}/${width}x${height}-${outWidth}x${outHeight}`;
    await writeTfjsGraphModel(folder, convertOnnxToTfjsGraph(model, { source: 'resize' }));
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const graph = await loadExportedGraphModel(folder);
      const pixels = tf.tensor3d(Int32Array.from(image.data), [height, width, 3], 'int32');
      const y = graph.execute({ pixels }, 'resized') as tf.Tensor;
      expect(y.shape).toEqual([1, outHeight, outWidth, 3]);
      const values = await y.data();
      figures.push(`tfjs ${backend} ${maxDifference(values, expected).toExponential(2)}`);
      expect(maxDifference(values, expected)).toBeLessThanOrEqual(bound);
      tf.dispose([pixels, y]);
      graph.dispose();
    }
    console.log(`ResizeAntialiased ${width}×${height} → ${outWidth}×${outHeight}, max |Δ| against resizeBilinear (levels): ${figures.join(', ')}`);
  }, 60_000);
});
