/**
 * Results that finish out of order, handed on in order: `add(index, value)` returns the values now
 * ready, in index order. One slow item must not hold every later one in memory (a huge image, a
 * file on a disk waking up, during an import of 100,000): once `window` values wait behind a gap,
 * they are handed on without it, and each missing one follows whenever it finishes.
 */
export class ReorderBuffer<T> {
  private readonly waiting = new Map<number, T>();
  /** The index handed on next; every index below it was handed on or given up on. */
  private next = 0;

  constructor(private readonly window: number) {
    if (!(window >= 1)) throw new RangeError('A reorder window holds at least one value');
  }

  /** How many values wait behind a gap (never `window` or more). */
  get size(): number {
    return this.waiting.size;
  }

  add(index: number, value: T): T[] {
    // Its place was given up while it ran: it goes now, after the ones handed on without it.
    if (index < this.next) return [value];
    this.waiting.set(index, value);
    const ready: T[] = [];
    while (this.waiting.has(this.next)) {
      ready.push(this.waiting.get(this.next)!);
      this.waiting.delete(this.next++);
    }
    if (this.waiting.size >= this.window) {
      const indices = [...this.waiting.keys()].sort((a, b) => a - b);
      for (const i of indices) ready.push(this.waiting.get(i)!);
      this.waiting.clear();
      this.next = indices[indices.length - 1] + 1;
    }
    return ready;
  }
}
