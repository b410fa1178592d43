/**
 * Fits on large feature sets, and label-next rankings of large pools, run on a worker thread
 * (src/main/services/compute-thread.ts): the same results as on this thread, this thread's event loop keeps running meanwhile, a cancel ends the
 * work at once, errors keep their code, and the bundled worker (out/main/compute-worker.js) runs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { stratifiedSplits } from '../../src/main/atl/episodes';
import { runEpisodes } from '../../src/main/atl/evaluate';
import { createStrategy, resolveStrategy } from '../../src/main/atl/strategies';
import { StudioError } from '../../src/main/core/errors';
import { episodeRunner, fitOffThread, IN_THREAD_MAX_VALUES, suggestOffThread, valueCount, type ComputeReply, type ComputeRequest } from '../../src/main/services/compute-thread';
import { matrix } from '../../src/main/atl/matrix';
import { suggestOrder, type SuggestProgress } from '../../src/main/atl/suggest';
import { seededRandom } from '../../src/shared/seeded-random';
import { syntheticFeatures } from '../unit/atl/synthetic';

const classes = 5;
/** 4 candidates of `dim` dims; on 3 worker threads whatever their size (an in-thread limit of 0 values). */
const onWorker = episodeRunner(0, 3);
const features4 = (dim: number, perClass: number, seed: number) =>
  syntheticFeatures(
    [
      { layer: 'early', dim, signal: 0.3 },
      { layer: 'middle', dim, signal: 1 },
      { layer: 'late', dim, signal: 0.8 },
      { layer: 'head', dim, signal: 0.5, penultimate: true },
    ],
    classes,
    perClass,
    seed,
  );
const byClass = (labels: Int32Array) => Array.from({ length: classes }, (_, c) => [...labels.keys()].filter((i) => labels[i] === c));

describe('compute thread', () => {
  it('runs episodes on several worker threads and the final fit on one, with the results this thread gives', async () => {
    const { features, labels } = features4(64, 20, 1);
    const splits = stratifiedSplits(byClass(labels), 0.25, 5, 7);
    const done: number[] = [];
    const offThread = await onWorker(features, splits, ['penultimate', 'atl'], { onEpisode: (n) => done.push(n) });
    const here = runEpisodes(features, splits, ['penultimate', 'atl']);
    // Dealt to 3 threads, finished out of order, reported and kept in order.
    expect(done).toEqual([1, 2, 3, 4, 5]);
    expect(offThread.map((r) => r.strategy)).toEqual(['penultimate', 'atl']);
    offThread.forEach((run, i) => {
      expect(run.accuracies).toEqual(here[i].accuracies);
      expect(run.predictions).toEqual(here[i].predictions);
      expect([...run.chosen]).toEqual([...here[i].chosen]);
    });
    const spec = resolveStrategy('atl');
    const head = await fitOffThread(features, labels, spec, undefined, 0);
    const expected = createStrategy(spec).fit(features, labels).toHead();
    expect(head!.blocks.map((b) => b.key)).toEqual(expected.blocks.map((b) => b.key));
    expect(Array.from(head!.coef)).toEqual(Array.from(expected.coef));
    expect(Array.from(head!.intercept)).toEqual(Array.from(expected.intercept));
  });

  it('keeps this thread answering during a large fit, and a cancel ends the fit at once', async () => {
    // 2,000 rows × 4 × 1,024: over the studio's in-thread limit, and a fit of many seconds.
    const { features, labels } = features4(1024, 400, 2);
    expect(valueCount(features)).toBeGreaterThan(IN_THREAD_MAX_VALUES);
    const controller = new AbortController();
    let longestGap = 0;
    let last = performance.now();
    const ticker = setInterval(() => {
      longestGap = Math.max(longestGap, performance.now() - last);
      last = performance.now();
    }, 20);
    let abortedAt = 0;
    setTimeout(() => {
      abortedAt = performance.now();
      controller.abort();
    }, 1500);
    const head = await fitOffThread(features, labels, resolveStrategy('atl'), controller.signal);
    const afterAbort = performance.now() - abortedAt;
    clearInterval(ticker);
    // The fit takes far longer than 1.5 s (null: it had not finished); the cancel ends it at once.
    expect(head).toBeNull();
    expect(afterAbort).toBeLessThan(500);
    expect(longestGap).toBeLessThan(500);
  });

  it('ranks what to label next on a worker with the order this thread gives, reporting each pass; a cancel ends it', async () => {
    // 3,000 random rows of 32 dims (over the exact search's 1,000: the cell index runs), a third labeled.
    const random = seededRandom(9);
    const x = matrix(3000, 32, Float32Array.from({ length: 3000 * 32 }, () => random()));
    const labeled = Array.from({ length: 1000 }, (_, i) => 3 * i);
    const pool = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 3 !== 0);
    const uncertainty = Float64Array.from(pool, () => random());
    const task = { features: x, labeled, pool, uncertainty, options: { count: 15 } };
    const progress: SuggestProgress[] = [];
    const picks = await suggestOffThread(task, { onProgress: (p) => progress.push(p) }, 0);
    expect(picks).toEqual(suggestOrder(x, labeled, pool, uncertainty, { count: 15 }));
    expect(progress.filter((p) => p.pass === 'typicality').map((p) => p.done)).toEqual([1024, 2000]);
    expect(progress.filter((p) => p.pass === 'distances').map((p) => p.done)).toEqual([1024, 2000]);
    expect(progress.filter((p) => p.pass === 'picks').map((p) => p.done)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));

    // Cancelled at the first report: on the worker, and on this thread (below the in-thread limit).
    for (const limit of [0, Infinity]) {
      const controller = new AbortController();
      const heard: SuggestProgress[] = [];
      const onProgress = (p: SuggestProgress) => {
        heard.push(p);
        controller.abort();
      };
      expect(await suggestOffThread(task, { signal: controller.signal, onProgress }, limit)).toBeNull();
      expect(heard.length, `in-thread limit ${limit}`).toBeLessThanOrEqual(2);
    }
  });

  it('episodes cancelled on the worker keep the ones finished', async () => {
    const { features, labels } = features4(64, 20, 3);
    const splits = stratifiedSplits(byClass(labels), 0.25, 50, 7);
    const controller = new AbortController();
    const runs = await onWorker(features, splits, ['penultimate'], {
      signal: controller.signal,
      onEpisode: (n) => n === 2 && controller.abort(),
    });
    expect(runs[0].accuracies.length).toBe(2);
    expect(runs[0].predictions.length).toBe(2);
  });

  it("an error on the worker keeps its code and message", async () => {
    const { features } = features4(16, 4, 4);
    const wrong = new Int32Array(features.rows - 1);
    const error = await fitOffThread(features, wrong, resolveStrategy('penultimate'), undefined, 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StudioError);
    expect((error as StudioError).code).toBe('invalid_input');
    expect((error as StudioError).message).toMatch(/rows|labels/i);
  });

  it('the bundled worker (npm run build) fits as the source one does', async () => {
    const bundled = join(import.meta.dirname, '../../out/main/compute-worker.js');
    expect(existsSync(bundled), 'out/main/compute-worker.js is missing: run npm run build').toBe(true);
    const { features, labels } = syntheticFeatures([{ layer: 'head', dim: 8, signal: 3, penultimate: true }], 2, 5, 5);
    const request: ComputeRequest = {
      type: 'fit',
      features: { candidates: [...features.candidates], rows: features.rows, blocks: [['head:gap', features.block('head:gap').data]] },
      labels,
      spec: resolveStrategy('penultimate'),
    };
    const thread = new Worker(pathToFileURL(bundled));
    const reply = await new Promise<ComputeReply>((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', reject);
      thread.postMessage(request);
    });
    await thread.terminate();
    expect(reply.type).toBe('done');
    const expected = createStrategy('penultimate').fit(features, labels).toHead();
    expect(Array.from((reply as { head: { coef: Float64Array } }).head.coef)).toEqual(Array.from(expected.coef));
  });
});
