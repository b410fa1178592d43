/**
 * Multinomial logistic regression with an L2 penalty, fitted by L-BFGS, with scikit-learn's
 * objective and defaults: C·Σᵢ cross-entropyᵢ + ½‖W‖², an unpenalized intercept, zero start.
 *
 * Few-shot supports have far fewer examples than features (25 rows × thousands of columns). The
 * optimum's weights then lie in the span of the training rows, and the penalty does not care which
 * orthonormal basis describes that span, so the fit runs on the n coordinates of each row in an
 * eigenbasis of the Gram matrix X·Xᵀ and maps the weights back: the same solution as fitting in
 * the full space, at a cost that no longer grows with the feature count per iteration (while the
 * rows are few: see `SPAN_REDUCTION_LIMIT`).
 */
import { minimizeLbfgs } from './lbfgs';
import { accuracy, addScaled, argmaxRows, checkRows, classCount, dotWeights, gram, matrix, symmetricEigen, type Matrix } from './matrix';
import { StudioError } from '../core/errors';

export interface LogisticRegressionOptions {
  /** Inverse penalty strength, as scikit-learn's `C`. */
  C: number;
  maxIterations: number;
  /** Stop when every gradient component of the objective divided by C·n is at most this. */
  tolerance: number;
}

/**
 * scikit-learn's defaults (C = 1), which Tian et al. (2020, "Rethinking few-shot image
 * classification") used on L2-normalized features; 200 iterations and a tight tolerance because
 * the reduced problems are tiny.
 */
export const LOGISTIC_REGRESSION_DEFAULTS: LogisticRegressionOptions = { C: 1, maxIterations: 200, tolerance: 1e-6 };

/**
 * The fit in the rows' span costs one eigendecomposition of the n × n Gram matrix (cyclic Jacobi:
 * 0.36 s at n = 200, 3.6 s at 400, growing as n³) and then iterations that cost n²·k instead of
 * n·d·k; L-BFGS takes 100–200 of them. Measured here, that pays while n² ≤ 5·d·k (a 25-row support
 * always; 3,750 rows of 2,000 dims never: Jacobi alone would take most of an hour).
 */
export const SPAN_REDUCTION_LIMIT = 5;

export class LogisticRegression {
  readonly options: LogisticRegressionOptions;
  /** `classes × features`, row-major (scikit-learn's `coef_`). */
  coef: Float64Array = new Float64Array(0);
  intercept: Float64Array = new Float64Array(0);
  classes = 0;
  features = 0;
  /** Whether L-BFGS met the tolerance. */
  converged = false;

  constructor(options: Partial<LogisticRegressionOptions> = {}) {
    this.options = { ...LOGISTIC_REGRESSION_DEFAULTS, ...options };
    if (!(this.options.C > 0)) throw new StudioError('invalid_input', `C must be positive, got ${this.options.C}`);
  }

  fit(x: Matrix, labels: Int32Array): this {
    checkRows(x, labels);
    const k = classCount(labels);
    const { rows: n, cols: d } = x;
    this.classes = k;
    this.features = d;
    if (d <= n || n * n > SPAN_REDUCTION_LIMIT * d * k) {
      const { weights, intercept } = this.solve(x, labels, k);
      this.coef = weights;
      this.intercept = intercept;
      return this;
    }
    // Coordinates in the span of the rows: X = U·Λ^½·Vᵀ, so Φ = U·Λ^½ (n × r) and coef = W_r·Vᵀ,
    // with Vᵀ = Λ^-½·Uᵀ·X.
    const { values, vectors } = symmetricEigen(gram(x), n);
    const rank = values.filter((v) => v > 1e-10 * Math.max(values[0], 1e-300)).length;
    const phi = new Float32Array(n * rank);
    for (let i = 0; i < n; i++) for (let j = 0; j < rank; j++) phi[i * rank + j] = vectors[i * n + j] * Math.sqrt(values[j]);
    const { weights, intercept } = this.solve(matrix(n, rank, phi), labels, k);
    // A = W_r·Λ^-½·Uᵀ (k × n), then coef = A·X.
    const a = new Float64Array(k * n);
    for (let c = 0; c < k; c++) {
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let j = 0; j < rank; j++) sum += (weights[c * rank + j] / Math.sqrt(values[j])) * vectors[i * n + j];
        a[c * n + i] = sum;
      }
    }
    const coef = new Float64Array(k * d);
    for (let c = 0; c < k; c++) for (let i = 0; i < n; i++) addScaled(a[c * n + i], x.data, i * d, coef, c * d, d);
    this.coef = coef;
    this.intercept = intercept;
    return this;
  }

  /** Class scores (logits), `rows × classes`. */
  decisionFunction(x: Matrix): Float64Array {
    if (x.cols !== this.features) throw new StudioError('invalid_input', `Fitted on ${this.features} features, got ${x.cols}`);
    return linearScores(x, this.coef, this.intercept, this.classes);
  }

  predict(x: Matrix): Int32Array {
    return argmaxRows(this.decisionFunction(x), x.rows, this.classes);
  }

  score(x: Matrix, labels: Int32Array): number {
    return accuracy(this.predict(x), labels);
  }

  /** Minimizes the objective divided by C·n (same optimum, gradients of order one). */
  private solve(x: Matrix, labels: Int32Array, k: number): { weights: Float64Array; intercept: Float64Array } {
    const { rows: n, cols: d, data } = x;
    const penalty = 1 / (this.options.C * n);
    const logits = new Float64Array(n * k);
    const residual = new Float64Array(n * k);
    const objective = (params: Float64Array, gradient: Float64Array): number => {
      // params = [W (k × d) row-major, b (k)]
      let loss = 0;
      for (let i = 0; i < n; i++) {
        const row = i * d;
        let max = -Infinity;
        for (let c = 0; c < k; c++) {
          const z = params[k * d + c] + dotWeights(data, row, params, c * d, d);
          logits[i * k + c] = z;
          if (z > max) max = z;
        }
        let total = 0;
        for (let c = 0; c < k; c++) {
          const e = Math.exp(logits[i * k + c] - max);
          residual[i * k + c] = e;
          total += e;
        }
        loss += Math.log(total) + max - logits[i * k + labels[i]];
        for (let c = 0; c < k; c++) residual[i * k + c] /= total;
        residual[i * k + labels[i]] -= 1;
      }
      gradient.fill(0);
      let squares = 0;
      for (let c = 0; c < k; c++) {
        const w = c * d;
        for (let i = 0; i < n; i++) {
          const r = residual[i * k + c] / n;
          gradient[k * d + c] += r;
          addScaled(r, data, i * d, gradient, w, d);
        }
        for (let j = 0; j < d; j++) {
          squares += params[w + j] * params[w + j];
          gradient[w + j] += penalty * params[w + j];
        }
      }
      return loss / n + 0.5 * penalty * squares;
    };
    const result = minimizeLbfgs(objective, new Float64Array(k * d + k), this.options);
    this.converged = result.converged;
    return { weights: result.x.slice(0, k * d), intercept: result.x.slice(k * d) };
  }
}

/** x·coefᵀ + intercept, `rows × classes`. */
export function linearScores(x: Matrix, coef: Float64Array, intercept: Float64Array, classes: number): Float64Array {
  const { rows: m, cols: d, data } = x;
  const out = new Float64Array(m * classes);
  for (let i = 0; i < m; i++) {
    for (let c = 0; c < classes; c++) out[i * classes + c] = intercept[c] + dotWeights(data, i * d, coef, c * d, d);
  }
  return out;
}
