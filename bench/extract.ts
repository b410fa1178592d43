/**
 * Feature extraction throughput, per engine this machine offers: end to end (read → decode →
 * preprocess → forward → pool → cache write, as the studio runs it) against the engine's raw
 * forward pass alone on the same preprocessed batches, measured in the same run, and against
 * ONNX Runtime CPU's end to end. Default teacher, its layers in use (the 13 pointwise blocks +
 * the penultimate), global average pooling. Prints a table, writes JSON.
 *
 * The raw forward pass gives what extraction needs: pooled vectors, pooled in the engine's graph
 * where it can (`runPooled`), else the maps (`run`). `raw_maps_images_per_s` is the forward pass
 * that copies every full map out (`run`), as this bench measured before pooling moved in-graph.
 *   npm run bench:extract [-- --images 400 --tfjs-images 160 --engines onnxruntime,tfjs]
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { FeatureExtractor, FeatureLayer } from '../src/main/engines/feature-extractor';
import { createOnnxExtractor } from '../src/main/engines/onnx-extractor';
import { preprocessImage } from '../src/main/engines/preprocess';
import { createTfjsExtractor } from '../src/main/engines/tfjs-extractor';
import { createTfjsWorkerPool } from '../src/main/engines/tfjs-worker-pool';
import { extractFeatures, type ExtractionImage } from '../src/main/features/extraction';
import { FeatureCache, teacherKey } from '../src/main/features/feature-cache';
import { ModelStore } from '../src/main/models/model-store';
import { defaultLayers } from '../src/main/models/teacher-service';
import type { TeacherSpec } from '../src/main/engines/teachers';

const SHARED = resolve(import.meta.dirname, '../../shared/datasets');
const DATASETS = [join(SHARED, 'omniglot-small1'), join(SHARED, 'cifar10-mini')];
const BATCH = 8;
const POOLING = 'gap';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}
/** Images per data set (default: all of them). */
const imageLimit = Number(option('images')) || Infinity;
/** The wasm backend runs ~70 ms an image on one thread: a subset keeps the bench short. */
const tfjsImages = Number(option('tfjs-images')) || 160;
const only = option('engines')?.split(',');

/** An engine the bench measures: `create` gives undefined, with the reason printed, where this machine lacks it. */
interface BenchEngine {
  name: string;
  create: (spec: TeacherSpec) => Promise<FeatureExtractor | undefined>;
  images: number;
}

/** ONNX Runtime CPU comes first: the other rows are compared with it. */
const ENGINES: BenchEngine[] = [
  { name: 'onnxruntime', create: (spec) => createOnnxExtractor(spec, { cuda: false }), images: imageLimit },
  { name: 'onnxruntime cuda', create: cudaExtractor, images: imageLimit },
  { name: 'tfjs', create: (spec) => createTfjsExtractor(spec), images: Math.min(imageLimit, tfjsImages) },
  { name: 'tfjs pool', create: (spec) => createTfjsWorkerPool(spec), images: Math.min(imageLimit, tfjsImages) },
];

/** ONNX Runtime on CUDA, only where its provider loads (else the CPU row already stands). */
async function cudaExtractor(spec: TeacherSpec): Promise<FeatureExtractor | undefined> {
  const extractor = await createOnnxExtractor(spec);
  if (extractor.describe().backend === 'cuda') return extractor;
  console.log(`onnxruntime cuda: not measured (${extractor.describe().fallbackReason})`);
  await extractor.dispose();
  return undefined;
}

function listImages(dir: string): ExtractionImage[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return listImages(path);
      return [{ path, sha256: createHash('sha256').update(readFileSync(path)).digest('hex') }];
    });
}

async function preprocessedBatches(extractor: FeatureExtractor, images: ExtractionImage[]): Promise<Array<{ batch: Float32Array; size: number }>> {
  const batches = [];
  for (let i = 0; i < images.length; i += BATCH) {
    const tensors = await Promise.all(images.slice(i, i + BATCH).map(async (img) => preprocessImage(readFileSync(img.path), extractor.preprocess)));
    const batch = new Float32Array(tensors.reduce((n, t) => n + t.length, 0));
    tensors.forEach((t, j) => batch.set(t, j * t.length));
    batches.push({ batch, size: tensors.length });
  }
  return batches;
}

/** Images per second of `forward` over the batches, decoding excluded. */
async function forwardRate(batches: Array<{ batch: Float32Array; size: number }>, forward: (batch: Float32Array, size: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (const { batch, size } of batches) await forward(batch, size);
  return batches.reduce((n, b) => n + b.size, 0) / ((performance.now() - started) / 1000);
}

const store = new ModelStore(mkdtempSync(join(tmpdir(), 'atl-bench-home-')));
const teacher = await store.load(store.defaultId);
const layerNames = defaultLayers(teacher.spec);
const key = teacherKey(teacher.entry.id, teacher.weightsSha256, teacher.spec.preprocess);
const datasets = DATASETS.map((dir) => ({ name: basename(dir), images: listImages(dir) }));

const rows = [];
/** ONNX Runtime CPU's end to end per data set, the yardstick of the other engines. */
const onnxCpu = new Map<string, number>();
for (const engine of ENGINES.filter((e) => !only || only.includes(e.name))) {
  const extractor = await engine.create(teacher.spec);
  if (!extractor) continue;
  const description = extractor.describe();
  const layers: readonly FeatureLayer[] = extractor.layers.filter((l) => layerNames.includes(l.name));
  const pooledForward = (batch: Float32Array, size: number) =>
    extractor.runPooled ? extractor.runPooled(batch, size, layers, POOLING) : extractor.run(batch, size, layerNames);
  for (const dataset of datasets) {
    const images = dataset.images.slice(0, engine.images);
    const batches = await preprocessedBatches(extractor, images);
    await forwardRate(batches.slice(0, 2), pooledForward); // warm-up
    const raw = await forwardRate(batches, pooledForward);
    const rawMaps = extractor.runPooled ? await forwardRate(batches, (batch, size) => extractor.run(batch, size, layerNames)) : raw;
    const dir = mkdtempSync(join(tmpdir(), 'atl-bench-cache-'));
    const cache = FeatureCache.openFile(join(dir, 'features.sqlite'));
    const report = await extractFeatures({ extractor, cache, layers, pooling: POOLING, images, batchSize: BATCH, teacherKey: key });
    cache.close();
    rmSync(dir, { recursive: true, force: true });
    if (description.engine === 'onnxruntime' && description.backend === 'cpu') onnxCpu.set(dataset.name, report.imagesPerSecond);
    const cpuRate = onnxCpu.get(dataset.name);
    rows.push({
      engine: `${engine.name} · ${description.backend}`,
      device: description.device,
      dataset: dataset.name,
      images: images.length,
      layers: layers.length,
      in_graph_pooling: Boolean(extractor.runPooled),
      end_to_end_images_per_s: Number(report.imagesPerSecond.toFixed(1)),
      raw_forward_images_per_s: Number(raw.toFixed(1)),
      raw_maps_images_per_s: Number(rawMaps.toFixed(1)),
      ratio: Number((report.imagesPerSecond / raw).toFixed(2)),
      vs_onnxruntime_cpu: cpuRate ? Number((report.imagesPerSecond / cpuRate).toFixed(2)) : null,
    });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  await extractor.dispose();
}

console.table(rows);
const out = join(import.meta.dirname, '../bench-results');
mkdirSync(out, { recursive: true });
const result = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: availableParallelism(), teacher: teacher.entry.id, batch: BATCH, pooling: POOLING, rows };
writeFileSync(join(out, 'extract.json'), JSON.stringify(result, null, 2));
console.log(`Wrote ${join(out, 'extract.json')}`);
