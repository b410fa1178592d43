/**
 * The image grid: the rows listed (with their filter and sort), the keyboard cursor and the
 * selection, and where their thumbnails are served. Labeling (labels.svelte.ts) shows its changes
 * here at once (`patchRows`) and holds list reads back while its changes are on their way.
 */
import type { ImageFilter, ImageRow, ImageSort, LabelSource, MediaKind } from '../../../shared/contract';
import { FIRST_IMAGE_PAGE } from '../../../shared/image-pages';
import { tick } from 'svelte';
import { call, mediaUrl } from './api';
import { dialogs } from './dialogs.svelte';
import { ThumbnailBitmaps } from './thumbnail-bitmaps';
import { ThumbnailQueue } from './thumbnail-queue';

/**
 * Thumbnails on their way at once: a full view and its overscan, in requests of
 * THUMBNAILS_PER_REQUEST, so that a jump costs one round of requests.
 */
const THUMBNAILS_IN_FLIGHT = 96;
/**
 * The list is read in blocks of rows: the first when it opens and the last right after it (where
 * End goes), then each block the view lands on as it lands there (a drag into 100,000 images reads
 * its block, not the rows before it), while the rest streams in behind, BLOCKS_PER_READ at a time,
 * so that every image is listed for select-all, search by id and the like. Five blocks (10,000
 * rows) per read, as the stream read before: one block per read made the 100k drag of
 * bench/grid-scroll.ts slower (0.85-1.0 s), the many more reads costing more than their size saved.
 * Chosen on that bench's Fashion-MNIST projects, not tuned further.
 */
const BLOCK = FIRST_IMAGE_PAGE;
const BLOCKS_PER_READ = 5;
/** The longest a page waits for the thumbnails in view to load before it is read all the same. */
const PAGE_WAIT_MS = 1_000;

/** The filter as the toolbar's <select> spells it: `all`, `unlabeled`, `class:<id>` or `predicted:<id>`. */
export function filterKey(filter: ImageFilter): string {
  return filter.kind === 'class' || filter.kind === 'predicted' ? `${filter.kind}:${filter.classId}` : filter.kind;
}

export function parseFilterKey(key: string): ImageFilter {
  const [kind, id] = key.split(':');
  if (kind === 'class' || kind === 'predicted') return { kind, classId: Number(id) };
  return key === 'unlabeled' ? { kind: 'unlabeled' } : { kind: 'all' };
}

/** An image whose prediction can be accepted: predicted, and not labeled by a person. */
export const acceptable = (row: ImageRow) => row.predictedClassId !== null && row.source !== 'human';

class Grid {
  /**
   * The list, `total` long: a hole (undefined) is a row not read yet. Raw: replaced wholesale,
   * never mutated in place.
   */
  images = $state.raw<(ImageRow | undefined)[]>([]);
  /** How many images the filter lists, read with the first page. */
  total = $state(0);
  /** How many images the list shows: the grid's height, the toolbar's count, the preview's "n / count" (labels patched in may outgrow `total` until the next read). */
  count = $derived(Math.max(this.total, this.images.length));
  filter = $state.raw<ImageFilter>({ kind: 'all' });
  sort = $state<ImageSort>('import');

  // Selection: ids, plus a keyboard cursor (index into `images`; on a hole until its row is read).
  selected = $state.raw(new Set<number>());
  focusIndex = $state(0);
  focused = $derived<ImageRow | null>(this.images[this.focusIndex] ?? null);
  /** Where a Shift-click or Shift-arrow range starts. */
  private anchorIndex = 0;

  /**
   * Image ids restart in every project, so media URLs carry a key of the project session:
   * without it the browser shows the previous project's cached thumbnails.
   */
  private mediaKey = $state('');
  /** The open project's file: media URLs name it, so that the server answers quietly a request for a project closed since. */
  private projectPath = '';

  /** Which thumbnails load, and when: ImageGrid says which it wants, the queue starts and releases them. */
  thumbnails: ThumbnailQueue = new ThumbnailQueue(
    THUMBNAILS_IN_FLIGHT,
    (id) => this.thumbnailBitmaps.start(id),
    (id) => this.thumbnailBitmaps.release(id),
  );
  /** The thumbnails loaded, decoded for the tiles to draw. */
  thumbnailBitmaps: ThumbnailBitmaps = new ThumbnailBitmaps(
    (ids) => this.mediaUrl('thumbs', ids),
    (id) => this.thumbnails.finished(id),
    (id) => this.thumbnails.forget(id),
  );
  private listRequest = 0;
  /**
   * The blocks of the list asked for, for `listRequest`: by the stream, and for the view. A block
   * the view lands on is read for it even when a slower read of the stream holds it too.
   */
  private blocksStreamed = new Set<number>();
  private blocksShown = new Set<number>();
  /** The view's reads on their way: the stream waits for them. */
  private readonly shownReads = new Set<Promise<unknown>>();
  /** Rows read so far: the list is whole once they reach `total`. */
  private rowsRead = 0;
  /** An image the cursor goes to once its block is read (a reload's cursor). */
  private focusTarget: number | null = null;
  /** The cursor moved onto a hole: how, once its row is read. */
  private pendingFocus: { index: number; mode: 'select' | 'extend' | 'keep' } | null = null;
  private labelingInFlight = 0;
  private listStale = false;

  /** Where a thumbnail or the full image of the open project is served. */
  mediaUrl(kind: MediaKind, ids: number | readonly number[]): string {
    return `${mediaUrl(kind, ids)}?p=${this.mediaKey}&project=${encodeURIComponent(this.projectPath)}`;
  }

  /** Empties the grid for the project just opened (at `projectPath`): all images, nothing selected, new media URLs. */
  reset(projectPath: string): void {
    this.mediaKey = Date.now().toString(36);
    this.projectPath = projectPath;
    this.thumbnails.clear();
    this.thumbnailBitmaps.clear();
    this.filter = { kind: 'all' };
    this.listRequest++; // a list still streaming in belongs to the previous project
    [this.blocksStreamed, this.blocksShown] = [new Set(), new Set()];
    [this.rowsRead, this.focusTarget, this.pendingFocus] = [0, null, null];
    this.images = [];
    this.total = 0;
    this.selected = new Set();
    this.focusIndex = 0;
    this.anchorIndex = 0;
  }

  /**
   * Reads the list again: resolves with its first block shown; the others are read where the view
   * goes and streamed in behind (`readRest`). The cursor stays on `focusId`, by default the image
   * it is on when the list arrives, once its row is read.
   */
  async loadImages(focusId?: number | null): Promise<void> {
    const request = ++this.listRequest;
    const target = focusId === undefined ? (this.focused?.id ?? null) : focusId;
    [this.blocksStreamed, this.blocksShown] = [new Set([0]), new Set([0])];
    this.pendingFocus = null;
    // The first block is all a large project costs to open.
    const first = await this.readPage(request, 0, BLOCK);
    if (!first) return;
    this.total = first.total;
    const rows = new Array<ImageRow | undefined>(first.total); // holes: the rows not read yet
    first.rows.forEach((row, i) => (rows[i] = row));
    this.rowsRead = first.rows.length;
    this.setRows(rows, target);
    if (this.rowsRead < this.total) {
      this.showRows(this.total - 1, this.total); // the other end, where End goes, next
      // A failure of a list no longer shown (a project closed meanwhile) is no one's concern.
      void this.readRest(request).catch((error: unknown) => this.readFailed(request, error));
    }
  }

  /** One page of the list for `request`, or null when a newer read owns the list or labels are on their way. */
  private async readPage(request: number, offset: number, limit: number) {
    const page = await call('images.page', { filter: this.filter, sort: this.sort, offset, limit });
    if (request !== this.listRequest) return null; // a newer request owns the list
    // Read before labels still on their way were saved: it would undo them on screen for a moment.
    if (this.labelingInFlight > 0) {
      this.listStale = true;
      return null;
    }
    return page;
  }

  private readFailed(request: number, error: unknown): void {
    if (request === this.listRequest) void dialogs.attempt(() => Promise.reject(error));
  }

  /** The blocks not asked for yet, in order, BLOCKS_PER_READ at a time, each once the thumbnails in view have loaded (or after PAGE_WAIT_MS). */
  private async readRest(request: number): Promise<void> {
    const blocks = () => Math.ceil(this.total / BLOCK);
    for (;;) {
      // The view's rows and thumbnails first: a page read meanwhile would hold them up, in the server and here.
      await tick(); // the grid has drawn the rows, asked for the blocks it lacks and for their thumbnails
      while (this.shownReads.size > 0) {
        await Promise.allSettled([...this.shownReads]);
        await tick();
      }
      await Promise.race([this.thumbnails.whenIdle(), new Promise((resolve) => setTimeout(resolve, PAGE_WAIT_MS))]);
      if (request !== this.listRequest) return;
      const asked = (block: number) => this.blocksStreamed.has(block) || this.blocksShown.has(block);
      let first = 0;
      while (first < blocks() && asked(first)) first++;
      if (first >= blocks()) return;
      let count = 0;
      while (count < BLOCKS_PER_READ && first + count < blocks() && !asked(first + count)) this.blocksStreamed.add(first + count++);
      if (!(await this.readBlocks(request, first, count))) return;
    }
  }

  /** Reads `count` blocks from block `first` into the list; false when the list is no longer this request's. */
  private async readBlocks(request: number, first: number, count: number): Promise<boolean> {
    const page = await this.readPage(request, first * BLOCK, count * BLOCK);
    if (!page) return false;
    const offset = first * BLOCK;
    const next = this.images.slice();
    page.rows.forEach((row, i) => {
      if (next[offset + i] === undefined) this.rowsRead++;
      next[offset + i] = row;
    });
    this.images = next;
    if (this.focusTarget !== null) {
      const at = page.rows.findIndex((r) => r.id === this.focusTarget);
      if (at >= 0) [this.focusTarget, this.focusIndex] = [null, offset + at];
    }
    const pending = this.pendingFocus;
    if (pending && pending.index >= offset && pending.index < offset + page.rows.length) this.focusAt(pending.index, pending.mode);
    if (this.rowsRead >= this.total) this.keepListedSelection();
    return true;
  }

  /** The view shows rows `first` to `last` (excluded): the blocks it lacks are read now, ahead of the stream. */
  showRows(first: number, last: number): void {
    const request = this.listRequest;
    for (let block = Math.floor(first / BLOCK); block * BLOCK < Math.min(last, this.total); block++) {
      if (this.blocksShown.has(block) || this.images[block * BLOCK] !== undefined) continue;
      this.blocksShown.add(block);
      const read = this.readBlocks(request, block, 1).catch((error: unknown) => this.readFailed(request, error));
      this.shownReads.add(read);
      void read.finally(() => this.shownReads.delete(read));
    }
  }

  /** The rows read so far, in list order. */
  readRows(): ImageRow[] {
    return this.images.filter((row) => row !== undefined);
  }

  /** Replaces the list, keeping the cursor on `focusId` (now, or once its row is read), else where it was. */
  private setRows(rows: (ImageRow | undefined)[], focusId: number | null): void {
    this.images = rows;
    const index = focusId === null ? -1 : rows.findIndex((r) => r?.id === focusId);
    this.focusTarget = index < 0 && this.rowsRead < rows.length ? focusId : null;
    this.focusIndex = index >= 0 ? index : Math.max(0, Math.min(this.focusIndex, rows.length - 1));
    this.anchorIndex = Math.min(this.anchorIndex, Math.max(rows.length - 1, 0));
    if (this.rowsRead >= this.total) this.keepListedSelection();
  }

  /** Unselects images the whole list no longer holds (once every page is there). */
  private keepListedSelection(): void {
    if (this.selected.size === 0) return;
    const listed = new Set(this.readRows().map((r) => r.id));
    const kept = [...this.selected].filter((id) => listed.has(id));
    if (kept.length !== this.selected.size) this.selected = new Set(kept);
  }

  async setFilter(filter: ImageFilter): Promise<void> {
    this.filter = filter;
    this.focusIndex = 0;
    await dialogs.attempt(() => this.loadImages(null));
  }

  async setSort(sort: ImageSort): Promise<void> {
    this.sort = sort;
    await dialogs.attempt(() => this.loadImages());
  }

  /**
   * Moves the cursor; selection follows it unless `mode` says to extend it or leave it. Onto a row
   * not read yet, the cursor goes at once and the selection follows once the row's block is read
   * (nothing is selected meanwhile, so that a key typed then labels nothing it should not).
   */
  focusAt(index: number, mode: 'select' | 'extend' | 'keep' = 'select'): void {
    this.pendingFocus = null; // a newer move replaces it
    this.focusTarget = null;
    if (this.images.length === 0) return;
    const clamped = Math.max(0, Math.min(index, this.images.length - 1));
    this.focusIndex = clamped;
    const row = this.images[clamped];
    if (row === undefined) {
      this.pendingFocus = { index: clamped, mode };
      if (mode === 'select') [this.anchorIndex, this.selected] = [clamped, new Set()];
      this.showRows(clamped, clamped + 1);
    } else if (mode === 'select') {
      this.anchorIndex = clamped;
      this.selected = new Set([row.id]);
    } else if (mode === 'extend') {
      // Rows of the range not read yet stay out of it.
      const [from, to] = [Math.min(this.anchorIndex, clamped), Math.max(this.anchorIndex, clamped)];
      this.selected = new Set(this.images.slice(from, to + 1).flatMap((r) => (r ? [r.id] : [])));
    }
  }

  toggleSelected(index: number): void {
    const row = this.images[index];
    if (!row) return;
    this.pendingFocus = null;
    const next = new Set(this.selected);
    if (next.has(row.id)) next.delete(row.id);
    else next.add(row.id);
    this.selected = next;
    this.focusIndex = index;
    this.anchorIndex = index;
  }

  selectAll(): void {
    this.selected = new Set(this.readRows().map((r) => r.id));
  }

  /** Puts the cursor on an image (showing all images if the filter hides it) and the keyboard on the grid. */
  async focusImage(id: number): Promise<void> {
    if (!this.images.some((r) => r?.id === id)) await this.setFilter({ kind: 'all' });
    const index = this.images.findIndex((r) => r?.id === id);
    if (index < 0) return;
    this.focusAt(index);
    document.querySelector<HTMLElement>('[data-testid="grid"]')?.focus();
  }

  /** Shows labels at once; `source` is who gave them (undo and redo leave it to the reload that follows). */
  patchRows(classIds: Map<number, number | null>, source: LabelSource | null = null): void {
    this.images = this.images.map((r) => {
      if (!r || !classIds.has(r.id)) return r;
      const classId = classIds.get(r.id) ?? null;
      return { ...r, classId, source: classId === null ? null : (source ?? r.source) };
    });
  }

  /**
   * Runs a label change (labels.svelte.ts) while the list holds: a list read meanwhile would undo
   * labels still on their way on screen for a moment, so it is read again once none is on its way.
   */
  async whileLabeling<T>(change: () => Promise<T | undefined>): Promise<T | undefined> {
    this.labelingInFlight++;
    const result = await change();
    this.labelingInFlight--;
    if (result === undefined) this.listStale = true; // what was shown did not happen: read the list again
    return result;
  }

  /** After a label change: reads the list again if it went stale meanwhile and no change is on its way. */
  reloadIfStale(): void {
    if (this.labelingInFlight === 0 && this.listStale) {
      this.listStale = false;
      void dialogs.attempt(() => this.loadImages());
    }
  }
}

export const grid = new Grid();
