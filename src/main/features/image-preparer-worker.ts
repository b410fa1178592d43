/**
 * The worker thread of image-preparer.ts: prepares each batch of image paths it is sent for the
 * teacher input it names into the shared batch buffer it is sent, and says which it could.
 */
import { parentPort } from 'node:worker_threads';
import { prepareImages, type PreparerMessage, type PrepareRequest } from './image-preparer';

const port = parentPort;
if (!port) throw new Error('image-preparer-worker runs as a worker thread of image-preparer.ts');

port.on('message', async ({ id, paths, spec, into }: PrepareRequest) => {
  port.postMessage({ id, images: await prepareImages(paths, spec, into) } satisfies PreparerMessage);
});
port.postMessage({ ready: true } satisfies PreparerMessage);
