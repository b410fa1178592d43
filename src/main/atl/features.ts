/**
 * What the ATL strategies learn from: for each *candidate* (a teacher layer pooled one way, so
 * a block's spatially pooled variant is a candidate of its own), one row-major matrix with a row
 * per example. And the one preprocessing every head shares: each candidate's block is centered on
 * the training rows' mean and L2-normalized per row (SimpleShot's CL2N; Head2Toe's per-layer
 * `unit_vector`, plus centering), then the chosen blocks are concatenated.
 */
import { StudioError } from '../core/errors';
import type { Pooling } from '../core/pooling-spec';
import { matrix, type Matrix } from './matrix';

export interface Candidate {
  /** `layer:pooling`, e.g. `stage3_block3:spatial`. */
  key: string;
  layer: string;
  pooling: Pooling;
  dim: number;
  /** The layer's depth in the teacher (0 = nearest the input), for profiles over depth. */
  depth: number;
  /** The teacher's own penultimate features (the baseline every strategy is compared to). */
  penultimate: boolean;
  /** Which teacher it comes from, when a set holds several teachers' candidates (see `mergeTeacherFeatures`). */
  teacher?: string;
}

export function candidateKey(layer: string, pooling: Pooling): string {
  return `${layer}:${pooling}`;
}

/** Examples × candidates: `block(key)` is that candidate's `rows × dim` matrix. */
export class FeatureSet {
  private readonly byKey: ReadonlyMap<string, Candidate>;

  constructor(
    readonly candidates: readonly Candidate[],
    readonly rows: number,
    private readonly blocks: ReadonlyMap<string, Float32Array>,
  ) {
    this.byKey = new Map(candidates.map((c) => [c.key, c]));
    if (this.byKey.size !== candidates.length) throw new StudioError('invalid_input', 'Candidate keys must be unique');
    for (const c of candidates) {
      const data = blocks.get(c.key);
      if (!data || data.length !== rows * c.dim) {
        throw new StudioError('invalid_input', `Candidate ${c.key} needs ${rows}×${c.dim} values, got ${data?.length ?? 'none'}`);
      }
    }
    const penultimates = candidates.filter((c) => c.penultimate).map((c) => c.teacher);
    if (new Set(penultimates).size !== penultimates.length) throw new StudioError('invalid_input', 'At most one candidate per teacher can be the penultimate');
  }

  get keys(): string[] {
    return this.candidates.map((c) => c.key);
  }

  candidate(key: string): Candidate {
    const found = this.byKey.get(key);
    if (!found) throw new StudioError('invalid_input', `No candidate ${key}; there are ${this.keys.join(', ')}`);
    return found;
  }

  /** The penultimate; with several teachers, the first teacher's (the baseline). */
  get penultimate(): Candidate {
    const found = this.candidates.find((c) => c.penultimate);
    if (!found) throw new StudioError('invalid_input', 'The features include no penultimate candidate');
    return found;
  }

  /** The teachers of the candidates, in order of first appearance (none for a set made without teachers). */
  get teachers(): string[] {
    return [...new Set(this.candidates.flatMap((c) => (c.teacher === undefined ? [] : [c.teacher])))];
  }

  /** One teacher's candidates. */
  candidatesOf(teacher: string): Candidate[] {
    return this.candidates.filter((c) => c.teacher === teacher);
  }

  block(key: string): Matrix {
    return matrix(this.rows, this.candidate(key).dim, this.blocks.get(key)!);
  }

  /** The same candidates for the rows at `indices`, in that order (copied). */
  select(indices: ArrayLike<number>): FeatureSet {
    const blocks = new Map<string, Float32Array>();
    for (const c of this.candidates) {
      const from = this.blocks.get(c.key)!;
      const to = new Float32Array(indices.length * c.dim);
      for (let i = 0; i < indices.length; i++) {
        const row = indices[i];
        if (!(row >= 0 && row < this.rows)) throw new StudioError('invalid_input', `Row ${row} is outside 0 … ${this.rows - 1}`);
        to.set(from.subarray(row * c.dim, (row + 1) * c.dim), i * c.dim);
      }
      blocks.set(c.key, to);
    }
    return new FeatureSet(this.candidates, indices.length, blocks);
  }
}

/**
 * Several teachers' features of the same rows as one set: every candidate key becomes
 * `teacher/key` (so that no two teachers' collide) and records its teacher; each teacher keeps its
 * penultimate, and the first teacher's is the set's `penultimate`. The blocks are shared, not copied.
 */
export function mergeTeacherFeatures(parts: readonly { teacher: string; features: FeatureSet }[]): FeatureSet {
  if (parts.length === 0) throw new StudioError('invalid_input', 'Merge at least one teacher');
  const rows = parts[0].features.rows;
  const candidates: Candidate[] = [];
  const blocks = new Map<string, Float32Array>();
  for (const { teacher, features } of parts) {
    if (features.rows !== rows) throw new StudioError('invalid_input', `Teacher ${teacher} has ${features.rows} rows, the first ${rows}: merge features of the same rows`);
    for (const c of features.candidates) {
      const key = `${teacher}/${c.key}`;
      candidates.push({ ...c, key, teacher });
      blocks.set(key, features.block(c.key).data);
    }
  }
  return new FeatureSet(candidates, rows, blocks);
}

/**
 * How normalized blocks are scaled when concatenated. 'block': by 1/√blocks, so every row has unit
 * norm whatever the number of blocks; squared distances are then the mean of the blocks' squared
 * distances (what the cross-validation scores), every block weighs the same whatever its width,
 * and a penalty strength means the same for one block or fifty. 'teacher': every teacher's blocks
 * together weigh the same, each of its b blocks by 1/√(T·b) among T teachers (rows keep unit
 * norm; with one teacher it is 'block'): in a union of teachers (`atl-teachers`) a teacher whose
 * choice has eight blocks does not outweigh one whose choice is its penultimate. 'feature': by
 * √dim, so every feature has unit mean square whatever its block's width (what a per-feature
 * penalty such as the group lasso needs to compare features fairly).
 */
export type BlockWeighting = 'block' | 'teacher' | 'feature';

/** Each block's scale in the concatenation, in order (see `BlockWeighting`). */
export function blockScales(blocks: readonly Pick<Candidate, 'dim' | 'teacher'>[], weighting: BlockWeighting): number[] {
  if (weighting === 'feature') return blocks.map((b) => Math.sqrt(b.dim));
  if (weighting === 'block') return blocks.map(() => 1 / Math.sqrt(blocks.length));
  const perTeacher = new Map<string | undefined, number>();
  for (const b of blocks) perTeacher.set(b.teacher, (perTeacher.get(b.teacher) ?? 0) + 1);
  return blocks.map((b) => 1 / Math.sqrt(perTeacher.size * perTeacher.get(b.teacher)!));
}

/**
 * Centers each chosen block on the mean of the rows it was fitted on, L2-normalizes every row of
 * every block, and concatenates the blocks scaled per `weighting`.
 */
export class BlockNormalizer {
  private means = new Map<string, Float64Array>();

  constructor(
    readonly keys: readonly string[],
    readonly weighting: BlockWeighting = 'block',
  ) {
    if (keys.length === 0) throw new StudioError('invalid_input', 'Choose at least one candidate');
  }

  /** A normalizer fitted before, from its means (see `means`), e.g. a stored trained head's. */
  static restore(keys: readonly string[], weighting: BlockWeighting, means: readonly Float64Array[]): BlockNormalizer {
    const normalizer = new BlockNormalizer(keys, weighting);
    normalizer.means = new Map(keys.map((key, b) => [key, means[b]]));
    return normalizer;
  }

  /** The fitted means, in `keys` order. */
  get fittedMeans(): Float64Array[] {
    return this.keys.map((key) => this.mean(key));
  }

  /** Only the rows given here (the support) set the means: nothing from the rows it will transform. */
  fit(features: FeatureSet): this {
    this.means = new Map(this.keys.map((key) => [key, columnMeans(features.block(key))]));
    return this;
  }

  /** One block, centered and with unit-norm rows. */
  transformBlock(features: FeatureSet, key: string): Matrix {
    const block = features.block(key);
    const out = new Float32Array(block.rows * block.cols);
    writeNormalizedRows(block, this.mean(key), 1, out, 0, block.cols);
    return matrix(block.rows, block.cols, out);
  }

  /** The chosen blocks side by side, each normalized and scaled per `weighting`. */
  transform(features: FeatureSet): Matrix {
    const candidates = this.keys.map((key) => features.candidate(key));
    const scales = blockScales(candidates, this.weighting);
    const width = candidates.reduce((sum, c) => sum + c.dim, 0);
    const out = new Float32Array(features.rows * width);
    let offset = 0;
    candidates.forEach((c, b) => {
      writeNormalizedRows(features.block(c.key), this.mean(c.key), scales[b], out, offset, width);
      offset += c.dim;
    });
    return matrix(features.rows, width, out);
  }

  private mean(key: string): Float64Array {
    const mean = this.means.get(key);
    if (!mean) throw new StudioError('invalid_input', `The normalizer was not fitted on ${key}`);
    return mean;
  }
}

function columnMeans(x: Matrix): Float64Array {
  const { rows: n, cols: d, data } = x;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= Math.max(n, 1);
  return mean;
}

/** (row − mean)/‖row − mean‖·factor into columns offset … offset+d of `out` (rows of `stride`); zero rows stay zero. */
function writeNormalizedRows(x: Matrix, mean: Float64Array, factor: number, out: Float32Array, offset: number, stride: number): void {
  const { rows: n, cols: d, data } = x;
  for (let i = 0; i < n; i++) {
    const from = i * d;
    let squares = 0;
    for (let j = 0; j < d; j++) {
      const v = data[from + j] - mean[j];
      squares += v * v;
    }
    const scale = squares > 0 ? factor / Math.sqrt(squares) : 0;
    const to = i * stride + offset;
    for (let j = 0; j < d; j++) out[to + j] = (data[from + j] - mean[j]) * scale;
  }
}
