/**
 * Feature extraction throughput, per engine available here: end to end (read → decode →
 * preprocess → forward → pool → cache write, as the studio runs it) against the raw forward pass
 * alone on the same batches, measured in the same run. Default teacher, its layers in use (the
 * 13 pointwise blocks + the penultimate), global average pooling. Prints a table, writes JSON.
 *   npm run bench:extract [-- --tfjs-images 160]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { FeatureExtractor } from '../src/main/engines/feature-extractor';
import { createOnnxExtractor } from '../src/main/engines/onnx-extractor';
import { preprocessImage } from '../src/main/engines/preprocess';
import { createTfjsExtractor } from '../src/main/engines/tfjs-extractor';
import { createTfjsWorkerPool } from '../src/main/engines/tfjs-worker-pool';
import { extractFeatures, type ExtractionImage } from '../src/main/features/extraction';
import { FeatureCache, teacherKey } from '../src/main/features/feature-cache';
import { ModelStore } from '../src/main/models/model-store';
import { defaultLayers } from '../src/main/models/teacher-service';

const SHARED = resolve(import.meta.dirname, '../../shared/datasets');
const DATASETS = [join(SHARED, 'omniglot-small1'), join(SHARED, 'cifar10-mini')];
const BATCH = 8;
/** The wasm backend runs ~70 ms an image on one thread: a subset keeps the bench short. */
const tfjsImages = Number(process.argv[process.argv.indexOf('--tfjs-images') + 1]) || 160;

function listImages(dir: string): ExtractionImage[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return listImages(path);
      return [{ path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') }];
    });
}

async function rawForward(extractor: FeatureExtractor, images: ExtractionImage[], layers: string[]): Promise<number> {
  const batches: Float32Array[][] = [];
  for (let i = 0; i < images.length; i += BATCH) {
    batches.push(await Promise.all(images.slice(i, i + BATCH).map(async (img) => preprocessImage(readFileSync(img.path), extractor.preprocess))));
  }
  const started = performance.now();
  for (const batch of batches) {
    const joined = new Float32Array(batch.reduce((n, b) => n + b.length, 0));
    batch.forEach((b, i) => joined.set(b, i * b.length));
    await extractor.run(joined, batch.length, layers);
  }
  return images.length / ((performance.now() - started) / 1000);
}

const store = new ModelStore(mkdtempSync(join(tmpdir(), 'atl-bench-home-')));
const teacher = await store.load(store.defaultId);
const layerNames = defaultLayers(teacher.spec);
const engines: Array<[string, () => Promise<FeatureExtractor>, number]> = [
  ['onnxruntime', () => createOnnxExtractor(teacher.spec), Infinity],
  ['tfjs', () => createTfjsExtractor(teacher.spec), tfjsImages],
  ['tfjs pool', () => createTfjsWorkerPool(teacher.spec), tfjsImages],
];

const rows = [];
for (const [name, create, limit] of engines) {
  const extractor = await create();
  const engine = extractor.describe();
  const layers = extractor.layers.filter((l) => layerNames.includes(l.name));
  for (const dataset of DATASETS) {
    const images = listImages(dataset).slice(0, limit);
    await rawForward(extractor, images.slice(0, BATCH * 2), layerNames); // warm-up
    const raw = await rawForward(extractor, images, layerNames);
    const dir = mkdtempSync(join(tmpdir(), 'atl-bench-cache-'));
    const cache = FeatureCache.openFile(join(dir, 'features.sqlite'));
    const report = await extractFeatures({
      extractor, cache, layers, pooling: 'gap', images, batchSize: BATCH,
      teacherKey: teacherKey(teacher.entry.id, teacher.weightsSha256, teacher.spec.preprocess),
    });
    cache.close();
    rmSync(dir, { recursive: true, force: true });
    rows.push({
      engine: `${name} · ${engine.backend}`,
      device: engine.device,
      dataset: basename(dataset),
      images: images.length,
      layers: layers.length,
      end_to_end_images_per_s: Number(report.imagesPerSecond.toFixed(1)),
      raw_forward_images_per_s: Number(raw.toFixed(1)),
      ratio: Number((report.imagesPerSecond / raw).toFixed(2)),
    });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  await extractor.dispose();
}

console.table(rows);
const out = join(import.meta.dirname, '../bench-results');
mkdirSync(out, { recursive: true });
const result = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: availableParallelism(), teacher: teacher.entry.id, batch: BATCH, pooling: 'gap', rows };
writeFileSync(join(out, 'extract.json'), JSON.stringify(result, null, 2));
console.log(`Wrote ${join(out, 'extract.json')}`);
