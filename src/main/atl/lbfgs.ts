/**
 * Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4/7.5) with a backtracking Armijo line
 * search, for the smooth convex losses of the linear heads. Deterministic: no randomness, fixed
 * iteration cap and tolerances, so the same inputs always give the same weights.
 */

export interface LbfgsOptions {
  /** Most iterations (each one line search). */
  maxIterations: number;
  /** Converged when every gradient component is at most this (scipy's `pgtol`, as scikit-learn uses). */
  tolerance: number;
  /** Curvature pairs kept. */
  memory?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
}

/** `objective(x, gradient)` returns f(x) and writes ∇f(x) into `gradient`. */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

export function minimizeLbfgs(objective: Objective, start: Float64Array, options: LbfgsOptions): LbfgsResult {
  const n = start.length;
  const m = options.memory ?? 10;
  const x = Float64Array.from(start);
  const g = new Float64Array(n);
  const trial = new Float64Array(n);
  const trialGradient = new Float64Array(n);
  const direction = new Float64Array(n);
  const s = Array.from({ length: m }, () => new Float64Array(n));
  const y = Array.from({ length: m }, () => new Float64Array(n));
  const rho = new Float64Array(m);
  const alpha = new Float64Array(m);
  let stored = 0;
  let newest = -1;
  let value = objective(x, g);

  for (let iteration = 0; iteration < options.maxIterations; iteration++) {
    if (maxAbs(g) <= options.tolerance) return { x, value, iterations: iteration, converged: true };

    // Two-loop recursion: direction = −H·g.
    direction.set(g);
    for (let j = 0; j < stored; j++) {
      const i = (newest - j + m) % m;
      alpha[i] = rho[i] * dot(s[i], direction);
      axpy(-alpha[i], y[i], direction);
    }
    const gamma = stored > 0 ? dot(s[newest], y[newest]) / dot(y[newest], y[newest]) : 1 / Math.max(1, norm(g));
    scale(direction, gamma);
    for (let j = stored - 1; j >= 0; j--) {
      const i = (newest - j + m) % m;
      const beta = rho[i] * dot(y[i], direction);
      axpy(alpha[i] - beta, s[i], direction);
    }
    scale(direction, -1);

    const slope = dot(g, direction);
    if (slope >= 0) return { x, value, iterations: iteration, converged: false };
    let step = 1;
    let trialValue = Infinity;
    for (let halvings = 0; halvings < 40; halvings++) {
      for (let k = 0; k < n; k++) trial[k] = x[k] + step * direction[k];
      trialValue = objective(trial, trialGradient);
      if (trialValue <= value + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(trialValue < value)) return { x, value, iterations: iteration, converged: maxAbs(g) <= options.tolerance };

    newest = (newest + 1) % m;
    for (let k = 0; k < n; k++) {
      s[newest][k] = trial[k] - x[k];
      y[newest][k] = trialGradient[k] - g[k];
    }
    const sy = dot(s[newest], y[newest]);
    // A convex loss gives sᵀy > 0; skip the pair if rounding says otherwise.
    if (sy > 1e-12 * norm(s[newest]) * norm(y[newest])) {
      rho[newest] = 1 / sy;
      stored = Math.min(stored + 1, m);
    } else {
      newest = (newest - 1 + m) % m;
    }
    const decrease = value - trialValue;
    x.set(trial);
    g.set(trialGradient);
    value = trialValue;
    if (decrease <= 1e-15 * Math.max(1, Math.abs(value))) {
      return { x, value, iterations: iteration + 1, converged: maxAbs(g) <= options.tolerance };
    }
  }
  return { x, value, iterations: options.maxIterations, converged: maxAbs(g) <= options.tolerance };
}

function dot(a: Float64Array, b: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

function maxAbs(a: Float64Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]));
  return max;
}

function axpy(factor: number, x: Float64Array, into: Float64Array): void {
  for (let i = 0; i < x.length; i++) into[i] += factor * x[i];
}

function scale(a: Float64Array, factor: number): void {
  for (let i = 0; i < a.length; i++) a[i] *= factor;
}
