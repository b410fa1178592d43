/**
 * The worker thread of compute-thread.ts: one request per thread, either strategies over episodes
 * (a reply per episode, so a cancel keeps the finished ones), one strategy fitted on every row, or
 * the label-next order (with its progress).
 */
import { parentPort } from 'node:worker_threads';
import { errorMessage, StudioError } from '../core/errors';
import { runEpisodes } from '../atl/evaluate';
import { FeatureSet } from '../atl/features';
import { createStrategy } from '../atl/strategies';
import { suggestOrder } from '../atl/suggest';
import type { ComputeReply, ComputeRequest, WireFeatures } from './compute-thread';

const port = parentPort;
if (!port) throw new Error('compute-worker runs as a worker thread of compute-thread.ts');

port.once('message', (request: ComputeRequest) => {
  try {
    if (request.type === 'suggest') {
      const { features, labeled, pool, uncertainty, options } = request.task;
      const picks = suggestOrder(features, labeled, pool, uncertainty, options, (progress) => reply({ type: 'progress', progress }));
      return reply({ type: 'done', picks });
    }
    const features = unwire(request.features);
    if (request.type === 'fit') {
      reply({ type: 'done', head: createStrategy(request.spec).fit(features, request.labels).toHead() });
    } else {
      for (const episode of request.episodes) reply({ type: 'episode', runs: runEpisodes(features, [episode], request.strategies) });
      reply({ type: 'done' });
    }
  } catch (error) {
    reply({ type: 'error', code: error instanceof StudioError ? error.code : 'internal', message: errorMessage(error) });
  }
});

function unwire({ candidates, rows, blocks }: WireFeatures): FeatureSet {
  return new FeatureSet(candidates, rows, new Map(blocks));
}

function reply(message: ComputeReply): void {
  port!.postMessage(message);
}
