/**
 * The exports' preprocessing functions (onnx-export.ts), run by ONNX Runtime on the ONNX functions
 * and by TF.js on the converter's lowerings of them, against the studio's `resizeBilinear` and
 * `cropBox`: `ResizeAntialiased` shrinking (where antialiasing reads every pixel), enlarging, one
 * axis each way, and the same size; `CenterCrop` then `ResizeAntialiased`, as a center-crop
 * teacher's images are prepared, for wide, tall, odd-margined and already-fitting images. Prints the
 * largest differences, in levels of 0–255.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder, FLOAT, int } from '../../../src/main/engines/onnx-graph';
import { cropBox, resizeBilinear, type RgbImage } from '../../../src/main/engines/preprocess';
import { CENTER_CROP, RESIZE_ANTIALIASED, STUDIO_DOMAIN, centerCropFunction, resizeAntialiasedFunction } from '../../../src/main/export/onnx-export';
import { convertOnnxToTfjsGraph, writeTfjsGraphModel } from '../../../src/main/export/onnx-to-tfjs';
import { loadExportedGraphModel } from '../../helpers/exported-graph-model';
import { tempDir } from '../../helpers/fixtures';
import { seededRandom } from '../engines/tiny-graph-model';

const { onnx } = onnxProto;

/**
 * pixels (uint8 [height, width, 3]) → float → [1, H, W, 3] → (`crop`: CenterCrop to the aspect of
 * [outHeight, outWidth]) → ResizeAntialiased to [outHeight, outWidth] → `resized`, as the exports' graphs begin.
 */
function resizeModel(outHeight: number, outWidth: number, crop = false): Uint8Array {
  const g = new GraphBuilder();
  const batch = g.node('Unsqueeze', [g.node('Cast', ['pixels'], 'float', [int('to', FLOAT)]), g.int64('batch_axis', [0])], 'batch');
  const image = crop ? g.node(CENTER_CROP, [batch, g.int64('aspect', [outHeight, outWidth])], 'cropped', [], STUDIO_DOMAIN) : batch;
  g.node(RESIZE_ANTIALIASED, [image, g.int64('sizes', [outHeight, outWidth])], 'resized', [], STUDIO_DOMAIN);
  const dim = [{ dimParam: 'height' }, { dimParam: 'width' }, { dimValue: 3 }];
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }, { domain: STUDIO_DOMAIN, version: 1 }],
    functions: [resizeAntialiasedFunction(13), centerCropFunction(13)],
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

/** Checks the model's `resized` against `expected` on ONNX Runtime and TF.js (cpu, wasm); returns the figures. */
async function expectResized(model: Uint8Array, image: RgbImage, expected: Float32Array, outWidth: number, outHeight: number, folder: string): Promise<string> {
  const { width, height } = image;
  // The graphs compute the weights in float32 from positions up to the image's size, so each
  // carries ~size · 2⁻²⁴ of relative error: a few of those, of 255 levels, is the bound.
  const bound = 255 * Math.max(width, height) * 2 ** -22;
  const session = await ort.InferenceSession.create(model);
  const { resized } = await session.run({ pixels: new ort.Tensor('uint8', image.data, [height, width, 3]) });
  await session.release();
  expect(resized.dims).toEqual([1, outHeight, outWidth, 3]);
  const onnxDifference = maxDifference(resized.data as Float32Array, expected);
  const figures = [`onnxruntime ${onnxDifference.toExponential(2)}`];
  expect(onnxDifference).toBeLessThanOrEqual(bound);

  await writeTfjsGraphModel(folder, convertOnnxToTfjsGraph(model, { source: 'resize' }));
  for (const backend of ['cpu', 'wasm']) {
    await tf.setBackend(backend);
    const graph = await loadExportedGraphModel(folder);
    const pixels = tf.tensor3d(Int32Array.from(image.data), [height, width, 3], 'int32');
    const y = graph.execute({ pixels }, 'resized') as tf.Tensor;
    expect(y.shape).toEqual([1, outHeight, outWidth, 3]);
    const difference = maxDifference(await y.data(), expected);
    figures.push(`tfjs ${backend} ${difference.toExponential(2)}`);
    expect(difference).toBeLessThanOrEqual(bound);
    tf.dispose([pixels, y]);
    graph.dispose();
  }
  return figures.join(', ');
}

function randomImage(width: number, height: number): RgbImage {
  const random = seededRandom(width * height);
  return { data: Uint8Array.from({ length: width * height * 3 }, () => Math.floor(random() * 256)), width, height };
}

describe('ResizeAntialiased in the exported graphs', () => {
  // [width, height] → [outWidth, outHeight]: a photo to ResNet's 32 and to 224, a small image up, mixed, the same size.
  const cases = [[451, 300, 32, 24], [600, 400, 224, 224], [7, 5, 33, 20], [100, 10, 30, 40], [64, 48, 64, 48]];

  it.each(cases)('%i×%i → %i×%i: ONNX Runtime and TF.js (cpu, wasm) give resizeBilinear to float32 precision', async (width, height, outWidth, outHeight) => {
    const image = randomImage(width, height);
    const expected = resizeBilinear(image, { top: 0, left: 0, width, height }, outWidth, outHeight);
    const figures = await expectResized(resizeModel(outHeight, outWidth), image, expected, outWidth, outHeight, `${dir.path}/${width}x${height}-${outWidth}x${outHeight}`);
    console.log(`ResizeAntialiased ${width}×${height} → ${outWidth}×${outHeight}, max |Δ| against resizeBilinear (levels): ${figures}`);
  }, 60_000);
});

describe('CenterCrop in the exported graphs', () => {
  // [width, height] → [outWidth, outHeight]: wide and tall photos to a square, a 7:5 teacher (odd
  // margins), a small image up to a near aspect, the teacher's own aspect (no crop), a 1 px strip.
  const cases = [[451, 300, 224, 224], [300, 451, 32, 32], [101, 50, 224, 160], [7, 5, 33, 20], [64, 48, 32, 24], [1000, 1, 2, 1]];

  it.each(cases)('%i×%i → %i×%i: ONNX Runtime and TF.js (cpu, wasm) crop the cropBox and resize it to float32 precision', async (width, height, outWidth, outHeight) => {
    const image = randomImage(width, height);
    const box = cropBox(width, height, { width: outWidth, height: outHeight, resize: 'center-crop' });
    const expected = resizeBilinear(image, box, outWidth, outHeight);
    const figures = await expectResized(resizeModel(outHeight, outWidth, true), image, expected, outWidth, outHeight, `${dir.path}/crop-${width}x${height}-${outWidth}x${outHeight}`);
    console.log(`CenterCrop ${width}×${height} → box ${box.width}×${box.height} at (${box.left}, ${box.top}) → ${outWidth}×${outHeight}, max |Δ| (levels): ${figures}`);
  }, 60_000);
});
