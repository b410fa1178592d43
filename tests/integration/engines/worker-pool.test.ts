/**
 * The TF.js worker pool: several threads, each with its own WebAssembly backend and copy of
 * MobileNet v1, must give exactly the single-thread TF.js extractor's maps, and clean up after.
 */
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureExtractor } from '../../../src/main/engines/feature-extractor';
import { imageLength, preprocessImage } from '../../../src/main/engines/preprocess';
import { mobilenetV1Teacher, type TeacherSpec } from '../../../src/main/engines/teachers';
import { createTfjsExtractor } from '../../../src/main/engines/tfjs-extractor';
import { createTfjsWorkerPool, type TfjsWorkerPool } from '../../../src/main/engines/tfjs-worker-pool';
import { CIFAR10_MINI, SHARED } from '../../helpers/fixtures';

const MOBILENET = join(SHARED, 'models/mobilenet_v1_0.75_224');
const PHOTOS = join(SHARED, 'datasets/photos');
const LAYERS = ['conv_pw_3_relu', 'conv_pw_11_relu', 'global_average_pooling2d_1'];

describe.skipIf(!existsSync(join(MOBILENET, 'model.json')))('TF.js worker pool', () => {
  let teacher: TeacherSpec;
  let single: FeatureExtractor;
  let pool: TfjsWorkerPool;
  let batch: Float32Array;

  beforeAll(async () => {
    teacher = await mobilenetV1Teacher(MOBILENET);
    const files = [
      ...readdirSync(PHOTOS).filter((f) => f.endsWith('.png')).slice(0, 2).map((f) => join(PHOTOS, f)),
      join(CIFAR10_MINI, 'cat', '0000.jpg'),
      join(CIFAR10_MINI, 'ship', '0001.jpg'),
    ];
    const length = imageLength(teacher.preprocess);
    batch = new Float32Array(files.length * length);
    for (const [i, file] of files.entries()) batch.set(await preprocessImage(await readFile(file), teacher.preprocess), i * length);
    [single, pool] = await Promise.all([createTfjsExtractor(teacher), createTfjsWorkerPool(teacher, { workers: 2 })]);
  });
  afterAll(async () => {
    await pool?.dispose();
    await single?.dispose();
  });

  it('describes its workers and lists the same layers', () => {
    expect(pool.describe()).toMatchObject({ engine: 'tfjs', backend: 'wasm' });
    expect(pool.describe().device).toMatch(/WebAssembly.*, 2 worker threads$/);
    expect(pool.layers).toEqual(single.layers);
  });

  it('gives the single-thread extractor’s maps for a batch of 4 split over 2 workers', async () => {
    const copy = batch.slice();
    const [expected, actual] = [await single.run(batch, 4, LAYERS), await pool.run(batch, 4, LAYERS)];
    expect(batch).toEqual(copy); // the caller's batch is neither detached nor changed
    expect(pool.liveWorkers()).toBe(2);
    for (const name of LAYERS) {
      const want = expected.get(name)!;
      const got = actual.get(name)!;
      expect(got.shape).toEqual(want.shape);
      let diff = 0;
      for (let i = 0; i < want.data.length; i++) diff = Math.max(diff, Math.abs(want.data[i] - got.data[i]));
      expect(diff, name).toBeLessThanOrEqual(1e-5);
    }
    expect(actual.get('global_average_pooling2d_1')!.shape).toEqual([4, 768]);
  });

  it('rejects the pending run when a worker crashes, then replaces the worker', async () => {
    // The crash reaches worker 2 just before its half of the batch does.
    pool.crashWorkerForTest(1);
    const running = pool.run(batch, 4, LAYERS);
    await expect(running).rejects.toThrow(/TF\.js worker thread 2 crashed: simulated TF\.js worker crash/);
    const again = await pool.run(batch.subarray(0, 2 * imageLength(teacher.preprocess)), 2, ['global_average_pooling2d_1']);
    expect(again.get('global_average_pooling2d_1')!.shape).toEqual([2, 768]);
    expect(pool.liveWorkers()).toBe(2);
  });

  it('leaves no worker running after dispose()', async () => {
    await pool.dispose();
    expect(pool.liveWorkers()).toBe(0);
    await expect(pool.run(batch, 4, LAYERS)).rejects.toThrow(/disposed/);
  });
});
