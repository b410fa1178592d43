import { describe, expect, it } from 'vitest';
import { BlockNormalizer, blockScales, FeatureSet, mergeTeacherFeatures } from '../../../src/main/atl/features';

function twoBlocks(): FeatureSet {
  // a: 2 values per row, b: 3 values per row; 3 rows
  return new FeatureSet(
    [
      { key: 'a:gap', layer: 'a', pooling: 'gap', dim: 2, depth: 0, penultimate: false },
      { key: 'b:gap', layer: 'b', pooling: 'gap', dim: 3, depth: 1, penultimate: true },
    ],
    3,
    new Map([
      ['a:gap', Float32Array.from([1, 0, 3, 0, 2, 3])],
      ['b:gap', Float32Array.from([1, 1, 1, 2, 2, 2, 0, 0, 9])],
    ]),
  );
}

describe('FeatureSet', () => {
  it('checks its blocks, finds the penultimate, and selects rows', () => {
    const features = twoBlocks();
    expect(features.penultimate.key).toBe('b:gap');
    const picked = features.select([2, 0]);
    expect(Array.from(picked.block('a:gap').data)).toEqual([2, 3, 1, 0]);
    expect(picked.rows).toBe(2);
    expect(() => features.select([3])).toThrow(/outside/);
    expect(() => features.block('c:gap')).toThrow(/No candidate c:gap/);
    expect(() => new FeatureSet(features.candidates, 2, new Map([['a:gap', new Float32Array(4)]]))).toThrow(/needs 2×3/);
  });
});

describe('BlockNormalizer', () => {
  it('centers each block on the fitted rows, gives every block unit norm and the row unit norm', () => {
    const features = twoBlocks();
    const normalizer = new BlockNormalizer(['a:gap', 'b:gap']).fit(features);
    const x = normalizer.transform(features);
    expect(x.cols).toBe(5);
    for (let i = 0; i < 3; i++) {
      const row = Array.from(x.data.subarray(i * 5, i * 5 + 5));
      const a = Math.hypot(...row.slice(0, 2));
      const b = Math.hypot(...row.slice(2));
      expect(a).toBeCloseTo(Math.SQRT1_2, 6);
      expect(b).toBeCloseTo(Math.SQRT1_2, 6);
    }
    // a's mean is (2, 1): row 0 → (−1, −1)/√2, scaled by 1/√2 for two blocks
    expect(x.data[0]).toBeCloseTo(-0.5, 6);
    expect(x.data[1]).toBeCloseTo(-0.5, 6);
  });

  it("squared distances on the concatenation are the mean of the blocks' squared distances", () => {
    const features = twoBlocks();
    const normalizer = new BlockNormalizer(['a:gap', 'b:gap']).fit(features);
    const x = normalizer.transform(features);
    const a = normalizer.transformBlock(features, 'a:gap');
    const b = normalizer.transformBlock(features, 'b:gap');
    const squared = (m: { cols: number; data: Float32Array }, i: number, j: number) =>
      Array.from({ length: m.cols }, (_, k) => (m.data[i * m.cols + k] - m.data[j * m.cols + k]) ** 2).reduce((s, v) => s + v, 0);
    expect(squared(x, 0, 2)).toBeCloseTo((squared(a, 0, 2) + squared(b, 0, 2)) / 2, 6);
  });

  it('uses only the statistics of the rows it was fitted on', () => {
    const features = twoBlocks();
    const normalizer = new BlockNormalizer(['a:gap']).fit(features.select([0, 1]));
    const alone = normalizer.transform(features.select([2]));
    const together = normalizer.transform(features.select([2, 0, 1]));
    expect(Array.from(alone.data)).toEqual(Array.from(together.data.subarray(0, 2)));
  });

  it("'feature' weighting gives every feature unit mean square, whatever the block width", () => {
    const features = twoBlocks();
    const x = new BlockNormalizer(['a:gap', 'b:gap'], 'feature').fit(features).transform(features);
    const row = Array.from(x.data.subarray(0, 5));
    expect(row.slice(0, 2).reduce((s, v) => s + v * v, 0) / 2).toBeCloseTo(1, 5);
    expect(row.slice(2).reduce((s, v) => s + v * v, 0) / 3).toBeCloseTo(1, 5);
  });

  it("'teacher' weighting gives every teacher the same weight, whatever its number of blocks; with one teacher it is 'block'", () => {
    // Teacher t has 3 blocks, u has 1: t's blocks weigh 1/√(2·3) each, u's 1/√(2·1); squares sum to 1.
    const blocks = [{ dim: 2, teacher: 't' }, { dim: 5, teacher: 'u' }, { dim: 2, teacher: 't' }, { dim: 7, teacher: 't' }];
    const scales = blockScales(blocks, 'teacher');
    expect(scales.map((s) => s * s)).toEqual([1 / 6, 1 / 2, 1 / 6, 1 / 6].map((v) => expect.closeTo(v, 12)));
    expect(blockScales(blocks.slice(0, 1).concat(blocks.slice(2)), 'teacher')).toEqual(blockScales(blocks.slice(0, 3), 'block'));
    expect(blockScales([{ dim: 4 }, { dim: 9 }], 'feature')).toEqual([2, 3]);

    const merged = mergeTeacherFeatures([
      { teacher: 't', features: twoBlocks() },
      { teacher: 'u', features: twoBlocks() },
    ]);
    const keys = ['t/a:gap', 't/b:gap', 'u/a:gap'];
    const x = new BlockNormalizer(keys, 'teacher').fit(merged).transform(merged);
    const unit = new BlockNormalizer(['u/a:gap']).fit(merged).transform(merged);
    // u's one block keeps half the squared norm of every row, t's two blocks share the other half.
    for (let i = 0; i < 3; i++) {
      const row = x.data.subarray(i * 7, (i + 1) * 7);
      expect(row.slice(5).reduce((s, v) => s + v * v, 0)).toBeCloseTo(0.5, 6);
      expect(Array.from(row.slice(5))).toEqual(Array.from(unit.data.subarray(i * 2, i * 2 + 2)).map((v) => expect.closeTo(v * Math.SQRT1_2, 6)));
      expect(row.reduce((s, v) => s + v * v, 0)).toBeCloseTo(1, 6);
    }
  });
});
