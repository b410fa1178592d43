/**
 * Strategies fitted, and the label-next order ranked, on another thread when the feature set is
 * large. A fit on thousands of labels, or a ranking of a pool of 70,000 images, takes tens of
 * seconds of pure computation; on the service's own thread it would stall every request meanwhile
 * (thumbnails, progress, the cancel itself). Here such work runs on worker threads
 * (compute-worker.ts): episodes spread over the cores, and a cancel terminates them at once.
 * Small sets (every few-shot task) stay on this thread: starting a thread would cost more than the work.
 */
import { availableParallelism, freemem } from 'node:os';
import { Worker } from 'node:worker_threads';
import { errorMessage, StudioError } from '../core/errors';
import { appendEpisode, newRuns, runEpisodesAsync, type EpisodeRunner, type StrategyRun, type StrategyToRun } from '../atl/evaluate';
import type { Episode } from '../atl/episodes';
import type { Candidate, FeatureSet } from '../atl/features';
import type { HeadParams } from '../atl/head-params';
import { createStrategy, type ResolvedStrategySpec } from '../atl/strategies';
import type { Matrix } from '../atl/matrix';
import { suggestOrder, type SuggestedItem, type SuggestOptions, type SuggestProgress } from '../atl/suggest';
import type { ErrorCode } from '../../shared/contract';
import { workerEntry } from './worker-entry';

/**
 * Feature values (rows × every candidate's dim) above which the work goes to a worker thread.
 * 2²² values (16 MB of float32): each of a logistic fit's 100–200 L-BFGS evaluations reads the
 * chosen blocks, so a fit there takes seconds on one core and grows with the set, while starting a
 * thread and copying the set costs tens of milliseconds (bundle).
 */
export const IN_THREAD_MAX_VALUES = 2 ** 22;

/** A feature set as a worker message (its blocks in shared memory: see `wire`). */
export interface WireFeatures {
  candidates: Candidate[];
  rows: number;
  blocks: [string, Float32Array][];
}

export type ComputeRequest =
  | { type: 'episodes'; features: WireFeatures; episodes: readonly Episode[]; strategies: readonly StrategyToRun[] }
  | { type: 'fit'; features: WireFeatures; labels: Int32Array; spec: ResolvedStrategySpec }
  | { type: 'suggest'; task: SuggestTask };

/** `suggestOrder`'s arguments (`features` in shared memory when sent to a worker). */
export interface SuggestTask {
  features: Matrix;
  labeled: readonly number[];
  pool: readonly number[];
  uncertainty: Float64Array | null;
  options: Partial<SuggestOptions>;
}

export type ComputeReply =
  /** One more episode done: its runs, as `runEpisodes` gives them for that episode alone. */
  | { type: 'episode'; runs: StrategyRun[] }
  | { type: 'progress'; progress: SuggestProgress }
  | { type: 'done'; head?: HeadParams; picks?: SuggestedItem[] }
  | { type: 'error'; code: ErrorCode; message: string };

export function valueCount(features: FeatureSet): number {
  return features.rows * features.candidates.reduce((total, c) => total + c.dim, 0);
}

/**
 * `runEpisodesAsync`, on worker threads when the set has more than `inThreadMaxValues` values: the
 * episodes are dealt round-robin to `threads` threads (one per core by default), which read one
 * shared copy of the features. Cancelled: the runs hold the episodes finished, in order.
 */
export function episodeRunner(inThreadMaxValues = IN_THREAD_MAX_VALUES, threads = availableParallelism()): EpisodeRunner {
  return async (features, episodes, strategies, options = {}) => {
    const values = valueCount(features);
    if (values <= inThreadMaxValues) return runEpisodesAsync(features, episodes, strategies, options);
    const runs = newRuns(strategies);
    if (options.signal?.aborted) return runs;
    const shared = wire(features);
    const finished: (StrategyRun[] | undefined)[] = [];
    let appended = 0;
    // One signal for every thread: the caller's cancel, or the first thread that fails.
    const stop = new AbortController();
    const cancel = () => stop.abort();
    options.signal?.addEventListener('abort', cancel, { once: true });
    // Each thread holds about three copies of an episode's values (its rows, normalized, concatenated):
    // no more threads than half the free memory takes.
    const fit = Math.floor((0.5 * freemem()) / (3 * 4 * values));
    const count = Math.max(1, Math.min(threads, episodes.length, fit));
    try {
      await Promise.all(
        Array.from({ length: count }, async (_, t) => {
          const mine = episodes.map((_, i) => i).filter((i) => i % count === t);
          let received = 0;
          const request: ComputeRequest = { type: 'episodes', features: shared, episodes: mine.map((i) => episodes[i]), strategies };
          await inWorker(request, stop.signal, (reply) => {
            if (reply.type !== 'episode') return;
            finished[mine[received++]] = reply.runs;
            // Threads finish out of order; episodes are added in order, so a cancel keeps a prefix.
            while (!stop.signal.aborted && finished[appended]) {
              appendEpisode(runs, finished[appended]!);
              options.onEpisode?.(++appended);
            }
          }).catch((error: unknown) => {
            stop.abort();
            throw error;
          });
        }),
      );
    } finally {
      options.signal?.removeEventListener('abort', cancel);
    }
    return runs;
  };
}

export const runEpisodesOffThread = episodeRunner();

/** The strategy fitted on every row, as a head (on a worker thread when the set is large); null when `signal` aborts first. */
export async function fitOffThread(
  features: FeatureSet,
  labels: Int32Array,
  spec: ResolvedStrategySpec,
  signal?: AbortSignal,
  inThreadMaxValues = IN_THREAD_MAX_VALUES,
): Promise<HeadParams | null> {
  if (valueCount(features) <= inThreadMaxValues) return signal?.aborted ? null : createStrategy(spec).fit(features, labels).toHead();
  const done = await inWorker({ type: 'fit', features: wire(features), labels, spec }, signal);
  return done?.head ?? null;
}

/**
 * `suggestOrder` on `task`, on a worker thread when its features hold more than `inThreadMaxValues`
 * values (a pool of 70,000 images takes tens of seconds: the service keeps answering meanwhile, and
 * a cancel ends the ranking at once); null when `signal` aborts first.
 */
export async function suggestOffThread(
  task: SuggestTask,
  { signal, onProgress }: { signal?: AbortSignal; onProgress?: (progress: SuggestProgress) => void } = {},
  inThreadMaxValues = IN_THREAD_MAX_VALUES,
): Promise<SuggestedItem[] | null> {
  const { features, labeled, pool, uncertainty, options } = task;
  if (features.data.length <= inThreadMaxValues) {
    // Here a cancel takes effect at the next progress report (every thousand rows at most).
    const cancelled = new Error('cancelled');
    try {
      if (signal?.aborted) return null;
      return suggestOrder(features, labeled, pool, uncertainty, options, (progress) => {
        onProgress?.(progress);
        if (signal?.aborted) throw cancelled;
      });
    } catch (error) {
      if (error === cancelled) return null;
      throw error;
    }
  }
  const shared = { ...task, features: { rows: features.rows, cols: features.cols, data: sharedCopy(features.data) } };
  const done = await inWorker({ type: 'suggest', task: shared }, signal, (reply) => {
    if (reply.type === 'progress') onProgress?.(reply.progress);
  });
  return done?.picks ?? null;
}

function sharedCopy(data: Float32Array): Float32Array {
  const copy = new Float32Array(new SharedArrayBuffer(data.byteLength));
  copy.set(data);
  return copy;
}

/** The blocks copied once into shared memory: every thread reads them, none gets a copy of its own. */
function wire(features: FeatureSet): WireFeatures {
  return { candidates: [...features.candidates], rows: features.rows, blocks: features.keys.map((key) => [key, sharedCopy(features.block(key).data)]) };
}

/**
 * One request on a new worker thread; `onReply` hears its replies before the last; resolves with
 * its `done` reply, or null when `signal` aborts (the thread is terminated).
 */
function inWorker(
  request: ComputeRequest,
  signal: AbortSignal | undefined,
  onReply?: (reply: Extract<ComputeReply, { type: 'episode' | 'progress' }>) => void,
): Promise<Extract<ComputeReply, { type: 'done' }> | null> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return resolve(null);
    const entry = workerEntry(import.meta.url, 'compute-worker');
    const thread = new Worker(entry.url, { workerData: entry.workerData });
    let settled = false;
    const settle = (finish: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', cancel);
      void thread.terminate();
      finish();
    };
    const cancel = () => settle(() => resolve(null));
    signal?.addEventListener('abort', cancel, { once: true });
    thread.on('message', (reply: ComputeReply) => {
      if (settled) return; // replies the thread sent before a cancel reached it
      if (reply.type === 'episode' || reply.type === 'progress') onReply?.(reply);
      else if (reply.type === 'done') settle(() => resolve(reply));
      else settle(() => reject(new StudioError(reply.code, reply.message)));
    });
    thread.on('error', (error) => settle(() => reject(new StudioError('internal', `The compute thread failed: ${errorMessage(error)}`))));
    thread.on('exit', (code) => settle(() => reject(new StudioError('internal', `The compute thread stopped before it finished (exit code ${code})`))));
    thread.postMessage(request);
  });
}
