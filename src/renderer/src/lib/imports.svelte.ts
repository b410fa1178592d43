/**
 * Importing images: the import this window started (and, in web mode, the upload of dropped
 * files before it), its report once it ends, and the past imports' reports. Only this module
 * calls `import.*`. The dialog's open state and tab are panels: see dialogs.svelte.ts.
 */
import type { ImportReport, JobProgress } from '../../../shared/contract';
import { call, uploadFiles, type UploadItem } from './api';
import { dialogs } from './dialogs.svelte';
import { JobClient, jobBoard } from './jobs.svelte';
import { workspace, type StudioListener } from './workspace.svelte';

/** While an import runs, the grid reads the new images this often (its end reloads everything). */
const LIVE_RELOAD_MS = 2000;

class Imports implements StudioListener {
  private importing = new JobClient('import.start', { cancelMethod: 'import.cancel', onSettled: () => this.finishImport() });
  importJob = $derived<JobProgress | null>(this.importing.job);
  /** The report of the import this window started last, once it ended. */
  importReport = $state.raw<ImportReport | null>(null);
  reports = $state.raw<ImportReport[]>([]);
  /** Web-mode drops are uploaded before they are imported. */
  upload = $state<{ done: number; total: number } | null>(null);
  labelsFromFolders = $state(false);

  private lastLiveReload = 0;

  constructor() {
    workspace.listen(this);
    jobBoard.onProgress((job) => this.followImport(job));
  }

  /** The import this window started last, while the dialog shows it. */
  get importJobId(): string | null {
    return this.importing.jobId;
  }

  openImport(tab: 'new' | 'past' = 'new'): void {
    dialogs.importTab = tab;
    dialogs.importOpen = true;
    if (tab === 'past') void this.loadReports();
  }

  /** The dialog shows the form again, unless an import is still running. */
  resetImport(): void {
    if (this.importJob?.state === 'running' || this.upload) return;
    this.importing.forget();
    this.importReport = null;
  }

  async startImport(paths: string[], labelsFromFolders: boolean): Promise<void> {
    this.labelsFromFolders = labelsFromFolders;
    this.importReport = null;
    dialogs.importTab = 'new';
    dialogs.importOpen = true;
    await dialogs.attempt(() => this.importing.start({ paths, labelsFromFolders }));
  }

  /** Web mode: copies dropped files to the studio's machine, one folder per dropped group, then imports them. */
  async uploadAndImport(groups: UploadItem[][]): Promise<void> {
    const total = groups.reduce((sum, g) => sum + g.length, 0);
    if (total === 0) return;
    this.resetImport();
    dialogs.importTab = 'new';
    dialogs.importOpen = true;
    this.upload = { done: 0, total };
    const folders = await dialogs.attempt(async () => {
      const landed: string[] = [];
      let before = 0;
      for (const group of groups) {
        landed.push(await uploadFiles(group, (done) => (this.upload = { done: before + done, total })));
        before += group.length;
      }
      return landed;
    });
    this.upload = null;
    if (folders) await this.startImport(folders, this.labelsFromFolders);
  }

  async cancelImport(): Promise<void> {
    await dialogs.attempt(() => this.importing.cancel());
  }

  private async finishImport(): Promise<void> {
    await this.loadReports();
    this.importReport = this.reports[0] ?? null;
    workspace.scheduleReload('project');
  }

  private async loadReports(): Promise<void> {
    const reports = await dialogs.attempt(() => call('import.reports', {}));
    // Newest first, whatever order the service lists them in.
    if (reports) this.reports = [...reports].sort((a, b) => b.id - a.id);
  }

  /**
   * The services announce new images when an import ends; meanwhile the grid fills in every
   * couple of seconds, so the user can start labeling what has arrived.
   */
  private followImport(job: JobProgress): void {
    if (job.kind === 'import' && job.state === 'running' && Date.now() - this.lastLiveReload > LIVE_RELOAD_MS) {
      this.lastLiveReload = Date.now();
      workspace.scheduleReload('images');
      workspace.scheduleReload('classes');
    }
  }

  onProjectLoaded(): void {
    this.importing.forget();
    this.importReport = null;
    this.labelsFromFolders = false; // chosen for one project's folders, not the next one's
  }
}

export const imports = new Imports();
