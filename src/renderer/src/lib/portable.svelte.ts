/**
 * Taking the project elsewhere: the labeled data set out (`export.data`), a portable copy with its
 * teachers (`project.pack`), and a portable copy opened as a new project (`project.unpack`). All
 * are jobs: their dialogs follow them.
 */
import type { JobProgress } from '../../../shared/contract';
import { JobClient } from './jobs.svelte';
import { projectActions } from './project-actions';

export const dataExport = new JobClient('export.data');
export const portableCopy = new JobClient('project.pack');

/** "Open a portable copy…", from the welcome screen or the project bar: unpacks, then opens the new project. */
class PortableOpen {
  /** Whether its dialog shows (one at a time, wherever it was opened from). */
  open = $state(false);
  readonly client = new JobClient('project.unpack', { onSettled: (job) => this.settled(job) });
  /** The project file the last unpack writes: opened once it is done. */
  private out: string | null = null;

  show(): void {
    this.client.forget();
    this.open = true;
  }

  start(file: string, out: string): Promise<unknown> {
    this.out = out;
    return this.client.start({ file, out });
  }

  private async settled(job: JobProgress): Promise<void> {
    // A failed or cancelled unpack wrote nothing: its dialog stays, saying why.
    if (job.state !== 'done' || !this.out) return;
    this.open = false;
    await projectActions.openProject(this.out);
  }
}

export const portableOpen = new PortableOpen();
