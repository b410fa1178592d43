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
 * The raw pass runs before and after end to end (`raw_forward_before_after`); the ratio is to
 * their mean, so that a machine whose speed drifts during the bench moves both sides alike.
 * `raw_core_ms_per_image` and `end_to_end_core_ms_per_image` are the CPU time of the whole process
 * (every thread) per image: where the engine fills every core, end to end cannot beat
 * cores × 1000 / its core-ms, however its work overlaps.
 *
 * End to end runs with extraction's preparing threads started, as every extraction after a studio
 * session's first finds them (`IDLE_THREAD_MS`); like the engine's session, which neither side
 * counts, starting them is a once-a-session cost, shown apart: `thread_start_core_ms` (from source,
 * as here, tsx loads in each thread: ~3× a bundled thread's cost), and the end-to-end core-ms an
 * image had this run started them (`end_to_end_core_ms_per_image_cold`).
 *
 * WebGPU is measured on a hardware adapter whenever Dawn finds one; a software adapter (SwiftShader,
 * lavapipe: the CPU behind a GPU's interface) only when forced, as the studio uses one: `--engines`
 * names webgpu, or VK_ICD_FILENAMES points Vulkan at its driver. Its rows name the adapter
 * (`device`, and `adapter` in the JSON) and say `software adapter` in `engine`.
 *   npm run bench:extract [-- --images 400 --tfjs-images 160 --software-images 8 --engines onnxruntime,tfjs,webgpu]
 *   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json npm run bench:extract   # SwiftShader
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
import { adapterLabel, webgpuOffer, type AdapterDescription } from '../src/main/engines/webgpu-device';
import { createWebgpuExtractor, WebgpuExtractor } from '../src/main/engines/webgpu-extractor';
import { extractFeatures, type ExtractionImage } from '../src/main/features/extraction';
import { createImagePreparer, endIdleThreads, preparerThreads } from '../src/main/features/image-preparer';
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
/** A software WebGPU adapter takes seconds an image (MobileNet on SwiftShader, two cores): one batch by default. */
const softwareImages = Number(option('software-images')) || BATCH;
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
  { name: 'webgpu', create: webgpuExtractor, images: imageLimit },
];

/** WebGPU on the adapter the studio would pick: a hardware one, else a software one only when forced. */
async function webgpuExtractor(spec: TeacherSpec): Promise<FeatureExtractor | undefined> {
  const { adapters, unavailable } = await webgpuOffer();
  if (adapters.length === 0) {
    console.log(`webgpu: not measured (${unavailable ?? 'no adapter'})`);
    return undefined;
  }
  const hardware = adapters.some((a) => !a.software);
  const forced = Boolean(only?.includes('webgpu') || process.env.VK_ICD_FILENAMES);
  if (!hardware && !forced) {
    console.log(`webgpu: not measured (only a software adapter, ${adapterLabel(adapters[0])}; --engines webgpu or VK_ICD_FILENAMES measures it)`);
    return undefined;
  }
  const extractor = await createWebgpuExtractor(spec, { allowSoftware: !hardware });
  const why = extractor.adapter.software ? `: forced (${only?.includes('webgpu') ? '--engines webgpu' : `VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES}`})` : '';
  console.log(`webgpu: measured on ${adapterLabel(extractor.adapter)}${why}`);
  return extractor;
}

/** The WebGPU adapter an extractor computes on; null for the other engines. */
function adapterOf(extractor: FeatureExtractor): AdapterDescription | null {
  return extractor instanceof WebgpuExtractor ? extractor.adapter : null;
}

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

/** `decimals` places, but two significant digits below 1: a software adapter's 0.13 images/s must not read 0.1, nor its ratio 0. */
function figure(x: number, decimals: number): number {
  return Number(Math.abs(x) < 1 && x !== 0 ? x.toPrecision(2) : x.toFixed(decimals));
}

/** Images per second of `forward` over the batches, decoding excluded. */
async function forwardRate(batches: Array<{ batch: Float32Array; size: number }>, forward: (batch: Float32Array, size: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (const { batch, size } of batches) await forward(batch, size);
  return batches.reduce((n, b) => n + b.size, 0) / ((performance.now() - started) / 1000);
}

/**
 * What `work` gives, and the CPU time the process spent on it (every thread: the engine's, the
 * preparing threads, sharp's) per image, in core-milliseconds. Where end to end costs more core-ms
 * an image than the raw pass, cores × 1000 / that cost bounds its images/s on this machine.
 */
async function withCpuTime<T>(images: number, work: () => Promise<T>): Promise<{ result: T; coreMsPerImage: number }> {
  const before = process.cpuUsage();
  const result = await work();
  const used = process.cpuUsage(before);
  return { result, coreMsPerImage: (used.user + used.system) / 1000 / images };
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
  const adapter = adapterOf(extractor);
  const imageCount = adapter?.software ? Math.min(engine.images, softwareImages) : engine.images;
  const layers: readonly FeatureLayer[] = extractor.layers.filter((l) => layerNames.includes(l.name));
  const pooledForward = (batch: Float32Array, size: number) =>
    extractor.runPooled ? extractor.runPooled(batch, size, layers, POOLING) : extractor.run(batch, size, layerNames);
  for (const dataset of datasets) {
    const images = dataset.images.slice(0, imageCount);
    const batches = await preprocessedBatches(extractor, images);
    await forwardRate(batches.slice(0, 2), pooledForward); // warm-up
    // The raw pass runs before and after end to end, and counts as their mean: a machine whose
    // speed drifts (a shared host) then moves both sides of the ratio alike.
    const rawBefore = await withCpuTime(images.length, () => forwardRate(batches, pooledForward));
    const rawMaps = extractor.runPooled ? await forwardRate(batches, (batch, size) => extractor.run(batch, size, layerNames)) : rawBefore.result;
    const dir = mkdtempSync(join(tmpdir(), 'atl-bench-cache-'));
    const cache = FeatureCache.openFile(join(dir, 'features.sqlite'));
    await endIdleThreads(); // the threads an earlier data set parked: their start is measured anew
    const threadStart = await withCpuTime(1, async () => {
      const preparer = createImagePreparer(extractor.preprocess, preparerThreads(images.length));
      await preparer.started;
      await preparer.close(); // parked: the extraction below takes them
    });
    const { result: report, coreMsPerImage: endToEndCoreMs } = await withCpuTime(images.length, () =>
      extractFeatures({ extractor, cache, layers, pooling: POOLING, images, batchSize: BATCH, teacherKey: key }),
    );
    cache.close();
    rmSync(dir, { recursive: true, force: true });
    const rawAfter = await withCpuTime(images.length, () => forwardRate(batches, pooledForward));
    // Images over time: the harmonic mean of the two rates.
    const raw = 2 / (1 / rawBefore.result + 1 / rawAfter.result);
    const rawCoreMs = (rawBefore.coreMsPerImage + rawAfter.coreMsPerImage) / 2;
    if (description.engine === 'onnxruntime' && description.backend === 'cpu') onnxCpu.set(dataset.name, report.imagesPerSecond);
    const cpuRate = onnxCpu.get(dataset.name);
    rows.push({
      engine: adapter ? `${engine.name} · ${adapter.software ? 'software adapter' : 'gpu'}` : `${engine.name} · ${description.backend}`,
      device: description.device,
      adapter,
      dataset: dataset.name,
      images: images.length,
      layers: layers.length,
      in_graph_pooling: Boolean(extractor.runPooled),
      end_to_end_images_per_s: figure(report.imagesPerSecond, 1),
      raw_forward_images_per_s: figure(raw, 1),
      raw_forward_before_after: [figure(rawBefore.result, 1), figure(rawAfter.result, 1)],
      raw_maps_images_per_s: figure(rawMaps, 1),
      ratio: figure(report.imagesPerSecond / raw, 2),
      raw_core_ms_per_image: figure(rawCoreMs, 1),
      end_to_end_core_ms_per_image: figure(endToEndCoreMs, 1),
      thread_start_core_ms: figure(threadStart.coreMsPerImage, 0),
      end_to_end_core_ms_per_image_cold: figure(endToEndCoreMs + threadStart.coreMsPerImage / images.length, 1),
      vs_onnxruntime_cpu: cpuRate ? figure(report.imagesPerSecond / cpuRate, 2) : null,
    });
    console.log(JSON.stringify(rows[rows.length - 1]));
  }
  await extractor.dispose();
}

// The adapter's parts are in `device` already: the table keeps one line a row.
console.table(rows.map(({ adapter: _adapter, ...row }) => row));
const out = join(import.meta.dirname, '../bench-results');
mkdirSync(out, { recursive: true });
const result = { date: new Date().toISOString(), cpu: cpus()[0]?.model, cores: availableParallelism(), teacher: teacher.entry.id, batch: BATCH, pooling: POOLING, rows };
writeFileSync(join(out, 'extract.json'), JSON.stringify(result, null, 2));
console.log(`Wrote ${join(out, 'extract.json')}`);
