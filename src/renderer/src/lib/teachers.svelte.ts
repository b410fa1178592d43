/**
 * The Models view's state: the teachers, the one selected and its layers, the pooling, the open
 * project's feature cache for them, and the extraction this window started. Only this module
 * calls `models.*` (but `models.list` for the Compare form) and `features.*`.
 */
import type { FeatureStatus, JobProgress, Pooling, TeacherDetail, TeacherImport, TeacherInfo } from '../../../shared/contract';
import { call, uploadFiles } from './api';
import { dialogs } from './dialogs.svelte';
import { JobClient, jobBoard } from './jobs.svelte';
import { project } from './project.svelte';
import { workspace, type ChangeKind, type StudioListener } from './workspace.svelte';

/** How often the Models view reads the cached count again while an extraction runs. */
const FEATURE_STATUS_REFRESH_MS = 500;

class Teachers implements StudioListener {
  modelsOpen = $state(false);
  teachers = $state.raw<TeacherInfo[]>([]);
  teacherId = $state<string | null>(null);
  teacher = $derived<TeacherInfo | null>(this.teachers.find((t) => t.id === this.teacherId) ?? null);
  /** The selected teacher as `models.inspect` describes it; null while it loads, or when it could not. */
  teacherDetail = $state.raw<TeacherDetail | null>(null);
  inspecting = $state(false);
  pooling = $state<Pooling>('gap');
  /** The open project's feature cache for the selected teacher and pooling; null while it is read. */
  featureStatus = $state.raw<FeatureStatus | null>(null);
  private extracting = new JobClient('features.extract', { onSettled: (job) => this.finishExtraction(job) });
  /** The extraction this window started last, and what it extracts. */
  extraction = $state.raw<{ modelId: string; pooling: Pooling } | null>(null);
  extractJob = $derived<JobProgress | null>(this.extraction ? this.extracting.job : null);

  private inspectRequest = 0;
  private statusRequest = 0;
  private lastStatusRefresh = 0;

  constructor() {
    workspace.listen(this);
    jobBoard.onProgress((job) => this.followExtraction(job));
  }

  /** Opens the Models view on the teacher chosen last, else the default one, and inspects it. */
  async openModels(): Promise<void> {
    this.modelsOpen = true;
    const teachers = await dialogs.attempt(() => call('models.list', {}));
    if (!teachers) return;
    this.teachers = teachers;
    const pick = this.teacher ?? teachers.find((t) => t.isDefault && t.installed) ?? teachers.find((t) => t.installed);
    if (pick) await this.selectTeacher(pick.id);
  }

  async selectTeacher(id: string): Promise<void> {
    const request = ++this.inspectRequest;
    this.teacherId = id;
    this.teacherDetail = null;
    this.featureStatus = null;
    // Loading verifies the teacher's files and starts its engine: a second or so.
    this.inspecting = this.teacher?.installed ?? false;
    if (!this.inspecting) return;
    const detail = await dialogs.attempt(() => call('models.inspect', { id }));
    if (request !== this.inspectRequest) return; // another teacher was chosen meanwhile
    this.inspecting = false;
    this.teacherDetail = detail ?? null;
    await this.loadFeatureStatus();
  }

  /** Saves which layers of the selected teacher features are extracted from. */
  async saveLayers(layers: string[]): Promise<void> {
    const id = this.teacherId;
    if (!id) return;
    const detail = await dialogs.attempt(() => call('models.setLayers', { id, layers }));
    if (!detail || this.teacherId !== id) return;
    this.teacherDetail = detail;
    await this.loadFeatureStatus(); // the cache is counted over the enabled layers
  }

  /** Imports a teacher from a path on the studio's machine and selects it; false when it failed. */
  async importTeacher(request: TeacherImport): Promise<boolean> {
    const imported = await dialogs.attempt(() => call('models.import', request));
    if (!imported) return false;
    const teachers = await dialogs.attempt(() => call('models.list', {}));
    if (teachers) this.teachers = teachers;
    await this.selectTeacher(imported.id);
    return true;
  }

  /** Web mode: uploads an .onnx to the studio's machine (its uploads folder), then imports it from there. */
  async uploadTeacher(file: File, options: Omit<TeacherImport, 'path'>): Promise<boolean> {
    const folder = await dialogs.attempt(() => uploadFiles([{ file, relativePath: file.name }]));
    return folder ? this.importTeacher({ ...options, path: `${folder}/${file.name}` }) : false;
  }

  /** Removes an imported teacher from the studio home (its own files; the projects keep their features). */
  async removeTeacher(id: string): Promise<void> {
    const sure = await dialogs.confirm({
      title: 'Remove this teacher?',
      message: `Its files leave the studio home. Projects keep the features and heads made with it; importing the same file again under the id '${id}' brings them back.`,
      okLabel: 'Remove',
      danger: true,
    });
    if (!sure) return;
    const removed = await dialogs.attempt(() => call('models.remove', { id }));
    if (!removed) return;
    if (removed.filesLeft.length > 0) dialogs.showNotice(`Its folder keeps files that are not its own: ${removed.filesLeft.join(', ')}`);
    this.teacherId = null;
    await this.openModels();
  }

  async setPooling(pooling: Pooling): Promise<void> {
    this.pooling = pooling;
    this.featureStatus = null;
    await this.loadFeatureStatus();
  }

  async loadFeatureStatus(): Promise<void> {
    const modelId = this.teacherDetail?.teacher.id;
    if (!modelId || !project.current) return;
    const request = ++this.statusRequest;
    const pooling = this.pooling;
    const status = await dialogs.attempt(() => call('features.status', { modelId, pooling }));
    // Only the newest answer, and only while it is still about what is selected.
    const current = this.teacherDetail?.teacher.id === modelId && this.pooling === pooling;
    if (status && request === this.statusRequest && current) this.featureStatus = status;
  }

  /** Extracts the enabled layers of the selected teacher for every image of the project. */
  async startExtraction(): Promise<void> {
    const modelId = this.teacherDetail?.teacher.id;
    if (!modelId || !project.current) return;
    const pooling = this.pooling;
    // Everything may have been cached already: then the job settles before its id comes back.
    const started = await dialogs.attempt(() => this.extracting.start({ modelId, layers: 'all', pooling }));
    if (started) this.extraction = { modelId, pooling };
  }

  async cancelExtraction(): Promise<void> {
    if (this.extraction) await dialogs.attempt(() => this.extracting.cancel());
  }

  private async finishExtraction(job: JobProgress): Promise<void> {
    if (job.state === 'failed') dialogs.showError(`Feature extraction failed: ${job.message}`);
    await this.loadFeatureStatus();
  }

  /** Extraction saves each batch as it goes (whoever started it): the cached count follows it. */
  private followExtraction(job: JobProgress): void {
    const extracting = job.kind === 'extract' && job.state === 'running' && this.modelsOpen;
    if (extracting && Date.now() - this.lastStatusRefresh > FEATURE_STATUS_REFRESH_MS) {
      this.lastStatusRefresh = Date.now();
      void this.loadFeatureStatus();
    }
  }

  // ================= from the services =================

  async onChange(kinds: ReadonlySet<ChangeKind>): Promise<void> {
    // New images are not cached yet.
    if (this.modelsOpen && (kinds.has('project') || kinds.has('images'))) await this.loadFeatureStatus();
  }

  /** Another project: its own cache, and no extraction of the last one. */
  async onProjectLoaded(): Promise<void> {
    this.extracting.forget();
    this.extraction = null;
    this.featureStatus = null;
    await Promise.all([this.loadFeatureStatus(), this.reportMissingTeachers()]);
  }

  /** Says which teacher the project's features or heads need that is not installed, and how to get it back. */
  private async reportMissingTeachers(): Promise<void> {
    if (!project.current) return;
    const missing = await dialogs.attempt(() => call('models.missing', {}));
    for (const teacher of missing ?? []) dialogs.showError(teacher.message);
  }
}

export const teachers = new Teachers();
