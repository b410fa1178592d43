/** The import's reorder buffer: in order when it can, and never more than its window held behind a slow item. */
import { describe, expect, it } from 'vitest';
import { ReorderBuffer } from '../../src/main/core/reorder-buffer';

describe('ReorderBuffer', () => {
  it('hands values on in index order as the gaps fill', () => {
    const buffer = new ReorderBuffer<string>(10);
    expect(buffer.add(1, 'b')).toEqual([]);
    expect(buffer.add(2, 'c')).toEqual([]);
    expect(buffer.add(0, 'a')).toEqual(['a', 'b', 'c']);
    expect(buffer.add(3, 'd')).toEqual(['d']);
    expect(buffer.size).toBe(0);
  });

  it('behind a slow item, hands on the window it holds without it; the slow one follows when it finishes', () => {
    const buffer = new ReorderBuffer<number>(3);
    // Item 0 is slow: 1 and 2 wait, the third waiting value fills the window and all three go.
    expect(buffer.add(1, 1)).toEqual([]);
    expect(buffer.add(3, 3)).toEqual([]);
    expect(buffer.add(2, 2)).toEqual([1, 2, 3]);
    expect(buffer.size).toBe(0);
    // In order again after the window: 4 goes at once.
    expect(buffer.add(4, 4)).toEqual([4]);
    expect(buffer.add(0, 0)).toEqual([0]);
    // A gap inside the window given up on (5 slow, 6 and 8 done, 7 slow): 6, 8 go with the window.
    expect(buffer.add(6, 6)).toEqual([]);
    expect(buffer.add(8, 8)).toEqual([]);
    expect(buffer.add(9, 9)).toEqual([6, 8, 9]);
    expect(buffer.add(7, 7)).toEqual([7]);
    expect(buffer.add(5, 5)).toEqual([5]);
    expect(buffer.add(10, 10)).toEqual([10]);
  });

  it('never holds as many values as its window', () => {
    const buffer = new ReorderBuffer<number>(4);
    let largest = 0;
    // Item 0 never finishes: 999 others come in a shuffled order.
    const order = Array.from({ length: 999 }, (_, i) => i + 1).sort((a, b) => ((a * 7919) % 1000) - ((b * 7919) % 1000));
    const out: number[] = [];
    for (const i of order) {
      out.push(...buffer.add(i, i));
      largest = Math.max(largest, buffer.size);
    }
    expect(largest).toBeLessThan(4);
    expect(out.length + buffer.size).toBe(999);
  });
});
