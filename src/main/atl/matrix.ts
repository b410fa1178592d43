/**
 * The little dense linear algebra the ATL heads need: row-major matrices, Gram matrices, a
 * symmetric eigendecomposition, and label helpers. Features stay float32 (half the memory
 * traffic); sums and anything solved are float64.
 */
import { StudioError } from '../core/errors';

/**
 * Row-major `rows × cols`, always float32: the hot loops then see one array type (V8 keeps them
 * monomorphic, measured 1.5–2× faster than mixing float32 and float64 data).
 */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array;
}

export function matrix(rows: number, cols: number, data: Float32Array = new Float32Array(rows * cols)): Matrix {
  if (data.length !== rows * cols) {
    throw new StudioError('invalid_input', `A ${rows}×${cols} matrix needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data };
}

/** X·Xᵀ (`rows × rows`, symmetric). */
export function gram(x: Matrix): Float64Array {
  const { rows: n, cols: d, data } = x;
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const sum = dot(data, i * d, data, j * d, d);
      g[i * n + j] = sum;
      g[j * n + i] = sum;
    }
  }
  return g;
}

/*
 * Kernels. V8 does not vectorize; four independent accumulators let the CPU overlap the
 * multiply-adds (measured ~1.4× a plain loop). Sums are float64 whatever the inputs.
 */

/** Σₖ a[ai+k]·b[bi+k] for k < length. */
export function dot(a: Float32Array, ai: number, b: Float32Array, bi: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < length; k += 4) {
    s0 += a[ai + k] * b[bi + k];
    s1 += a[ai + k + 1] * b[bi + k + 1];
    s2 += a[ai + k + 2] * b[bi + k + 2];
    s3 += a[ai + k + 3] * b[bi + k + 3];
  }
  for (; k < length; k++) s0 += a[ai + k] * b[bi + k];
  return s0 + s1 + s2 + s3;
}

/** Σₖ a[ai+k]·w[wi+k] for k < length: float32 features against float64 weights. */
export function dotWeights(a: Float32Array, ai: number, w: Float64Array, wi: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < length; k += 4) {
    s0 += a[ai + k] * w[wi + k];
    s1 += a[ai + k + 1] * w[wi + k + 1];
    s2 += a[ai + k + 2] * w[wi + k + 2];
    s3 += a[ai + k + 3] * w[wi + k + 3];
  }
  for (; k < length; k++) s0 += a[ai + k] * w[wi + k];
  return s0 + s1 + s2 + s3;
}

/** Σₖ a[ai+k]·b[bi+k] for k < length, both float64 (sums of rows, weights). */
export function dot64(a: Float64Array, ai: number, b: Float64Array, bi: number, length: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < length; k += 4) {
    s0 += a[ai + k] * b[bi + k];
    s1 += a[ai + k + 1] * b[bi + k + 1];
    s2 += a[ai + k + 2] * b[bi + k + 2];
    s3 += a[ai + k + 3] * b[bi + k + 3];
  }
  for (; k < length; k++) s0 += a[ai + k] * b[bi + k];
  return s0 + s1 + s2 + s3;
}

/** w[wi+k] += factor·a[ai+k] for k < length. */
export function addScaled(factor: number, a: Float32Array, ai: number, w: Float64Array, wi: number, length: number): void {
  for (let k = 0; k < length; k++) w[wi + k] += factor * a[ai + k];
}

/**
 * Eigenvalues (descending) and eigenvectors of a symmetric `n × n` matrix by cyclic Jacobi
 * rotations: slow for large n, but exact to rounding and with no failure modes, which is what the
 * few-shot sizes here (n ≤ a few hundred) want. `vectors` holds eigenvector j in column j.
 */
export function symmetricEigen(symmetric: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(symmetric);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale += a[i] * a[i];
  const threshold = 1e-30 * scale;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= threshold) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        // The rotation that zeroes a[p][q] (Golub & Van Loan, Algorithm 8.4.1).
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((from, to) => {
    values[to] = a[from * n + from];
    for (let k = 0; k < n; k++) vectors[k * n + to] = v[k * n + from];
  });
  return { values, vectors };
}

/**
 * The largest eigenvalue of a symmetric positive semi-definite `n × n` matrix, by power
 * iteration from the all-ones vector (converges from below; stops at 1e-9 relative change).
 */
export function largestEigenvalue(symmetric: Float64Array, n: number): number {
  let v = new Float64Array(n).fill(1 / Math.sqrt(n));
  let next = new Float64Array(n);
  let value = 0;
  for (let iteration = 0; iteration < 500; iteration++) {
    for (let i = 0; i < n; i++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum += symmetric[i * n + j] * v[j];
      next[i] = sum;
    }
    const norm = Math.sqrt(next.reduce((a, x) => a + x * x, 0));
    if (norm === 0) return 0;
    for (let i = 0; i < n; i++) next[i] /= norm;
    [v, next] = [next, v];
    const previous = value;
    value = norm;
    if (Math.abs(value - previous) <= 1e-9 * value) break;
  }
  return value;
}

/** The number of classes in `labels`, which must be 0 … K−1 with every class present. */
export function classCount(labels: Int32Array): number {
  let k = 0;
  for (const label of labels) {
    if (!Number.isInteger(label) || label < 0) throw new StudioError('invalid_input', `Labels must be 0 … K−1, got ${label}`);
    k = Math.max(k, label + 1);
  }
  const seen = new Uint8Array(k);
  for (const label of labels) seen[label] = 1;
  if (k < 2 || seen.includes(0)) throw new StudioError('invalid_input', `Labels must cover 0 … K−1 with K ≥ 2 (got K = ${k} with gaps or fewer)`);
  return k;
}

/** Row-wise argmax of a `rows × cols` score table (the first maximum wins ties). */
export function argmaxRows(scores: Float64Array, rows: number, cols: number): Int32Array {
  const out = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    for (let k = 1; k < cols; k++) if (scores[i * cols + k] > scores[i * cols + best]) best = k;
    out[i] = best;
  }
  return out;
}

export function accuracy(predicted: Int32Array, labels: Int32Array): number {
  if (predicted.length !== labels.length) throw new StudioError('invalid_input', `${predicted.length} predictions for ${labels.length} labels`);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return labels.length > 0 ? correct / labels.length : 0;
}

export function checkRows(x: Matrix, labels: Int32Array): void {
  if (x.rows !== labels.length) throw new StudioError('invalid_input', `${x.rows} rows for ${labels.length} labels`);
}

/** Each row scaled to unit L2 norm (zero rows stay zero). */
export function rowNormalized(x: Matrix): Matrix {
  const { rows: n, cols: d, data } = x;
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const squares = dot(data, i * d, data, i * d, d);
    const scale = squares > 0 ? 1 / Math.sqrt(squares) : 0;
    for (let j = 0; j < d; j++) out[i * d + j] = data[i * d + j] * scale;
  }
  return matrix(n, d, out);
}
