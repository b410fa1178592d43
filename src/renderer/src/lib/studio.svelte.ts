/**
 * The workspace's state: the studio and its open project, the classes, the image grid (filter,
 * sort, selection, cursor) and labeling with undo, plus the events from the services, which it
 * passes on to the other state modules (`listen`) and the job board. Components read fields of
 * `studio` (reactive through Svelte runes) and call its methods. Other concerns have their own
 * modules beside it: dialogs, jobs, imports, teachers, project-actions, class-actions, comparison
 * and predictions. Failed calls become error toasts (`dialogs.attempt`), so no action throws into a component.
 */
import type {
  ClassInfo,
  ImageFilter,
  ImageRow,
  ImageSort,
  LabelSource,
  MediaKind,
  ProjectSummary,
  StudioEvent,
  StudioInfo,
  Theme,
} from '../../../shared/contract';
import { call, mediaUrl, onEvent } from './api';
import { dialogs } from './dialogs.svelte';
import { jobBoard } from './jobs.svelte';
import { labels } from './labels.svelte';

/** What a `project.changed` event says changed. */
export type ChangeKind = Extract<StudioEvent, { type: 'project.changed' }>['what'];

/**
 * A part of the UI with its own state module (e.g. comparisons and trained heads) hears of
 * changes the services announce, and of another project being opened (its jobs: see jobs.svelte.ts).
 */
export interface StudioListener {
  onChange?(kinds: ReadonlySet<ChangeKind>): Promise<void>;
  /** Resets what the last project showed; a promise when the new project's state is loading. */
  onProjectLoaded?(): void | Promise<void>;
}

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

export const THEME_KEY = 'atl-studio-theme';

class Studio {
  // ----- studio and project -----
  info = $state.raw<StudioInfo | null>(null);
  loaded = $state(false);
  theme = $state<Theme>('dark');
  project = $derived<ProjectSummary | null>(this.info?.project ?? null);
  /**
   * Image ids restart in every project, so media URLs carry a key of the project session:
   * without it the browser shows the previous project's cached thumbnails.
   */
  private mediaKey = $state('');

  // ----- classes and the image list (raw: replaced wholesale, never mutated in place) -----
  classes = $state.raw<ClassInfo[]>([]);
  classById = $derived(new Map(this.classes.map((c) => [c.id, c])));
  images = $state.raw<ImageRow[]>([]);
  filter = $state.raw<ImageFilter>({ kind: 'all' });
  sort = $state<ImageSort>('import');
  /** Images in the project, whatever the filter. */
  totalImages = $derived(this.project?.images ?? 0);
  labeledImages = $derived(this.classes.reduce((sum, c) => sum + c.count, 0));

  // ----- selection: ids, plus a keyboard cursor (index into `images`) -----
  selected = $state.raw(new Set<number>());
  focusIndex = $state(0);
  focused = $derived<ImageRow | null>(this.images[this.focusIndex] ?? null);
  /** Where a Shift-click or Shift-arrow range starts. */
  private anchorIndex = 0;

  private listRequest = 0;
  private labelingInFlight = 0;
  private listStale = false;
  private pendingReloads = new Set<ChangeKind>();
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;
  private listeners = new Set<StudioListener>();

  // ================= start-up =================

  /** Subscribes a state module to changes and project switches; returns the unsubscribe. */
  listen(listener: StudioListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    onEvent((event) => this.handleEvent(event));
    await dialogs.attempt(async () => {
      const info = await call('studio.info', {});
      this.info = info;
      this.applyTheme(info.theme);
      if (info.project) await this.loadProject();
    });
    this.loaded = true;
  }

  /** Where a thumbnail or the full image of the open project is served. */
  mediaUrl(kind: MediaKind, id: number): string {
    return `${mediaUrl(kind, id)}?p=${this.mediaKey}`;
  }

  // ================= theme =================

  private applyTheme(theme: Theme): void {
    this.theme = theme;
    document.documentElement.dataset.theme = theme;
    localStorage.setItem(THEME_KEY, theme); // main.ts applies it before the first paint next time
  }

  async toggleTheme(): Promise<void> {
    const theme: Theme = this.theme === 'dark' ? 'light' : 'dark';
    this.applyTheme(theme); // at once; the choice is saved in the background
    await dialogs.attempt(() => call('studio.setTheme', { theme }));
  }

  // ================= the open project (its actions: project-actions.ts) =================

  async refreshInfo(): Promise<void> {
    const info = await dialogs.attempt(() => call('studio.info', {}));
    if (info) this.info = info;
  }

  /** Loads everything the workspace shows for the project that is now open. */
  private async loadProject(): Promise<void> {
    this.mediaKey = Date.now().toString(36);
    this.filter = { kind: 'all' };
    this.images = [];
    this.selected = new Set();
    this.focusIndex = 0;
    this.anchorIndex = 0;
    const listening = [...this.listeners].map((listener) => listener.onProjectLoaded?.());
    await Promise.all([this.loadClasses(), this.loadImages(), labels.loadHistory(), ...listening]);
  }

  async afterOpen(open: () => Promise<ProjectSummary>): Promise<void> {
    const summary = await dialogs.attempt(open);
    if (!summary) return;
    await this.refreshInfo();
    await dialogs.attempt(() => this.loadProject());
  }

  // ================= images and selection =================

  /** Reads the list again; the cursor stays on `focusId`, by default the image it is on when the list arrives. */
  async loadImages(focusId?: number | null): Promise<void> {
    const request = ++this.listRequest;
    const rows = await call('images.list', { filter: this.filter, sort: this.sort });
    if (request !== this.listRequest) return; // a newer request owns the list
    // Read before labels still on their way were saved: it would undo them on screen for a moment.
    if (this.labelingInFlight > 0) {
      this.listStale = true;
      return;
    }
    this.setRows(rows, focusId === undefined ? (this.focused?.id ?? null) : focusId);
  }

  /** Replaces the list, keeping the cursor on `focusId` when it is still listed, else near where it was. */
  private setRows(rows: ImageRow[], focusId: number | null): void {
    this.images = rows;
    const index = focusId === null ? -1 : rows.findIndex((r) => r.id === focusId);
    this.focusIndex = index >= 0 ? index : Math.max(0, Math.min(this.focusIndex, rows.length - 1));
    this.anchorIndex = Math.min(this.anchorIndex, Math.max(rows.length - 1, 0));
    if (this.selected.size > 0) {
      const listed = new Set(rows.map((r) => r.id));
      const kept = [...this.selected].filter((id) => listed.has(id));
      if (kept.length !== this.selected.size) this.selected = new Set(kept);
    }
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

  /** Tells the other state modules of changes made from here, which the services do not announce. */
  tellListeners(kinds: ReadonlySet<ChangeKind>): void {
    for (const listener of this.listeners) if (listener.onChange) void dialogs.attempt(() => listener.onChange!(kinds));
  }

  // ================= classes (their actions: class-actions.ts) =================

  async loadClasses(): Promise<void> {
    this.setClasses(await call('classes.list', {}));
  }

  setClasses(classes: ClassInfo[]): void {
    this.classes = classes;
    // A filter on a class that is gone falls back to all images.
    const filter = this.filter;
    if ((filter.kind === 'class' || filter.kind === 'predicted') && !classes.some((c) => c.id === filter.classId)) void this.setFilter({ kind: 'all' });
  }

  // ================= events from the services =================

  private handleEvent(event: StudioEvent): void {
    if (event.type === 'job.progress') {
      jobBoard.record(event.job); // settles the job with whoever started it; others follow its progress
      return;
    }
    this.scheduleReload(event.what);
  }

  /**
   * Changes come in bursts (an import announces many batches; our own labeling echoes back):
   * they are gathered for a moment and each kind is reloaded once.
   */
  scheduleReload(what: ChangeKind): void {
    this.pendingReloads.add(what);
    if (this.reloadTimer !== undefined) return;
    this.reloadTimer = setTimeout(() => {
      this.reloadTimer = undefined;
      const kinds = new Set(this.pendingReloads);
      this.pendingReloads.clear();
      void dialogs.attempt(() => this.reload(kinds));
    }, 150);
  }

  private async reload(kinds: Set<ChangeKind>): Promise<void> {
    const before = this.project?.path;
    if (kinds.has('project') || kinds.has('images')) {
      this.info = await call('studio.info', {});
      // Another front may have closed this project or opened another one.
      if (!this.project) return;
      if (this.project.path !== before) return this.loadProject();
    }
    if (!this.project) return;
    const all = kinds.has('project');
    const jobs: Promise<void>[] = [];
    if (all || kinds.has('classes') || kinds.has('labels')) jobs.push(this.loadClasses());
    if (all || kinds.has('images') || kinds.has('labels') || kinds.has('classes') || kinds.has('predictions') || kinds.has('heads'))
      jobs.push(this.loadImages()); // a deleted head takes its predictions along
    if (all || kinds.has('labels') || kinds.has('classes')) jobs.push(labels.loadHistory());
    for (const listener of this.listeners) if (listener.onChange) jobs.push(listener.onChange(kinds));
    await Promise.all(jobs);
  }
}

export const studio = new Studio();
