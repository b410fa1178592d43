/**
 * What the studio says about itself and its projects (version, data folder, where projects are
 * saved, the recent ones) and the open project: its summary and its classes. The actions on them
 * are in project-actions.ts and class-actions.ts; workspace.svelte.ts reads them again on change.
 */
import type { ClassInfo, ProjectSummary, StudioInfo } from '../../../shared/contract';
import { call } from './api';
import { dialogs } from './dialogs.svelte';
import { grid } from './grid.svelte';

class OpenProject {
  info = $state.raw<StudioInfo | null>(null);
  /** The open project, or null on the welcome screen. */
  current = $derived<ProjectSummary | null>(this.info?.project ?? null);

  // Raw: replaced wholesale, never mutated in place.
  classes = $state.raw<ClassInfo[]>([]);
  classById = $derived(new Map(this.classes.map((c) => [c.id, c])));
  /** Images in the project, whatever the grid's filter. */
  totalImages = $derived(this.current?.images ?? 0);
  labeledImages = $derived(this.classes.reduce((sum, c) => sum + c.count, 0));

  async refreshInfo(): Promise<void> {
    const info = await dialogs.attempt(() => call('studio.info', {}));
    if (info) this.info = info;
  }

  async loadClasses(): Promise<void> {
    this.setClasses(await call('classes.list', {}));
  }

  setClasses(classes: ClassInfo[]): void {
    this.classes = classes;
    // A filter on a class that is gone falls back to all images.
    const filter = grid.filter;
    if ((filter.kind === 'class' || filter.kind === 'predicted') && !classes.some((c) => c.id === filter.classId)) void grid.setFilter({ kind: 'all' });
  }
}

export const project = new OpenProject();
