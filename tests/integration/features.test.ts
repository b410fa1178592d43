/**
 * The feature cache and extraction, on a real teacher (ResNet-20, CIFAR-10) and real images.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureExtractor } from '../../src/main/engines/feature-extractor';
import { preprocessImage } from '../../src/main/engines/preprocess';
import { extractFeatures, type ExtractionImage } from '../../src/main/features/extraction';
import { FeatureCache, teacherKey } from '../../src/main/features/feature-cache';
import { pooledLength } from '../../src/main/core/pooling-spec';
import { ModelStore } from '../../src/main/models/model-store';
import { StudioTeacherService, type OpenTeacher, type TeacherService } from '../../src/main/models/teacher-service';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';
import type { JobProgress, StudioEvent } from '../../src/shared/contract';
import { Studio } from '../../src/main/app/studio';

let dir: ReturnType<typeof tempDir>;
let teachers: TeacherService;
let teacher: OpenTeacher;
let images: ExtractionImage[];

function image(path: string): ExtractionImage {
  return { path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') };
}

/** The real extractor, counting the batches it runs (maps or pooled vectors). */
function counting(extractor: FeatureExtractor): FeatureExtractor & { runs: number } {
  const counted = Object.create(extractor) as FeatureExtractor & { runs: number };
  counted.runs = 0;
  counted.run = (...args) => {
    counted.runs++;
    return extractor.run(...args);
  };
  if (extractor.runPooled) {
    counted.runPooled = (...args) => {
      counted.runs++;
      return extractor.runPooled!(...args);
    };
  }
  return counted;
}

beforeAll(async () => {
  dir = tempDir();
  teachers = new StudioTeacherService(new ModelStore(join(dir.path, 'home')));
  teacher = await teachers.get('resnet20_cifar10');
  images = ['cat', 'ship'].flatMap((c) => readdirSync(join(CIFAR10_MINI, c)).sort().slice(0, 12).map((f) => image(join(CIFAR10_MINI, c, f))));
});
afterAll(async () => {
  await teachers.dispose();
  dir.remove();
});

describe('feature cache', () => {
  it('computes each image once: a second run is all cache hits and runs the engine no more', async () => {
    const cache = FeatureCache.openFile(join(dir.path, 'hits.sqlite'));
    const layers = await teachers.resolveLayers('resnet20_cifar10', ['stage2_block2', 'pooled']);
    const extractor = counting(teacher.extractor);
    const first = await extractFeatures({ extractor, cache, teacherKey: teacher.key, layers, pooling: 'gap', images });
    expect(first).toMatchObject({ total: 24, cached: 0, computed: 24, failed: 0 });
    expect(extractor.runs).toBe(3); // batches of 8
    const second = await extractFeatures({ extractor, cache, teacherKey: teacher.key, layers, pooling: 'gap', images });
    expect(second).toMatchObject({ cached: 24, computed: 0 });
    expect(extractor.runs).toBe(3);
    const vectors = cache.get(images.map((i) => i.sha256), teacher.key, 'pooled', 'gap');
    expect(vectors.every((v) => v?.length === 64)).toBe(true);
    // The cached 'pooled' vector is the teacher's own penultimate output, pooled by GAP (identity).
    const direct = await teacher.extractor.run(
      await preprocessImage(readFileSync(images[0].path), teacher.spec.preprocess),
      1,
      ['pooled'],
    );
    expect(Array.from(vectors[0]!)).toEqual(Array.from(direct.get('pooled')!.data));
    cache.close();
  });

  it('never serves vectors of other weights, another preprocessing or another pooling', async () => {
    const cache = FeatureCache.openFile(join(dir.path, 'keys.sqlite'));
    const layers = await teachers.resolveLayers('resnet20_cifar10', ['stage3_block0']);
    const run = (key: string, pooling: 'gap' | 'spatial') =>
      extractFeatures({ extractor: teacher.extractor, cache, teacherKey: key, layers, pooling, images: images.slice(0, 8) });
    await run(teacher.key, 'gap');
    const otherWeights = teacherKey('resnet20_cifar10', 'f'.repeat(64), teacher.spec.preprocess);
    const otherPreprocess = teacherKey('resnet20_cifar10', teacher.weightsSha256, { ...teacher.spec.preprocess, resize: 'center-crop' });
    expect(new Set([teacher.key, otherWeights, otherPreprocess]).size).toBe(3);
    expect((await run(otherWeights, 'gap')).computed).toBe(8);
    expect((await run(otherPreprocess, 'gap')).computed).toBe(8);
    const spatial = await run(teacher.key, 'spatial');
    expect(spatial.computed).toBe(8);
    const [vector] = cache.get([images[0].sha256], teacher.key, 'stage3_block0', 'spatial');
    expect(vector!.length).toBe(pooledLength(layers[0], 'spatial')); // 64 channels × 3×3 grid
    expect((await run(teacher.key, 'gap')).computed).toBe(0);
    cache.close();
  });

  it('resumes a cancelled extraction where it stopped', async () => {
    const cache = FeatureCache.openFile(join(dir.path, 'resume.sqlite'));
    const layers = await teachers.resolveLayers('resnet20_cifar10', 'all');
    const controller = new AbortController();
    const cancelled = await extractFeatures({
      extractor: teacher.extractor, cache, teacherKey: teacher.key, layers, pooling: 'gap', images,
      signal: controller.signal,
      onProgress: (p) => p.done >= 8 && controller.abort(),
    });
    expect(cancelled.cancelled).toBe(true);
    expect(cancelled.computed).toBe(8);
    const resumed = await extractFeatures({ extractor: teacher.extractor, cache, teacherKey: teacher.key, layers, pooling: 'gap', images });
    expect(resumed).toMatchObject({ cached: 8, computed: 16, cancelled: false });
    expect(cache.completeCount(teacher.key, layers.map((l) => l.name), 'gap')).toBe(24);
    cache.close();
  });

  it.each([0, 2])('gives each image its own vector, whichever reused batch buffer and thread prepared it (%i worker threads)', async (preparerThreads) => {
    const cache = FeatureCache.openFile(join(dir.path, `own-${preparerThreads}.sqlite`));
    const layers = await teachers.resolveLayers('resnet20_cifar10', ['pooled']);
    // Six batches of 4 through the two buffers in turn, one of them a failed image short.
    const broken = { path: join(dir.path, 'gone-too.jpg'), sha256: 'd'.repeat(64) };
    const report = await extractFeatures({ extractor: teacher.extractor, cache, teacherKey: teacher.key, layers, pooling: 'gap', images: [...images.slice(0, 9), broken, ...images.slice(9)], batchSize: 4, preparerThreads });
    expect(report).toMatchObject({ computed: 24, failed: 1 });
    const cached = cache.get(images.map((i) => i.sha256), teacher.key, 'pooled', 'gap');
    for (const [i, { path }] of images.entries()) {
      const direct = await teacher.extractor.run(await preprocessImage(readFileSync(path), teacher.spec.preprocess), 1, ['pooled']);
      const expected = direct.get('pooled')!.data;
      expect(Math.max(...cached[i]!.map((v, j) => Math.abs(v - expected[j])))).toBeLessThan(1e-5);
    }
    cache.close();
  });

  it.each([0, 1])('marks an unreadable image failed and extracts the rest of its batch (%i worker threads preparing)', async (preparerThreads) => {
    const cache = FeatureCache.openFile(join(dir.path, `failed-${preparerThreads}.sqlite`));
    const broken = join(dir.path, 'broken.jpg');
    writeFileSync(broken, readFileSync(images[0].path).subarray(0, 100));
    const layers = await teachers.resolveLayers('resnet20_cifar10', ['pooled']);
    const batch = [...images.slice(1, 4), { path: broken, sha256: 'b'.repeat(64) }, { path: join(dir.path, 'gone.jpg'), sha256: 'c'.repeat(64) }];
    const report = await extractFeatures({ extractor: teacher.extractor, cache, teacherKey: teacher.key, layers, pooling: 'gap', images: batch, preparerThreads });
    expect(report.computed).toBe(3);
    expect(report.failures.map((f) => f.path)).toEqual([broken, join(dir.path, 'gone.jpg')]);
    expect(report.failures[0].reason).toMatch(/Cannot decode/);
    expect(report.failures[1].reason).toMatch(/moved or deleted/);
    expect(cache.failures(teacher.key)).toHaveLength(2);
    cache.close();
  });
});

describe('teacher inventory', () => {
  it('lists each teacher with its layers and lets the user choose the layers in use', async () => {
    const { layers } = await teachers.inventory('mobilenet_v1_0.75_224');
    expect(layers.filter((l) => l.enabled).map((l) => l.name)).toEqual([
      ...Array.from({ length: 13 }, (_, i) => `conv_pw_${i + 1}_relu`),
      'global_average_pooling2d_1',
    ]);
    expect(layers.find((l) => l.penultimate)?.name).toBe('global_average_pooling2d_1');
    expect(layers.find((l) => l.name === 'conv_pw_13_relu')).toMatchObject({ channels: 768, spatialSize: [7, 7] });
    await teachers.setEnabledLayers('mobilenet_v1_0.75_224', ['conv_pw_13_relu', 'conv_pw_5_relu']);
    expect(teachers.enabledLayers(await teachers.get('mobilenet_v1_0.75_224'))).toEqual(['conv_pw_5_relu', 'conv_pw_13_relu']);
    await expect(teachers.setEnabledLayers('mobilenet_v1_0.75_224', ['nope'])).rejects.toThrow(/has no layer nope/);
  });
});

describe('extraction as a studio job', () => {
  it('runs in the background with progress that names the engine, and fills the project cache', async () => {
    const studio = new Studio({ home: join(dir.path, 'studio-home'), front: 'web' });
    const events: StudioEvent[] = [];
    studio.onEvent((e) => events.push(e));
    try {
      await studio.invoke('project.create', { name: 'features' });
      await studio.invoke('import.start', { paths: [join(CIFAR10_MINI, 'cat')], labelsFromFolders: false });
      await studio.idle();
      const detail = await studio.invoke('models.inspect', { id: 'resnet20_cifar10' });
      expect(detail.engine).toMatchObject({ engine: 'onnxruntime', backend: 'cpu' });
      expect(detail.layers.find((l) => l.penultimate)).toMatchObject({ name: 'pooled', channels: 64, height: 1 });
      const { jobId } = await studio.invoke('features.extract', { modelId: 'resnet20_cifar10', layers: 'all', pooling: 'spatial' });
      await studio.idle();
      const progress = events.filter((e) => e.type === 'job.progress' && e.job.jobId === jobId).map((e) => (e as { job: JobProgress }).job);
      expect(progress.at(-1)).toMatchObject({ kind: 'extract', state: 'done', done: 50, total: 50 });
      expect(progress.at(-1)!.message).toMatch(/onnxruntime · cpu · CPU/);
      const status = await studio.invoke('features.status', { modelId: 'resnet20_cifar10', pooling: 'spatial' });
      expect(status).toMatchObject({ images: 50, cached: 50, failed: [] });
      expect((await studio.invoke('features.status', { modelId: 'resnet20_cifar10', pooling: 'gap' })).cached).toBe(0);
    } finally {
      await studio.dispose();
    }
  });
});
