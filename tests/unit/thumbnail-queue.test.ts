import { describe, expect, it } from 'vitest';
import { byDistanceToView, isFastScroll, ThumbnailQueue } from '../../src/renderer/src/lib/thumbnail-queue';

function queue(limit: number) {
  const started: number[] = [];
  const released: number[] = [];
  const q = new ThumbnailQueue(
    limit,
    (id) => started.push(id),
    (id) => released.push(id),
  );
  return { q, started, released };
}

describe('ThumbnailQueue', () => {
  it('forgets a loaded image the loader dropped, unless it is wanted now, so that it loads again when wanted', () => {
    const { q, started } = queue(4);
    q.want([1, 2]);
    q.finished(1);
    q.finished(2);
    expect(q.forget(1)).toBe(false); // its tile still shows it
    q.want([2]);
    expect(q.forget(1)).toBe(true);
    expect(q.isLoaded(1)).toBe(false);
    expect(q.isLoaded(2)).toBe(true);
    q.want([1, 2]);
    expect(started).toEqual([1, 2, 1]);
  });

  it('starts at most `limit` loads, in the order wanted, and the next one as each finishes', () => {
    const { q, started } = queue(2);
    q.want([5, 6, 7, 8]);
    expect(started).toEqual([5, 6]);
    q.finished(6);
    expect(started).toEqual([5, 6, 7]);
    expect(q.active).toBe(2);
  });

  it('starts the images beyond the view once every image in view has loaded', () => {
    const { q, started } = queue(3);
    q.want([1, 2, 10, 11], 2);
    expect(started).toEqual([1, 2]); // room for a third, but 10 lies beyond the view
    q.finished(1);
    expect(started).toEqual([1, 2]);
    q.finished(2);
    expect(started).toEqual([1, 2, 10, 11]);
    q.want([3, 10, 11], 1); // the view moved: 3 comes before 10 and 11, already on their way
    expect(started).toEqual([1, 2, 10, 11, 3]);
  });

  it('drops waiting images no longer wanted and releases those on their way', () => {
    const { q, started, released } = queue(2);
    q.want([1, 2, 3, 4]);
    q.want([2, 9]); // 1 left the view while loading, 3 and 4 while waiting
    expect(released).toEqual([1]);
    expect(started).toEqual([1, 2, 9]);
    q.finished(1); // a released load that ends anyway frees nothing twice
    expect(q.active).toBe(2);
  });

  it('says when nothing waits and nothing is on its way', async () => {
    const { q } = queue(1);
    let idle = false;
    await q.whenIdle(); // nothing wanted yet
    q.want([1, 2]);
    void q.whenIdle().then(() => (idle = true));
    q.finished(1);
    await Promise.resolve();
    expect(idle).toBe(false); // 2 is on its way now
    q.finished(2);
    await Promise.resolve();
    expect(idle).toBe(true);
  });

  it('asks for nothing while wanted is empty (a fast scroll), and never twice for a loaded image', () => {
    const { q, started } = queue(6);
    q.want([1, 2]);
    q.finished(1);
    q.finished(2);
    q.want([]);
    q.want([1, 2, 3]);
    expect(started).toEqual([1, 2, 3]);
    expect(q.isLoaded(1)).toBe(true);
  });

  it('clear forgets loaded images and releases loads on their way', () => {
    const { q, started, released } = queue(6);
    q.want([1, 2]);
    q.finished(1);
    q.clear();
    expect(released).toEqual([2]);
    q.want([1]);
    expect(started).toEqual([1, 2, 1]);
  });
});

describe('byDistanceToView', () => {
  it('puts the tiles in view first, each group from the centre of the view out', () => {
    // Tiles 0–9 rendered, 3–6 in view (centre 4.5).
    expect(byDistanceToView(0, 10, 3, 7)).toEqual([4, 5, 3, 6, 2, 7, 1, 8, 0, 9]);
  });

  it('is empty when nothing is rendered', () => {
    expect(byDistanceToView(5, 5, 5, 5)).toEqual([]);
  });
});

describe('isFastScroll', () => {
  it('is fast above 2 px/ms since a scroll event less than 400 ms before, and never for a lone jump', () => {
    expect(isFastScroll(740, 50)).toBe(true); // a wheel flick: 14.8 px/ms
    expect(isFastScroll(-740, 50)).toBe(true);
    expect(isFastScroll(2400, 300)).toBe(true); // the same on a busy page that sees fewer scroll events
    expect(isFastScroll(50, 50)).toBe(false); // reading speed: 1 px/ms
    expect(isFastScroll(100_000, 2000)).toBe(false); // End key after a pause
    expect(isFastScroll(500, 0)).toBe(false);
  });
});
