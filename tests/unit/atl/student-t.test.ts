import { describe, expect, it } from 'vitest';
import { guardThreshold } from '../../../src/main/atl/strategies/atl';
import { studentTCdf, studentTQuantile, studentTUpperQuantile } from '../../../src/main/atl/student-t';

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

  it('keeps its precision at tiny levels, on the upper tail', () => {
    // scipy.stats.t.isf(1e-12, 24) and isf(0.05 / 28, 24)
    expect(studentTUpperQuantile(1e-12, 24)).toBeCloseTo(13.097492743383265, 6);
    expect(studentTUpperQuantile(0.05 / 28, 24)).toBeCloseTo(3.2299864974010313, 8);
    expect(studentTUpperQuantile(0.95, 24)).toBeCloseTo(-studentTUpperQuantile(0.05, 24), 10);
    expect(1 - studentTCdf(studentTUpperQuantile(1e-6, 10), 10)).toBeCloseTo(1e-6, 12);
  });

  it('refuses what has no answer', () => {
    expect(() => studentTQuantile(1, 10)).toThrow(/0 < p < 1/);
    expect(() => studentTUpperQuantile(0, 10)).toThrow(/0 < q < 1/);
    expect(() => studentTCdf(1, 0)).toThrow(/degrees of freedom/);
  });

  it("gives the ATL guard's threshold: 5 % one-sided, Bonferroni over the candidates searched", () => {
    // MobileNet v1's 28 candidates, 5-way 5-shot: 25 held-out differences, 24 degrees of freedom.
    expect(guardThreshold(0.05, 28, 25)).toBeCloseTo(3.2299864974010313, 8);
    expect(guardThreshold(0.05, 1, 25)).toBeCloseTo(1.7108820799094275, 8);
  });
});
