/**
 * Which thumbnails the grid asks for, and when. A fast scroll passes thousands of tiles through the
 * view; asking for each one's thumbnail queues thousands of requests the hand has long left behind
 * (issue 15). So the grid says which images it wants now, nearest to the view first (`want`); at
 * most `limit` are on their way at a time, the others wait, and an image no longer wanted is dropped
 * from the queue, or released if it was on its way (its tile left the page, which stops its load).
 * An image loaded stays loaded until the loader drops it to bound its memory (`forget`).
 *
 * No DOM, no timers: the grid starts a load when `onStart` names an image and reports its end with
 * `finished`, so the rules are tested on their own.
 */
export class ThumbnailQueue {
  /** Wanted and not yet started, first to start first. */
  private waiting: number[] = [];
  /** The images in view among those wanted: the others wait until these have loaded. */
  private inView = new Set<number>();
  /** Every image of the last `want`. */
  private wantedNow = new Set<number>();
  private readonly inFlight = new Set<number>();
  private readonly loaded = new Set<number>();

  constructor(
    private readonly limit: number,
    /** Called when an image's load may start (and again if it is wanted again after a release). */
    private readonly onStart: (id: number) => void,
    /** Called when a started image is no longer wanted before it loaded. */
    private readonly onRelease: (id: number) => void = () => {},
  ) {}

  /**
   * The images wanted now, nearest first; every other image waiting or on its way is dropped. The
   * first `inView` are in the view: the rest (rows just beyond it) start once those have all
   * loaded, since on a busy page each load takes its share of the main thread the view needs.
   */
  want(ids: readonly number[], inView = ids.length): void {
    const wanted = new Set(ids);
    this.wantedNow = wanted;
    this.inView = new Set(ids.slice(0, inView).filter((id) => !this.loaded.has(id)));
    for (const id of this.inFlight) {
      if (wanted.has(id)) continue;
      this.inFlight.delete(id);
      this.onRelease(id);
    }
    this.waiting = ids.filter((id) => !this.loaded.has(id) && !this.inFlight.has(id));
    this.startNext();
  }

  /** A started image loaded, or failed (a failure is not retried until the project is opened again). */
  finished(id: number): void {
    if (!this.inFlight.delete(id)) return;
    this.loaded.add(id);
    this.inView.delete(id);
    this.startNext();
  }

  /** The loader dropped a loaded image: it loads again when wanted. False, and kept, while it is wanted now. */
  forget(id: number): boolean {
    if (this.wantedNow.has(id)) return false;
    this.loaded.delete(id);
    return true;
  }

  isLoaded(id: number): boolean {
    return this.loaded.has(id);
  }

  /** How many loads are on their way (for tests and the bench). */
  get active(): number {
    return this.inFlight.size;
  }

  /**
   * Resolves once nothing waits and nothing is on its way: the grid reads the rest of a large list
   * then, so that the list's pages do not hold up the thumbnails in view.
   */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private idleWaiters: (() => void)[] = [];

  private get idle(): boolean {
    return this.inFlight.size === 0 && this.waiting.length === 0;
  }

  private wakeIfIdle(): void {
    if (this.idle) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Forgets everything: a project was opened or closed, and its images with it. */
  clear(): void {
    for (const id of this.inFlight) this.onRelease(id);
    this.inFlight.clear();
    this.waiting = [];
    this.inView.clear();
    this.wantedNow.clear();
    this.loaded.clear();
    this.wakeIfIdle();
  }

  private startNext(): void {
    while (this.inFlight.size < this.limit && this.waiting.length > 0) {
      const viewLoading = this.inView.size > 0;
      if (viewLoading && !this.inView.has(this.waiting[0])) break;
      const id = this.waiting.shift()!;
      this.inFlight.add(id);
      this.onStart(id);
    }
    this.wakeIfIdle();
  }
}

/** Tile indices from `first` to `last` (excluded), those inside [viewFirst, viewLast) first, each group from the view's centre out. */
export function byDistanceToView(first: number, last: number, viewFirst: number, viewLast: number): number[] {
  const centre = (viewFirst + viewLast - 1) / 2;
  const inView = (i: number) => i >= viewFirst && i < viewLast;
  const indices = Array.from({ length: Math.max(0, last - first) }, (_, k) => first + k);
  return indices.sort((a, b) => Number(inView(b)) - Number(inView(a)) || Math.abs(a - centre) - Math.abs(b - centre) || a - b);
}

/**
 * Whether a scroll is a fast one, during which no thumbnail is asked for: faster than `fastPxPerMs`
 * since the previous scroll event, if that one was recent (a busy page sees one only every few
 * frames). A lone jump (End key, a click on the scrollbar track) is no fast scroll: its target is
 * where the user wants to look.
 */
export function isFastScroll(dy: number, dtMs: number, fastPxPerMs = 2, recentMs = 400): boolean {
  return dtMs > 0 && dtMs < recentMs && Math.abs(dy) / dtMs > fastPxPerMs;
}
