import { describe, expect, it } from 'vitest';
import { minimizeLbfgs } from '../../../src/main/atl/lbfgs';

describe('L-BFGS', () => {
  it('finds the minimum of a badly scaled quadratic', () => {
    // f = ½·Σ sᵢ(xᵢ − i)²
    const scales = [1, 10, 100, 1000];
    const result = minimizeLbfgs(
      (x, g) => {
        let f = 0;
        x.forEach((v, i) => {
          f += 0.5 * scales[i] * (v - i) ** 2;
          g[i] = scales[i] * (v - i);
        });
        return f;
      },
      new Float64Array(4),
      { maxIterations: 100, tolerance: 1e-9 },
    );
    expect(result.converged).toBe(true);
    result.x.forEach((v, i) => expect(v).toBeCloseTo(i, 8));
  });

  it('solves Rosenbrock from the usual start', () => {
    const result = minimizeLbfgs(
      (x, g) => {
        const [a, b] = x;
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.from([-1.2, 1]),
      { maxIterations: 200, tolerance: 1e-8 },
    );
    expect(result.x[0]).toBeCloseTo(1, 5);
    expect(result.x[1]).toBeCloseTo(1, 5);
  });

  it('is deterministic', () => {
    const run = () =>
      minimizeLbfgs((x, g) => {
        g[0] = Math.sinh(x[0] - 0.3);
        return Math.cosh(x[0] - 0.3);
      }, new Float64Array(1), { maxIterations: 50, tolerance: 1e-12 });
    expect(run().x).toEqual(run().x);
  });
});
