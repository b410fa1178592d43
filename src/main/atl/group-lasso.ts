/**
 * Multinomial logistic regression with a group-lasso penalty over features (Head2Toe's feature
 * scorer): minimizes (1/n)·Σᵢ cross-entropyᵢ + λ·Σⱼ ‖W₍:,ⱼ₎‖₂, where a feature's group is its
 * weights for every class, so whole features are switched off. The intercept is not penalized.
 *
 * λ = α·λmax, where λmax is the smallest λ whose solution is all zero (the largest gradient group
 * norm at W = 0): α ∈ (0, 1) means the same whatever the feature scale or count.
 *
 * Solved by FISTA (Beck & Teboulle 2009) with the exact step 1/L and adaptive restart, on a working set of features
 * (those with the largest gradients at zero), growing the set with any feature outside it that
 * violates its optimality condition ‖∇ⱼ‖ ≤ λ and solving again. A support of n rows has at most
 * about n·classes active groups, so the working set stays small while the full gradient over
 * thousands of features is computed only once per round.
 */
import { StudioError } from '../core/errors';
import { addScaled, checkRows, classCount, dotWeights, gram, largestEigenvalue, matrix, type Matrix } from './matrix';

export interface GroupLassoOptions {
  /** λ as a fraction of λmax. */
  alpha: number;
  /** FISTA iterations per working-set round. */
  maxIterations: number;
  /** Stop a round when no parameter moves by more than this (relative to the largest). */
  tolerance: number;
  /** Features in the first working set. */
  workingSet: number;
  /** Most working-set rounds. */
  maxRounds: number;
}

/**
 * Only the ranking of features is used, and it settles long before the weights do (on CIFAR-10
 * episodes, 50 iterations ranked as well as 300), so rounds are short: what Head2Toe's 500 Adam
 * steps also amount to. α = 0.1 switches on a few dozen groups on a 25-image support.
 */
export const GROUP_LASSO_DEFAULTS: GroupLassoOptions = { alpha: 0.1, maxIterations: 100, tolerance: 1e-4, workingSet: 128, maxRounds: 2 };

export class GroupLassoLogisticRegression {
  readonly options: GroupLassoOptions;
  /** ‖W₍:,ⱼ₎‖ per feature (zero for features switched off). */
  groupNorms: Float64Array = new Float64Array(0);
  /** ‖∇ⱼ‖ per feature at the solution: for a zero group, how close it came to switching on (≤ λ). */
  gradientNorms: Float64Array = new Float64Array(0);
  lambda = 0;

  constructor(options: Partial<GroupLassoOptions> = {}) {
    this.options = { ...GROUP_LASSO_DEFAULTS, ...options };
    if (!(this.options.alpha > 0 && this.options.alpha < 1)) throw new StudioError('invalid_input', `alpha must be in (0, 1), got ${this.options.alpha}`);
  }

  fit(x: Matrix, labels: Int32Array): this {
    checkRows(x, labels);
    const k = classCount(labels);
    const { rows: n, cols: d } = x;
    // With W = 0 the best intercept gives every row the class frequencies.
    const priors = new Float64Array(k);
    for (const label of labels) priors[label] += 1 / n;
    const intercept = priors.map(Math.log);
    const residual = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) residual[i * k + c] = priors[c];
      residual[i * k + labels[i]] -= 1;
    }
    let gradientNorms = fullGradientNorms(x, residual, k);
    let lambdaMax = 0;
    for (const g of gradientNorms) lambdaMax = Math.max(lambdaMax, g);
    this.lambda = this.options.alpha * lambdaMax;

    let working = Array.from(indicesOfLargest(gradientNorms, this.options.workingSet));
    let weights: Float64Array = new Float64Array(k * working.length);
    for (let round = 0; round < this.options.maxRounds; round++) {
      const sub = selectColumns(x, working);
      weights = this.solve(sub, labels, k, intercept, weights);
      residualAt(sub, weights, intercept, labels, k, residual);
      gradientNorms = fullGradientNorms(x, residual, k);
      const outside = Float64Array.from(gradientNorms);
      for (const j of working) outside[j] = -Infinity;
      const violators = Array.from(indicesOfLargest(outside, this.options.workingSet)).filter((j) => outside[j] > this.lambda * (1 + 1e-3));
      if (violators.length === 0 || round === this.options.maxRounds - 1) break;
      const grown = [...working, ...violators];
      const warm = new Float64Array(k * grown.length);
      for (let c = 0; c < k; c++) warm.set(weights.subarray(c * working.length, (c + 1) * working.length), c * grown.length);
      working = grown;
      weights = warm;
    }
    this.groupNorms = new Float64Array(d);
    working.forEach((feature, j) => {
      let squares = 0;
      for (let c = 0; c < k; c++) squares += weights[c * working.length + j] ** 2;
      this.groupNorms[feature] = Math.sqrt(squares);
    });
    this.gradientNorms = gradientNorms;
    return this;
  }

  /**
   * The `count` best features, in column order: nonzero groups by norm, then zero groups by how
   * close they came to switching on (their gradient norm, at most λ).
   */
  top(count: number): Int32Array {
    let ceiling = 0;
    for (const g of this.gradientNorms) ceiling = Math.max(ceiling, g);
    const score = this.groupNorms.map((norm, j) => (norm > 0 ? ceiling + 1 + norm : this.gradientNorms[j]));
    return indicesOfLargest(score, count);
  }

  /** FISTA on `x` (the working set's columns); `intercept` is updated in place. Returns W (k × cols). */
  private solve(x: Matrix, labels: Int32Array, k: number, intercept: Float64Array, start: Float64Array): Float64Array {
    const { rows: n, cols: m } = x;
    // L = ½·σmax([X 1])²/n: softmax cross-entropy's Hessian in the logits is at most ½·I.
    const g = gram(x);
    for (let i = 0; i < n * n; i++) g[i] += 1;
    const lipschitz = (0.5 * largestEigenvalue(g, n)) / n;
    const step = 1 / lipschitz;
    const threshold = this.lambda * step;
    // x_k in (w, b), x_{k+1} written into (nextW, nextB); the buffers swap each iteration.
    let w = Float64Array.from(start);
    let b = Float64Array.from(intercept);
    let nextW = new Float64Array(k * m);
    let nextB = new Float64Array(k);
    const yw = Float64Array.from(w);
    const yb = Float64Array.from(b);
    const residual = new Float64Array(n * k);
    const gradW = new Float64Array(k * m);
    const gradB = new Float64Array(k);
    let t = 1;
    for (let iteration = 0; iteration < this.options.maxIterations; iteration++) {
      residualAt(x, yw, yb, labels, k, residual);
      gradients(x, residual, k, gradW, gradB);
      for (let c = 0; c < k; c++) nextB[c] = yb[c] - step * gradB[c];
      for (let j = 0; j < m; j++) {
        let squares = 0;
        for (let c = 0; c < k; c++) {
          const v = yw[c * m + j] - step * gradW[c * m + j];
          nextW[c * m + j] = v;
          squares += v * v;
        }
        const norm = Math.sqrt(squares);
        const shrink = norm > threshold ? 1 - threshold / norm : 0;
        for (let c = 0; c < k; c++) nextW[c * m + j] *= shrink;
      }
      // Adaptive restart (O'Donoghue & Candès 2015): drop the momentum when it points uphill.
      let uphill = 0;
      let change = 0;
      let size = 0;
      for (let i = 0; i < k * m; i++) {
        uphill += (yw[i] - nextW[i]) * (nextW[i] - w[i]);
        change = Math.max(change, Math.abs(nextW[i] - w[i]));
        size = Math.max(size, Math.abs(nextW[i]));
      }
      for (let c = 0; c < k; c++) {
        uphill += (yb[c] - nextB[c]) * (nextB[c] - b[c]);
        change = Math.max(change, Math.abs(nextB[c] - b[c]));
      }
      if (uphill > 0) t = 1;
      const nextT = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
      const momentum = (t - 1) / nextT;
      for (let i = 0; i < k * m; i++) yw[i] = nextW[i] + momentum * (nextW[i] - w[i]);
      for (let c = 0; c < k; c++) yb[c] = nextB[c] + momentum * (nextB[c] - b[c]);
      const previousW = w;
      w = nextW;
      nextW = previousW;
      const previousB = b;
      b = nextB;
      nextB = previousB;
      t = nextT;
      if (change <= this.options.tolerance * Math.max(size, 1e-12)) break;
    }
    intercept.set(b);
    return w;
  }
}

/** P − Y at W (k × cols, row-major) and b, `rows × k`. */
function residualAt(x: Matrix, w: Float64Array, b: Float64Array, labels: Int32Array, k: number, out: Float64Array): void {
  const { rows: n, cols: m, data } = x;
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let c = 0; c < k; c++) {
      const z = b[c] + dotWeights(data, i * m, w, c * m, m);
      out[i * k + c] = z;
      if (z > max) max = z;
    }
    let total = 0;
    for (let c = 0; c < k; c++) {
      out[i * k + c] = Math.exp(out[i * k + c] - max);
      total += out[i * k + c];
    }
    for (let c = 0; c < k; c++) out[i * k + c] /= total;
    out[i * k + labels[i]] -= 1;
  }
}

/** ∇W = (P − Y)ᵀ·X / n (k × cols) and ∇b = mean(P − Y). */
function gradients(x: Matrix, residual: Float64Array, k: number, gradW: Float64Array, gradB: Float64Array): void {
  const { rows: n, cols: m, data } = x;
  gradW.fill(0);
  gradB.fill(0);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < k; c++) {
      const r = residual[i * k + c] / n;
      gradB[c] += r;
      addScaled(r, data, i * m, gradW, c * m, m);
    }
  }
}

/** ‖∇ⱼ‖ for every feature of `x` at the given residual. */
function fullGradientNorms(x: Matrix, residual: Float64Array, k: number): Float64Array {
  const gradW = new Float64Array(k * x.cols);
  gradients(x, residual, k, gradW, new Float64Array(k));
  const norms = new Float64Array(x.cols);
  for (let j = 0; j < x.cols; j++) {
    let squares = 0;
    for (let c = 0; c < k; c++) squares += gradW[c * x.cols + j] ** 2;
    norms[j] = Math.sqrt(squares);
  }
  return norms;
}

/** Indices of the `count` largest values, in index order (ties go to the lower index). */
export function indicesOfLargest(values: Float64Array, count: number): Int32Array {
  const n = Math.min(count, values.length);
  if (n <= 0) return new Int32Array(0);
  const threshold = kthLargest(Float64Array.from(values), n);
  let above = 0;
  for (const v of values) if (v > threshold) above++;
  const out = new Int32Array(n);
  let taken = 0;
  let ties = n - above;
  for (let j = 0; j < values.length && taken < n; j++) {
    if (values[j] > threshold) out[taken++] = j;
    else if (values[j] === threshold && ties > 0) {
      out[taken++] = j;
      ties--;
    }
  }
  return out;
}

/** The k-th largest value (k ≥ 1) by quickselect, reordering `values` in place: O(length). */
function kthLargest(values: Float64Array, k: number): number {
  const target = values.length - k;
  let low = 0;
  let high = values.length - 1;
  while (low < high) {
    // Median of three keeps sorted inputs from the quadratic case.
    const mid = (low + high) >>> 1;
    const pivot = Math.max(Math.min(values[low], values[mid]), Math.min(Math.max(values[low], values[mid]), values[high]));
    let i = low;
    let j = high;
    while (i <= j) {
      while (values[i] < pivot) i++;
      while (values[j] > pivot) j--;
      if (i <= j) {
        const swap = values[i];
        values[i++] = values[j];
        values[j--] = swap;
      }
    }
    if (target <= j) high = j;
    else if (target >= i) low = i;
    else return values[target];
  }
  return values[target];
}

export function selectColumns(x: Matrix, columns: ArrayLike<number>): Matrix {
  const { rows: n, cols: d, data } = x;
  const m = columns.length;
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) out[i * m + j] = data[i * d + columns[j]];
  return matrix(n, m, out);
}
