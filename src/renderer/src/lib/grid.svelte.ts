/**
 * The image grid: the rows listed (with their filter and sort), the keyboard cursor and the
 * selection, and where their thumbnails are served. Labeling (labels.svelte.ts) shows its changes
 * here at once (`patchRows`) and holds list reads back while its changes are on their way.
 */
import type { ImageFilter, ImageRow, ImageSort, LabelSource, MediaKind } from '../../../shared/contract';
import { FIRST_IMAGE_PAGE } from '../../../shared/image-pages';
import { tick } from 'svelte';
import { SvelteSet } from 'svelte/reactivity';
import { call, mediaUrl } from './api';
import { dialogs } from './dialogs.svelte';
import { ThumbnailQueue } from './thumbnail-queue';

/**
 * Thumbnails on their way at once: about a third of a full view. The browser fetches six at a time
 * (HTTP/1.1 to one host) and holds the rest, so the next starts without waiting for the page to
 * hear of a load; one released by the queue leaves the page, which cancels its fetch. Six at once
 * (one per connection) painted a jump to the end of 10,000 images in 0.6 s, 24 in 0.15–0.45 s;
 * 96 let a fast scroll start hundreds of loads and slowed its frames (bench/grid-scroll.ts).
 */
const THUMBNAILS_IN_FLIGHT = 24;
/** Rows per read after the first page, streamed in behind it while the user already works. */
const PAGE = 10_000;
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
  // The list is raw: replaced wholesale, never mutated in place. It grows page by page up to `total`.
  images = $state.raw<ImageRow[]>([]);
  /** How many images the filter lists, read with the first page. */
  total = $state(0);
  /** How many images the list shows: the grid's height, the toolbar's count, the preview's "n / count" (labels patched in may outgrow `total` until the next read). */
  count = $derived(Math.max(this.total, this.images.length));
  filter = $state.raw<ImageFilter>({ kind: 'all' });
  sort = $state<ImageSort>('import');

  // Selection: ids, plus a keyboard cursor (index into `images`).
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

  /** The tiles whose thumbnail may load: the queue starts and releases them (ImageGrid says which it wants). */
  thumbnailShown = new SvelteSet<number>();
  thumbnails = new ThumbnailQueue(
    THUMBNAILS_IN_FLIGHT,
    (id) => this.thumbnailShown.add(id),
    (id) => this.thumbnailShown.delete(id),
  );
  private listRequest = 0;
  /** End was pressed while the list streamed in: the selection mode to move to the last image with once it is read. */
  private endWanted: 'select' | 'extend' | 'keep' | null = null;
  private labelingInFlight = 0;
  private listStale = false;

  /** Where a thumbnail or the full image of the open project is served. */
  mediaUrl(kind: MediaKind, id: number): string {
    return `${mediaUrl(kind, id)}?p=${this.mediaKey}&project=${encodeURIComponent(this.projectPath)}`;
  }

  /** Empties the grid for the project just opened (at `projectPath`): all images, nothing selected, new media URLs. */
  reset(projectPath: string): void {
    this.mediaKey = Date.now().toString(36);
    this.projectPath = projectPath;
    this.thumbnails.clear();
    this.thumbnailShown.clear();
    this.filter = { kind: 'all' };
    this.listRequest++; // a list still streaming in belongs to the previous project
    this.images = [];
    this.total = 0;
    this.selected = new Set();
    this.focusIndex = 0;
    this.anchorIndex = 0;
  }

  /**
   * Reads the list again: resolves with its first page shown; the rest streams in behind it, page
   * by page (`readRest`). The cursor stays on `focusId`, by default the image it is on when the list
   * arrives, once its page is there.
   */
  async loadImages(focusId?: number | null): Promise<void> {
    const request = ++this.listRequest;
    this.endWanted = null;
    const target = focusId === undefined ? (this.focused?.id ?? null) : focusId;
    // The first page is all a large project costs to open (FIRST_IMAGE_PAGE rows).
    const first = await this.readPage(request, 0, FIRST_IMAGE_PAGE);
    if (!first) return;
    this.total = first.total;
    this.setRows(first.rows, target);
    if (this.images.length < this.total) {
      const found = target === null || first.rows.some((r) => r.id === target);
      // A failure of a list no longer shown (a project closed meanwhile) is no one's concern.
      void this.readRest(request, found ? null : target).catch((error: unknown) => {
        if (request === this.listRequest) void dialogs.attempt(() => Promise.reject(error));
      });
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

  /** The pages after the first, each once the thumbnails in view have loaded (or after PAGE_WAIT_MS). */
  private async readRest(request: number, target: number | null): Promise<void> {
    while (this.images.length < this.total) {
      // The thumbnails in view first: a page read meanwhile would hold them up, in the server and here.
      await tick(); // the grid has drawn the rows and asked for their thumbnails
      if (this.endWanted === null) await Promise.race([this.thumbnails.whenIdle(), new Promise((resolve) => setTimeout(resolve, PAGE_WAIT_MS))]);
      if (request !== this.listRequest) return;
      const page = await this.readPage(request, this.images.length, PAGE);
      if (!page || page.rows.length === 0) return;
      this.images = [...this.images, ...page.rows];
      if (target !== null) {
        const index = this.images.findIndex((r) => r.id === target);
        if (index >= 0) [target, this.focusIndex] = [null, index];
      }
    }
    if (this.endWanted !== null) this.focusAt(this.images.length - 1, this.endWanted);
    this.keepListedSelection();
  }

  /** Replaces the list, keeping the cursor on `focusId` when it is still listed, else near where it was. */
  private setRows(rows: ImageRow[], focusId: number | null): void {
    this.images = rows;
    const index = focusId === null ? -1 : rows.findIndex((r) => r.id === focusId);
    this.focusIndex = index >= 0 ? index : Math.max(0, Math.min(this.focusIndex, rows.length - 1));
    this.anchorIndex = Math.min(this.anchorIndex, Math.max(rows.length - 1, 0));
    if (rows.length >= this.total) this.keepListedSelection();
  }

  /** Unselects images the whole list no longer holds (once every page is there). */
  private keepListedSelection(): void {
    if (this.selected.size === 0) return;
    const listed = new Set(this.images.map((r) => r.id));
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

  /** Moves the cursor; selection follows it unless `mode` says to extend it or leave it. */
  focusAt(index: number, mode: 'select' | 'extend' | 'keep' = 'select'): void {
    this.endWanted = null; // a move after End replaces it
    if (this.images.length === 0) return;
    const clamped = Math.max(0, Math.min(index, this.images.length - 1));
    this.focusIndex = clamped;
    if (mode === 'select') {
      this.anchorIndex = clamped;
      this.selected = new Set([this.images[clamped].id]);
    } else if (mode === 'extend') {
      const [from, to] = [Math.min(this.anchorIndex, clamped), Math.max(this.anchorIndex, clamped)];
      this.selected = new Set(this.images.slice(from, to + 1).map((r) => r.id));
    }
  }

  /**
   * The cursor on the last image (End). While a large list still streams in, the last image read is
   * not the last one: the cursor waits there, the rest is read at once (not behind the thumbnails),
   * and the cursor goes to the true last image when it arrives.
   */
  focusLast(mode: 'select' | 'extend' | 'keep' = 'select'): void {
    this.focusAt(this.images.length - 1, mode);
    this.endWanted = this.images.length < this.total ? mode : null;
  }

  toggleSelected(index: number): void {
    const row = this.images[index];
    if (!row) return;
    const next = new Set(this.selected);
    if (next.has(row.id)) next.delete(row.id);
    else next.add(row.id);
    this.selected = next;
    this.focusIndex = index;
    this.anchorIndex = index;
  }

  selectAll(): void {
    this.selected = new Set(this.images.map((r) => r.id));
  }

  /** Puts the cursor on an image (showing all images if the filter hides it) and the keyboard on the grid. */
  async focusImage(id: number): Promise<void> {
    if (!this.images.some((r) => r.id === id)) await this.setFilter({ kind: 'all' });
    const index = this.images.findIndex((r) => r.id === id);
    if (index < 0) return;
    this.focusAt(index);
    document.querySelector<HTMLElement>('[data-testid="grid"]')?.focus();
  }

  /** Shows labels at once; `source` is who gave them (undo and redo leave it to the reload that follows). */
  patchRows(classIds: Map<number, number | null>, source: LabelSource | null = null): void {
    this.images = this.images.map((r) => {
      if (!classIds.has(r.id)) return r;
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
