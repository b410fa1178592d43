import { describe, expect, it } from 'vitest';
import { checkBatch, describeLayers } from '../../../src/main/engines/feature-extractor';
import {
  asNCHW,
  cellBounds,
  globalAveragePool,
  globalMaxPool,
  spatialAveragePool,
} from '../../../src/main/core/pooling';
import { internalAxis, permute, resolveShape, windowAlong } from '../../../src/main/engines/tfjs-to-onnx';

/** N=2, C=2, H=3, W=4: value = 100·n + 10·c + (4·y + x), so every cell is recognizable. */
function ramp(): { data: Float32Array; shape: number[] } {
  const shape = [2, 2, 3, 4];
  const data = new Float32Array(48);
  for (let n = 0; n < 2; n++)
    for (let c = 0; c < 2; c++) for (let i = 0; i < 12; i++) data[n * 24 + c * 12 + i] = 100 * n + 10 * c + i;
  return { data, shape };
}

describe('pooling', () => {
  it('global average and max per image and channel', () => {
    const { data, shape } = ramp();
    expect([...globalAveragePool(data, shape)]).toEqual([5.5, 15.5, 105.5, 115.5]);
    expect([...globalMaxPool(data, shape)]).toEqual([11, 21, 111, 121]);
  });

  it('a grid that divides the map averages disjoint cells, flattened [C, gh, gw] per image', () => {
    const data = Float32Array.from({ length: 16 }, (_, i) => i); // 1×1×4×4
    expect([...spatialAveragePool(data, [1, 1, 4, 4], 2)]).toEqual([2.5, 4.5, 10.5, 12.5]);
    // 2×1 grid: top half rows 0-1, bottom half rows 2-3.
    expect([...spatialAveragePool(data, [1, 1, 4, 4], 2, 1)]).toEqual([3.5, 11.5]);
  });

  it('a grid that does not divide the map uses overlapping adaptive cells', () => {
    expect(cellBounds(3, 2)).toEqual([[0, 2], [1, 3]]);
    expect(cellBounds(7, 3)).toEqual([[0, 3], [2, 5], [4, 7]]);
    const { data, shape } = ramp();
    const pooled = spatialAveragePool(data, shape, 2, 2); // [2, 2·2·2]
    expect(pooled.length).toBe(16);
    // n=0, c=0, cell (0,0): rows 0-1, cols 0-1 → values 0,1,4,5.
    expect(pooled[0]).toBe(2.5);
    // n=1, c=1, cell (1,1): rows 1-2, cols 2-3 → 6,7,10,11 plus 110.
    expect(pooled[15]).toBe(118.5);
    // A 1×1 grid is global average pooling.
    expect(spatialAveragePool(data, shape, 1)).toEqual(globalAveragePool(data, shape));
  });

  it('pooled vectors [N, C] count as 1×1 maps; bad shapes and grids are refused', () => {
    expect(asNCHW([5, 64])).toEqual([5, 64, 1, 1]);
    expect([...globalAveragePool(new Float32Array([1, 2, 3]), [1, 3])]).toEqual([1, 2, 3]);
    expect(() => globalAveragePool(new Float32Array(5), [1, 2, 3])).toThrow(/must be \[N,C,H,W\] or \[N,C\]/);
    expect(() => globalAveragePool(new Float32Array(5), [1, 2, 2, 2])).toThrow(/needs 8 values, got 5/);
    expect(() => spatialAveragePool(new Float32Array(16), [1, 1, 4, 4], 5)).toThrow(/between 1×1 and the map's 4×4/);
  });
});

describe('converter maths', () => {
  it("'same' windows pad like TF: the odd cell after (bottom/right)", () => {
    expect(windowAlong(224, 3, 2, 1, 'same')).toEqual({ out: 112, before: 0, after: 1 });
    expect(windowAlong(7, 3, 2, 1, 'same')).toEqual({ out: 4, before: 1, after: 1 });
    expect(windowAlong(10, 4, 1, 1, 'same')).toEqual({ out: 10, before: 1, after: 2 });
    expect(windowAlong(10, 3, 1, 2, 'same')).toEqual({ out: 10, before: 2, after: 2 }); // dilated span 5
    expect(windowAlong(10, 3, 2, 1, 'valid')).toEqual({ out: 4, before: 0, after: 0 });
    expect(() => windowAlong(2, 3, 1, 1, 'valid')).toThrow(/does not fit/);
  });

  it('permute transposes row-major tensors (Keras kernel HWIO → ONNX OIHW)', () => {
    // shape [2, 3]: [[0,1,2],[3,4,5]] → transposed [[0,3],[1,4],[2,5]]
    expect([...permute(Float32Array.from([0, 1, 2, 3, 4, 5]), [2, 3], [1, 0])]).toEqual([0, 3, 1, 4, 2, 5]);
    // kernel [kh=1, kw=2, in=2, out=3]: value = 100·kw + 10·in + out
    const hwio = Float32Array.from([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
    const oihw = permute(hwio, [1, 2, 2, 3], [3, 2, 0, 1]); // [3, 2, 1, 2]
    expect([...oihw]).toEqual([0, 100, 10, 110, 1, 101, 11, 111, 2, 102, 12, 112]);
  });

  it('maps Keras NHWC axes to the graph layout and resolves −1 in reshapes', () => {
    expect([0, 1, 2, 3, -1].map((a) => internalAxis(a, 4))).toEqual([0, 2, 3, 1, 1]);
    expect(internalAxis(-1, 2)).toBe(1);
    expect(resolveShape([-1, 4], 12)).toEqual([3, 4]);
    expect(() => resolveShape([5, -1], 12)).toThrow(/cannot reshape 12 values/);
  });
});

describe('feature extractor helpers', () => {
  it('describes layers in declared order with the penultimate flagged', () => {
    const shapes: Record<string, number[]> = { a: [8, 16, 12], b: [32] };
    const layers = describeLayers({ featureLayers: ['a', 'b'], penultimate: 'b' }, (n) => shapes[n]);
    expect(layers).toEqual([
      { name: 'a', shape: [8, 16, 12], channels: 8, spatialSize: [16, 12], depth: 0, penultimate: false },
      { name: 'b', shape: [32, 1, 1], channels: 32, spatialSize: [1, 1], depth: 1, penultimate: true },
    ]);
    expect(() => describeLayers({ featureLayers: ['x'], penultimate: 'x' }, () => ['N', 4, 4])).toThrow(
      /'x' gives a \[N,4,4\] map, not a fixed/,
    );
  });

  it('checks batch length against the batch size', () => {
    expect(() => checkBatch(new Float32Array(12), 2, 6)).not.toThrow();
    expect(() => checkBatch(new Float32Array(10), 2, 6)).toThrow('A batch of 2 needs 12 values (6 per image), got 10');
    expect(() => checkBatch(new Float32Array(0), 0, 6)).toThrow(/positive integer/);
  });
});
