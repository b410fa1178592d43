/**
 * Extraction's image preparation on worker threads (features/image-preparer.ts): the same tensors
 * and the same reasons for bad images as on this thread, work handed back when it closes, threads
 * kept for the next preparer, and how many threads it takes. Real images, real sharp.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { PreprocessSpec } from '../../src/main/engines/preprocess';
import {
  batchBuffer,
  createImagePreparer,
  endIdleThreads,
  IDLE_THREAD_MS,
  preparedTensor,
  preparerThreads,
  THREAD_MIN_IMAGES,
  type ImagePreparer,
  type PrepareReply,
  type PreparedImage,
  type PreparerMessage,
} from '../../src/main/features/image-preparer';
import { CIFAR10_MINI, OMNIGLOT_SMALL1, tempDir } from '../helpers/fixtures';

const dir = tempDir();
afterAll(async () => {
  dir.remove();
  await endIdleThreads();
});

const first = (folder: string, count: number) => {
  const sub = join(folder, readdirSync(folder).sort()[0]);
  const leaf = readdirSync(sub).some((f) => f.includes('.')) ? sub : join(sub, readdirSync(sub).sort()[0]);
  return readdirSync(leaf).sort().slice(0, count).map((f) => join(leaf, f));
};
const broken = join(dir.path, 'broken.png');
writeFileSync(broken, readFileSync(first(OMNIGLOT_SMALL1, 1)[0]).subarray(0, 60));
const paths = [...first(CIFAR10_MINI, 5), broken, ...first(OMNIGLOT_SMALL1, 4), join(dir.path, 'gone.jpg')];

const SPECS: PreprocessSpec[] = [
  { width: 224, height: 224, resize: 'stretch', normalization: { kind: 'scale', scale: 1 / 127.5, offset: -1 }, channelOrder: 'RGB', layout: 'NHWC' },
  { width: 32, height: 32, resize: 'center-crop', normalization: { kind: 'mean-std', mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] }, channelOrder: 'RGB', layout: 'NCHW' },
];

/**
 * Tensors as bytes (compared bit for bit) and reasons, in order. A decode error's detail is
 * libvips's, which does not always say the same of one file when several decode at once
 * ("libpng read error", "Unknown error"): its kind is compared.
 */
const comparable = (images: PreparedImage[], into: Float32Array, spec: PreprocessSpec) =>
  images.map((p, i) => ('prepared' in p ? Buffer.from(preparedTensor(into, spec, i).slice().buffer).toString('base64') : p.reason.replace(/^(Cannot decode): .*/, '$1')));

/** `comparable` for what `preparer` prepares of `paths`, into a fresh batch buffer. */
/** The worker threads a preparer holds now (its private list, read for the tests that stop or follow them). */
const workersOf = (preparer: ImagePreparer) => (preparer as unknown as { threads: { worker: Worker }[] }).threads.map((t) => t.worker);

async function prepared(preparer: ImagePreparer, spec: PreprocessSpec, images: readonly string[]): Promise<string[]> {
  const into = batchBuffer(spec, images.length);
  return comparable(await preparer.prepare(images, into), into, spec);
}

describe('image preparer', () => {
  it.each(SPECS)('prepares on a worker thread bit for bit what this thread prepares, bad images included (%#)', async (spec) => {
    const here = createImagePreparer(spec, 0);
    const threads = createImagePreparer(spec, 2);
    try {
      const expected = await prepared(here, spec, paths);
      expect(expected.filter((p) => p.length > 1000)).toHaveLength(9);
      expect(expected[5]).toBe('Cannot decode');
      expect(expected.at(-1)).toBe('The original file was moved or deleted');
      expect(await threads.started).toBe(2);
      // Two requests at once, on two threads.
      const [a, b] = await Promise.all([prepared(threads, spec, paths.slice(0, 6)), prepared(threads, spec, paths.slice(6))]);
      expect([...a, ...b]).toEqual(expected);
    } finally {
      await here.close();
      await threads.close();
    }
  });

  it('prepares on this thread until a thread has started, so the first batches do not wait for it', async () => {
    await endIdleThreads(); // none parked by the tests before: a thread must start
    const threads = createImagePreparer(SPECS[0], 1);
    try {
      // Two images take ~10 ms here; a thread takes 0.1–0.6 s to load sharp (and from source, tsx).
      const first = await Promise.race([prepared(threads, SPECS[0], paths.slice(0, 2)).then(() => 'prepared'), threads.started.then(() => 'thread started')]);
      expect(first).toBe('prepared');
      expect(await threads.started).toBe(1);
    } finally {
      await threads.close();
    }
  });

  it('prepares what is pending when it closes on this thread instead', async () => {
    const threads = createImagePreparer(SPECS[0], 1);
    await threads.started;
    const pending = prepared(threads, SPECS[0], paths);
    await threads.close();
    expect(await pending).toEqual(await prepared(createImagePreparer(SPECS[0], 0), SPECS[0], paths));
  });

  it('prepares here what a thread had pending when it stops mid-request, and everything after', async () => {
    const threads = createImagePreparer(SPECS[1], 1);
    const expected = await prepared(createImagePreparer(SPECS[1], 0), SPECS[1], paths);
    try {
      expect(await threads.started).toBe(1);
      const pending = prepared(threads, SPECS[1], paths);
      // The thread stops as a crash would stop it: from outside, with a request in flight.
      await workersOf(threads)[0].terminate();
      expect(await pending).toEqual(expected);
      expect(await prepared(threads, SPECS[1], paths)).toEqual(expected);
    } finally {
      await threads.close();
    }
  });

  it('rejects a batch buffer too small for the paths, and memory the threads cannot share', async () => {
    const here = createImagePreparer(SPECS[1], 0);
    const threads = createImagePreparer(SPECS[1], 1);
    const unshared = () => new Float32Array(batchBuffer(SPECS[1], paths.length).length);
    try {
      await expect(here.prepare(paths, batchBuffer(SPECS[1], 2))).rejects.toThrow(/cannot hold 11 images/);
      // Before its thread is ready as after.
      await expect(threads.prepare(paths, unshared())).rejects.toThrow(/shared memory/);
      expect(await threads.started).toBe(1);
      await expect(threads.prepare(paths, batchBuffer(SPECS[1], 2))).rejects.toThrow(/cannot hold 11 images/);
      await expect(threads.prepare(paths, unshared())).rejects.toThrow(/shared memory/);
    } finally {
      await threads.close();
    }
  });

  it('keeps its ready threads for the next preparer, which may prepare for another teacher; never one that stopped while parked', async () => {
    const expected = await prepared(createImagePreparer(SPECS[1], 0), SPECS[1], paths);
    await endIdleThreads();
    const first = createImagePreparer(SPECS[0], 2);
    expect(await first.started).toBe(2);
    await prepared(first, SPECS[0], paths.slice(0, 4));
    const parked = workersOf(first);
    await first.close();

    const second = createImagePreparer(SPECS[1], 2);
    const reused = workersOf(second);
    try {
      expect(new Set(reused)).toEqual(new Set(parked));
      expect(await second.started).toBe(2);
      // Each thread serves the new teacher's input, not the one it first prepared for.
      const [a, b] = await Promise.all([prepared(second, SPECS[1], paths.slice(0, 6)), prepared(second, SPECS[1], paths.slice(6))]);
      expect([...a, ...b]).toEqual(expected);
    } finally {
      await second.close();
    }

    // A parked thread that stops (as a crash stops it) is not handed out: a fresh one starts in its place.
    await reused[0].terminate();
    const third = createImagePreparer(SPECS[1], 2);
    try {
      expect(workersOf(third)).toContain(reused[1]);
      expect(workersOf(third)).not.toContain(reused[0]);
      expect(await third.started).toBe(2);
      const [a, b] = await Promise.all([prepared(third, SPECS[1], paths.slice(0, 6)), prepared(third, SPECS[1], paths.slice(6))]);
      expect([...a, ...b]).toEqual(expected);
    } finally {
      await third.close();
    }
  });

  it('ends a parked thread after IDLE_THREAD_MS unused', async () => {
    await endIdleThreads();
    const preparer = createImagePreparer(SPECS[1], 1);
    expect(await preparer.started).toBe(1);
    const [worker] = workersOf(preparer);
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await preparer.close();
      vi.advanceTimersByTime(IDLE_THREAD_MS - 1);
      expect(await Promise.race([exited.then(() => 'ended'), new Promise((r) => setImmediate(() => r('running')))])).toBe('running');
      vi.advanceTimersByTime(1);
    } finally {
      vi.useRealTimers();
    }
    await exited;
    // The next preparer starts a thread of its own.
    const next = createImagePreparer(SPECS[1], 1);
    expect(workersOf(next)[0]).not.toBe(worker);
    await next.close();
  });

  it('lets a process end while threads are parked (the CLI exits as soon as its extraction is done)', async () => {
    const script = join(dir.path, 'park-and-exit.mts');
    const preparer = pathToFileURL(join(import.meta.dirname, '../../src/main/features/image-preparer.ts')).href;
    writeFileSync(
      script,
      `import { batchBuffer, createImagePreparer } from ${JSON.stringify(preparer)};
const spec = ${JSON.stringify(SPECS[1])};
const threads = createImagePreparer(spec, 1);
console.log('started', await threads.started);
await threads.prepare(${JSON.stringify(paths.slice(0, 2))}, batchBuffer(spec, 2));
await threads.close();
console.log('closed');`,
    );
    const started = performance.now();
    // A thread kept referenced would hold the process for IDLE_THREAD_MS (60 s): the timeout fails it.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { timeout: 30_000 });
    expect(stdout.trim().split('\n')).toEqual(['started 1', 'closed']);
    expect(performance.now() - started).toBeLessThan(IDLE_THREAD_MS / 2);
  }, 40_000);

  it('takes no thread for a few images, else one per core beside the engine’s, at most 4', () => {
    expect(preparerThreads(THREAD_MIN_IMAGES - 1, 16)).toBe(0);
    expect(preparerThreads(THREAD_MIN_IMAGES, 1)).toBe(1);
    expect(preparerThreads(THREAD_MIN_IMAGES, 2)).toBe(1);
    expect(preparerThreads(10_000, 3)).toBe(2);
    expect(preparerThreads(10_000, 16)).toBe(4);
  });

  it('the bundled worker (npm run build) prepares as the source one does', async () => {
    const bundled = join(import.meta.dirname, '../../out/main/image-preparer-worker.js');
    expect(existsSync(bundled), 'out/main/image-preparer-worker.js is missing: run npm run build').toBe(true);
    const thread = new Worker(pathToFileURL(bundled));
    const into = batchBuffer(SPECS[1], paths.length);
    const messages: PreparerMessage[] = [];
    const reply = await new Promise<PrepareReply>((resolve, reject) => {
      thread.on('message', (message: PreparerMessage) => {
        messages.push(message);
        if ('id' in message) resolve(message);
      });
      thread.once('error', reject);
      thread.postMessage({ id: 7, paths, spec: SPECS[1], into });
    });
    await thread.terminate();
    expect(messages[0]).toEqual({ ready: true });
    expect(reply.id).toBe(7);
    expect(comparable(reply.images, into, SPECS[1])).toEqual(await prepared(createImagePreparer(SPECS[1], 0), SPECS[1], paths));
  });
});
