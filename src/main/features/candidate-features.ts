/**
 * The candidates of a teacher for a set of images, as one `FeatureSet`: every layer in use (plus
 * the penultimate) with global average pooling, and with spatial pooling where its grid is larger
 * than 1×1. Vectors come from a feature cache; images not cached yet are extracted first. Used by
 * `atl-studio bench` (a standalone cache) and by a project's comparisons and trained heads.
 */
import type { FeatureExtractor, FeatureLayer } from '../engines/feature-extractor';
import { extractFeatures, type ExtractionImage, type ExtractionProgress } from './extraction';
import type { FeatureCache } from './feature-cache';
import { pooledLength, spatialGrid, type Pooling } from '../core/pooling-spec';
import { candidateKey, FeatureSet, type Candidate } from '../atl/features';

export type CandidatePlan = [Pooling, FeatureLayer[]][];

/** The layers in use plus the penultimate, each with `gap`, and with `spatial` where its grid exceeds 1×1 (else it equals `gap`). */
export function candidatePlan(inUse: readonly FeatureLayer[], all: readonly FeatureLayer[]): CandidatePlan {
  const penultimate = all.find((l) => l.penultimate);
  const layers = penultimate && !inUse.some((l) => l.penultimate) ? [...inUse, penultimate] : [...inUse];
  return [
    ['gap', layers],
    ['spatial', layers.filter((l) => spatialGrid(l) > 1)],
  ];
}

export interface CandidateFeaturesOptions {
  extractor: FeatureExtractor;
  teacherKey: string;
  plan: CandidatePlan;
  cache: FeatureCache;
  images: readonly ExtractionImage[];
  signal?: AbortSignal;
  onProgress?: (pooling: Pooling, progress: ExtractionProgress) => void;
}

export interface CandidateFeatures {
  features: FeatureSet;
  /** For each row of `features`, its index in the images asked for (images that failed have no row). */
  rows: number[];
  failures: { path: string; reason: string }[];
  /** Images whose features were computed now (not read from the cache). */
  extracted: number;
  cancelled: boolean;
}

export async function loadCandidateFeatures(options: CandidateFeaturesOptions): Promise<CandidateFeatures> {
  const { cache, teacherKey, plan, images } = options;
  // Read first and extract only what is missing: asking the cache what is missing costs as much as reading.
  const columns = readColumns(cache, teacherKey, plan, images);
  const incomplete = images.filter((_, i) => columns.some((c) => !c.vectors[i]));
  const failures: CandidateFeatures['failures'] = [];
  let cancelled = false;
  if (incomplete.length > 0) {
    // Progress over every image asked for, those read from the cache counted as cached (as
    // features.extract reports it): a ranking resumed after a cancel says what it kept.
    const readBefore = images.length - incomplete.length;
    for (const [pooling, layers] of plan) {
      if (options.signal?.aborted) break;
      const report = await extractFeatures({
        extractor: options.extractor,
        cache,
        teacherKey,
        layers,
        pooling,
        images: [...incomplete],
        signal: options.signal,
        onProgress: (p) => options.onProgress?.(pooling, { ...p, cached: p.cached + readBefore, total: p.total + readBefore }),
      });
      failures.push(...report.failures.filter((f) => !failures.some((g) => g.path === f.path)));
    }
    cancelled = options.signal?.aborted ?? false;
    const fresh = readColumns(cache, teacherKey, plan, incomplete);
    const freshRow = new Map(incomplete.map((image, i) => [image.sha256, i]));
    images.forEach((image, i) => {
      const from = freshRow.get(image.sha256);
      if (from !== undefined) columns.forEach((c, k) => (c.vectors[i] = fresh[k].vectors[from]));
    });
  }
  const { features, rows } = assemble(columns, images.length);
  return { features, rows, failures, extracted: cancelled ? 0 : incomplete.length - failures.length, cancelled };
}

/**
 * Several teachers' candidate features of the same images, cut to the images every one of them
 * has: `images` (indices into the images asked for) and each teacher's features in those rows, so
 * that anything learned from them is paired.
 */
export function onCommonImages(loaded: readonly CandidateFeatures[]): { images: number[]; features: FeatureSet[] } {
  const images = loaded.reduce<number[]>((common, l) => {
    const has = new Set(l.rows);
    return common.filter((image) => has.has(image));
  }, loaded[0].rows);
  const features = loaded.map((l) => {
    if (images.length === l.rows.length) return l.features;
    const rowOf = new Map(l.rows.map((image, row) => [image, row]));
    return l.features.select(images.map((image) => rowOf.get(image)!));
  });
  return { images, features };
}

interface Column {
  candidate: Candidate;
  /** Per image, in the order asked for; undefined where not cached. */
  vectors: (Float32Array | undefined)[];
}

function readColumns(cache: FeatureCache, key: string, plan: CandidatePlan, images: readonly ExtractionImage[]): Column[] {
  const shas = images.map((i) => i.sha256);
  return plan.flatMap(([pooling, layers]) =>
    layers.map((layer) => ({
      candidate: {
        key: candidateKey(layer.name, pooling),
        layer: layer.name,
        pooling,
        dim: pooledLength(layer, pooling),
        depth: layer.depth,
        penultimate: layer.penultimate && pooling === 'gap',
      },
      vectors: cache.get(shas, key, layer.name, pooling),
    })),
  );
}

/**
 * One `FeatureSet` with a row per image that has every candidate, dropping candidates identical
 * to an earlier one: a teacher's penultimate is often the global average of its last block, which
 * must not count twice.
 */
function assemble(columns: Column[], count: number): { features: FeatureSet; rows: number[] } {
  const rows = Array.from({ length: count }, (_, i) => i).filter((i) => columns.every((c) => c.vectors[i]));
  const blocks = new Map<string, Float32Array>();
  const kept: Candidate[] = [];
  // The penultimate first, so that its duplicates are the ones dropped.
  for (const column of [...columns].sort((a, b) => Number(b.candidate.penultimate) - Number(a.candidate.penultimate))) {
    const { dim, key } = column.candidate;
    const block = new Float32Array(rows.length * dim);
    rows.forEach((image, row) => block.set(column.vectors[image]!, row * dim));
    if (rows.length > 0 && kept.some((k) => k.dim === dim && nearlyEqual(blocks.get(k.key)!, block))) continue;
    blocks.set(key, block);
    kept.push(column.candidate);
  }
  kept.sort((a, b) => a.depth - b.depth || a.pooling.localeCompare(b.pooling));
  return { features: new FeatureSet(kept, rows.length, blocks), rows };
}

/** Equal up to float32 rounding of sums taken in another order. */
function nearlyEqual(a: Float32Array, b: Float32Array): boolean {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(a[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff <= 1e-4 * Math.max(scale, 1e-12);
}
