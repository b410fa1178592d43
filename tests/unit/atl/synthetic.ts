/**
 * Synthetic candidate features with a known answer: each candidate's rows are a class-specific
 * mean (scaled by that candidate's `signal`) plus unit Gaussian noise, so the informative
 * candidates are exactly those with signal > 0.
 */
import { seededRandom } from '../../../src/shared/seeded-random';
import { FeatureSet, type Candidate } from '../../../src/main/atl/features';
import { matrix, type Matrix } from '../../../src/main/atl/matrix';

export interface SyntheticCandidate {
  layer: string;
  pooling?: 'gap' | 'spatial';
  dim: number;
  /** Distance scale between class means; 0 = pure noise. */
  signal: number;
  /**
   * Mean of the shared offset every row gets (default 3). The normalizer removes it, but it makes the
   * raw rows alike: a large offset is a layer that maps every image onto nearly the same direction.
   */
  offset?: number;
  penultimate?: boolean;
}

export function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** `perClass` rows of each of `classes` classes, class by class; labels[i] = class of row i. */
export function syntheticFeatures(
  candidates: SyntheticCandidate[],
  classes: number,
  perClass: number,
  seed: number,
): { features: FeatureSet; labels: Int32Array } {
  const normal = gaussian(seededRandom(seed));
  const rows = classes * perClass;
  const labels = Int32Array.from({ length: rows }, (_, i) => Math.floor(i / perClass));
  const list: Candidate[] = [];
  const blocks = new Map<string, Float32Array>();
  for (const c of candidates) {
    const pooling = c.pooling ?? 'gap';
    const key = `${c.layer}:${pooling}`;
    const means = Array.from({ length: classes }, () => Float64Array.from({ length: c.dim }, () => normal() * c.signal));
    // A shared offset: the normalizer must remove it for the class structure to show.
    const offset = Float64Array.from({ length: c.dim }, () => (c.offset ?? 3) + normal());
    const data = new Float32Array(rows * c.dim);
    for (let i = 0; i < rows; i++) for (let j = 0; j < c.dim; j++) data[i * c.dim + j] = offset[j] + means[labels[i]][j] + normal();
    list.push({ key, layer: c.layer, pooling, dim: c.dim, depth: list.length, penultimate: c.penultimate ?? false });
    blocks.set(key, data);
  }
  return { features: new FeatureSet(list, rows, blocks), labels };
}

/** Rows `shots` per class for the support and the rest for queries, from `syntheticFeatures`' class-by-class layout. */
export function split(classes: number, perClass: number, shots: number): { support: Int32Array; query: Int32Array } {
  const support: number[] = [];
  const query: number[] = [];
  for (let c = 0; c < classes; c++) {
    for (let k = 0; k < perClass; k++) (k < shots ? support : query).push(c * perClass + k);
  }
  return { support: Int32Array.from(support), query: Int32Array.from(query) };
}

/** A float32 matrix from rows given as arrays. */
export function fromRows(rows: readonly (readonly number[])[]): Matrix {
  const cols = rows[0]?.length ?? 0;
  return matrix(rows.length, cols, Float32Array.from(rows.flat()));
}
