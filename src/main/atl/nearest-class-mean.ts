/**
 * Nearest class mean: each class is the mean of its training rows, a row goes to the class whose
 * mean is nearest in Euclidean distance. With SimpleShot's preprocessing (subtract the support
 * mean, L2-normalize: `BlockNormalizer`) this is SimpleShot (Wang et al. 2019, "CL2N").
 */
import { accuracy, addScaled, argmaxRows, checkRows, classCount, dot, dotWeights, type Matrix } from './matrix';
import { StudioError } from '../core/errors';

export class NearestClassMean {
  /** `classes × features`, row-major. */
  means: Float64Array = new Float64Array(0);
  classes = 0;
  features = 0;

  fit(x: Matrix, labels: Int32Array): this {
    checkRows(x, labels);
    const k = classCount(labels);
    const { rows: n, cols: d, data } = x;
    const means = new Float64Array(k * d);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      counts[labels[i]]++;
      addScaled(1, data, i * d, means, labels[i] * d, d);
    }
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) means[c * d + j] /= counts[c];
    this.means = means;
    this.classes = k;
    this.features = d;
    return this;
  }

  /** Minus the squared distance to each class mean, `rows × classes` (higher is nearer). */
  decisionFunction(x: Matrix): Float64Array {
    if (x.cols !== this.features) throw new StudioError('invalid_input', `Fitted on ${this.features} features, got ${x.cols}`);
    const { rows: m, cols: d, data } = x;
    const k = this.classes;
    const meanSquares = new Float64Array(k);
    for (let c = 0; c < k; c++) for (let j = 0; j < d; j++) meanSquares[c] += this.means[c * d + j] ** 2;
    const out = new Float64Array(m * k);
    // ‖x − μ‖² = ‖x‖² − 2·x·μ + ‖μ‖²
    for (let i = 0; i < m; i++) {
      const self = dot(data, i * d, data, i * d, d);
      for (let c = 0; c < k; c++) out[i * k + c] = -(self - 2 * dotWeights(data, i * d, this.means, c * d, d) + meanSquares[c]);
    }
    return out;
  }

  predict(x: Matrix): Int32Array {
    return argmaxRows(this.decisionFunction(x), x.rows, this.classes);
  }

  score(x: Matrix, labels: Int32Array): number {
    return accuracy(this.predict(x), labels);
  }
}
