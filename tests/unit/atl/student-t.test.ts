import { describe, expect, it } from 'vitest';
import { studentTCdf, studentTQuantile } from '../../../src/main/atl/student-t';

// Reference values from scipy.stats.t (ppf / cdf).
describe("Student's t", () => {
  it('gives the quantiles of the tables', () => {
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228138851986274, 8);
    expect(studentTQuantile(0.995, 24)).toBeCloseTo(2.796939504774456, 8);
    expect(studentTQuantile(0.95, 4)).toBeCloseTo(2.1318467863266495, 8);
    expect(studentTQuantile(0.95, 1)).toBeCloseTo(6.313751514675037, 7);
    // The ATL guard's thresholds: one-sided 5 %, Bonferroni over 28 and 58 candidates, 25 held-out examples.
    expect(studentTQuantile(1 - 0.05 / 28, 24)).toBeCloseTo(3.2299864974010313, 8);
    expect(studentTQuantile(1 - 0.05 / 58, 24)).toBeCloseTo(3.526790739866479, 8);
  });

  it('gives the CDF, symmetric about 0, approaching the normal for many degrees of freedom', () => {
    expect(studentTCdf(2, 5)).toBeCloseTo(0.9490302605850708, 10);
    expect(studentTCdf(-2, 5)).toBeCloseTo(1 - 0.9490302605850708, 10);
    expect(studentTCdf(0, 7)).toBe(0.5);
    expect(studentTQuantile(0.95, 1e6)).toBeCloseTo(1.6448536, 5);
    expect(studentTQuantile(0.05, 24)).toBeCloseTo(-studentTQuantile(0.95, 24), 10);
  });

  it('refuses what has no answer', () => {
    expect(() => studentTQuantile(1, 10)).toThrow(/0 < p < 1/);
    expect(() => studentTCdf(1, 0)).toThrow(/degrees of freedom/);
  });
});
