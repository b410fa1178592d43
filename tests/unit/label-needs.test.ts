import { describe, expect, it } from 'vitest';
import { classShortfall, labelsToCompare } from '../../src/renderer/src/lib/label-needs';

describe('what a class needs for the comparison', () => {
  it('episodes of N shots need N + 1 labels (one to test on); splits need 2', () => {
    expect(labelsToCompare('episodes', [1, 5])).toBe(6);
    expect(labelsToCompare('episodes', [1])).toBe(2);
    expect(labelsToCompare('splits', [1, 5])).toBe(2);
  });

  it('says how many more a class needs, and nothing for a large class (no comparison with other classes)', () => {
    expect(classShortfall(4, 'episodes', [1, 5])?.badge).toBe('needs 2 more');
    expect(classShortfall(0, 'episodes', [1, 5])?.why).toMatch(/needs 6 labeled images.*has 0\. Training leaves it out/);
    expect(classShortfall(6, 'episodes', [1, 5])).toBeNull();
    expect(classShortfall(1000, 'episodes', [1, 5])).toBeNull();
    expect(classShortfall(1, 'splits', [1, 5])?.badge).toBe('needs 1 more');
  });
});
