/**
 * The worker thread of image-preparer.ts: prepares each batch of image paths it is sent for the
 * teacher input in `workerData.spec`, and sends the tensors back (their memory moved, not copied).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PreprocessSpec } from '../engines/preprocess';
import { prepareImages, type PreparerMessage, type PrepareRequest } from './image-preparer';

const port = parentPort;
if (!port) throw new Error('image-preparer-worker runs as a worker thread of image-preparer.ts');
const spec = (workerData as { spec: PreprocessSpec }).spec;

port.on('message', async ({ id, paths }: PrepareRequest) => {
  const images = await prepareImages(paths, spec);
  const moved = images.flatMap((image) => ('tensor' in image ? [image.tensor.buffer as ArrayBuffer] : []));
  port.postMessage({ id, images } satisfies PreparerMessage, moved);
});
port.postMessage({ ready: true } satisfies PreparerMessage);
