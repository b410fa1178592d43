/**
 * The workspace's life: start-up, loading a project once it is open, and the events from the
 * services. Job progress goes to the job board (jobs.svelte.ts); the changes the services announce
 * are gathered for a moment, then what changed is read again: the studio's info, the classes and
 * the grid here, and every other state module (labels, imports, teachers, comparison, predictions)
 * through the listener it registered with `listen`.
 */
import type { ProjectSummary, StudioEvent } from '../../../shared/contract';
import { call, onEvent } from './api';
import { dialogs } from './dialogs.svelte';
import { grid } from './grid.svelte';
import { jobBoard } from './jobs.svelte';
import { project } from './project.svelte';
import { theme } from './theme.svelte';

/** What a `project.changed` event says changed. */
export type ChangeKind = Extract<StudioEvent, { type: 'project.changed' }>['what'];

/**
 * A state module (e.g. labels, comparisons and trained heads) hears of changes the services
 * announce, and of another project being opened (its jobs: see jobs.svelte.ts).
 */
export interface StudioListener {
  onChange?(kinds: ReadonlySet<ChangeKind>): Promise<void>;
  /** Resets what the last project showed; a promise when the new project's state is loading. */
  onProjectLoaded?(): void | Promise<void>;
}

class Workspace {
  /** False until the studio first answered (or failed to): nothing but a loading line shows before. */
  loaded = $state(false);

  private listeners = new Set<StudioListener>();
  private pendingReloads = new Set<ChangeKind>();
  private reloadTimer: ReturnType<typeof setTimeout> | undefined;

  /** Subscribes a state module to changes and project switches; returns the unsubscribe. */
  listen(listener: StudioListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(): Promise<void> {
    onEvent((event) => this.handleEvent(event));
    await dialogs.attempt(async () => {
      const info = await call('studio.info', {});
      project.info = info;
      theme.apply(info.theme);
      if (info.project) await this.loadProject();
    });
    this.loaded = true;
  }

  /** Runs a project action that opens a project (project-actions.ts), then loads what the workspace shows of it. */
  async afterOpen(open: () => Promise<ProjectSummary>): Promise<void> {
    const summary = await dialogs.attempt(open);
    if (!summary) return;
    await project.refreshInfo();
    await dialogs.attempt(() => this.loadProject());
  }

  /** Tells the other state modules of changes `teller` made, which the services do not announce. */
  tellOthers(teller: StudioListener, kinds: ReadonlySet<ChangeKind>): void {
    for (const listener of this.listeners)
      if (listener !== teller && listener.onChange) void dialogs.attempt(() => listener.onChange!(kinds));
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

  /** Loads everything the workspace shows for the project that is now open. */
  private async loadProject(): Promise<void> {
    grid.reset(project.current?.path ?? '');
    const listening = [...this.listeners].map((listener) => listener.onProjectLoaded?.());
    await Promise.all([project.loadClasses(), grid.loadImages(), ...listening]);
  }

  private handleEvent(event: StudioEvent): void {
    if (event.type === 'job.progress') {
      jobBoard.record(event.job); // settles the job with whoever started it; others follow its progress
      return;
    }
    this.scheduleReload(event.what);
  }

  private async reload(kinds: Set<ChangeKind>): Promise<void> {
    const before = project.current?.path;
    if (kinds.has('project') || kinds.has('images')) {
      project.info = await call('studio.info', {});
      // Another front may have closed this project or opened another one.
      if (!project.current) return;
      if (project.current.path !== before) return this.loadProject();
    }
    if (!project.current) return;
    const all = kinds.has('project');
    const jobs: Promise<void>[] = [];
    if (all || kinds.has('classes') || kinds.has('labels')) jobs.push(project.loadClasses());
    if (all || kinds.has('images') || kinds.has('labels') || kinds.has('classes') || kinds.has('predictions') || kinds.has('heads'))
      jobs.push(grid.loadImages()); // a deleted head takes its predictions along
    for (const listener of this.listeners) if (listener.onChange) jobs.push(listener.onChange(kinds));
    await Promise.all(jobs);
  }
}

export const workspace = new Workspace();
