/**
 * Predictions and what to label next: the active head and how much of the project it predicted,
 * running a head over the project (a job), the label-next queue, and exports of a head or of its
 * predictions. Accepting predictions is labeling, so it lives in labels.svelte.ts with the undo queue.
 * Only this module calls `predictions.*`, `suggest.next` and `export.*`.
 */
import type { ExportResult, HeadSummary, JobProgress, PredictionStatus, Suggestion } from '../../../shared/contract';
import { call } from './api';
import { JobClient, jobBoard } from './jobs.svelte';
import { project } from './project.svelte';
import { workspace, type ChangeKind, type StudioListener } from './workspace.svelte';
import { dialogs } from './dialogs.svelte';

const SUGGESTIONS = 20;
/** Labels come in quick bursts: the queue is asked again once they pause. */
const SUGGEST_DEBOUNCE_MS = 800;

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** "Head 3 (atl)" → "head-3-atl": a folder or file name that any file system takes. */
export function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'export'
  );
}

/** A file size for people: "512 B", "14.2 KB", "3.1 MB". */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Where exports go by default: the studio's projects folder, next to the project files. */
export function exportPath(name: string): string {
  const base = project.info?.projectsDir ?? '';
  const separator = base.includes('\\') && !base.includes('/') ? '\\' : '/';
  return base ? `${base.replace(/[\\/]+$/, '')}${separator}${name}` : name;
}

class Predictions implements StudioListener {
  status = $state.raw<PredictionStatus | null>(null);
  /** Every trained head, newest first: the toolbar predicts with the active one, else the newest. */
  heads = $state.raw<HeadSummary[]>([]);
  active = $derived<HeadSummary | null>(this.status?.head ?? null);

  // ----- running a head over the project -----
  private predicter = new JobClient('predictions.run', { onSettled: (job) => this.finish(job) });
  predictJob = $derived<JobProgress | null>(this.predicter.job);
  /** The head being run, while its job runs. */
  predictingHeadId = $state<number | null>(null);
  predicting = $derived(this.predictingHeadId !== null && (this.predictJob === null || this.predictJob.state === 'running'));
  predictError = $state<string | null>(null);

  // ----- label next -----
  nextOpen = $state(false);
  suggestions = $state.raw<Suggestion[]>([]);
  suggesting = $state(false);
  suggestError = $state<string | null>(null);
  /** The last ranking was cancelled: the list shown, if any, is from before. */
  suggestCancelled = $state(false);
  /** The ranking's job while it runs (features extracted where missing, then the passes over the pool); the newest if several. */
  suggestJob = $derived.by<JobProgress | null>(() => {
    if (!this.suggesting) return null;
    return Object.values(jobBoard.progress).findLast((job) => job.kind === 'suggest' && job.state === 'running') ?? null;
  });

  private suggestRequest = 0;
  private suggestTimer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    workspace.listen(this);
  }

  private async load(): Promise<void> {
    const [status, heads] = await Promise.all([call('predictions.status', {}), call('heads.list', {})]);
    this.status = status;
    this.heads = [...heads].sort((a, b) => b.id - a.id);
  }

  // ================= predicting =================

  /** Runs a head (by default the active one, else the newest) over every image of the project. */
  async run(headId = this.active?.id ?? this.heads[0]?.id): Promise<void> {
    if (headId === undefined) return;
    this.predictError = null;
    this.predictingHeadId = headId;
    try {
      await this.predicter.start({ headId });
    } catch (error) {
      this.predictError = messageOf(error);
      this.predictingHeadId = null;
    }
  }

  async cancel(): Promise<void> {
    await dialogs.attempt(() => this.predicter.cancel());
  }

  private finish(job: JobProgress): void {
    this.predictingHeadId = null;
    if (job.state === 'failed') this.predictError = `Prediction failed: ${job.message}`;
  }

  // ================= label next =================

  toggleNext(): void {
    this.nextOpen = !this.nextOpen;
    if (this.nextOpen) void this.suggest();
  }

  async suggest(): Promise<void> {
    clearTimeout(this.suggestTimer);
    const request = ++this.suggestRequest;
    this.suggesting = true;
    try {
      const { suggestions, cancelled } = await call('suggest.next', { count: SUGGESTIONS });
      if (request !== this.suggestRequest) return;
      this.suggestCancelled = cancelled;
      if (!cancelled) this.suggestions = suggestions;
      this.suggestError = null;
    } catch (error) {
      if (request === this.suggestRequest) this.suggestError = messageOf(error);
    } finally {
      if (request === this.suggestRequest) this.suggesting = false;
    }
  }

  async cancelSuggest(): Promise<void> {
    const job = this.suggestJob;
    // It may have ended meanwhile: then there is nothing left to cancel.
    if (job) await call('jobs.cancel', { jobId: job.jobId }).catch(() => undefined);
  }

  private suggestSoon(): void {
    clearTimeout(this.suggestTimer);
    this.suggestTimer = setTimeout(() => void this.suggest(), SUGGEST_DEBOUNCE_MS);
  }

  // ================= exports =================

  exportHead(head: HeadSummary, format: 'onnx' | 'tfjs', dir: string, includeRuntime: boolean): Promise<ExportResult> {
    return call('export.head', { headId: head.id, format, dir, includeRuntime });
  }

  exportPredictions(format: 'csv' | 'json', path: string): Promise<ExportResult> {
    return call('export.predictions', { format, path });
  }

  // ================= from the services =================

  async onChange(kinds: ReadonlySet<ChangeKind>): Promise<void> {
    const all = kinds.has('project');
    // Labels and classes too: they tell whether the head chip shows its head as stale.
    if (all || kinds.has('predictions') || kinds.has('heads') || kinds.has('images') || kinds.has('labels') || kinds.has('classes')) await this.load();
    if (this.nextOpen && (all || kinds.has('labels') || kinds.has('predictions') || kinds.has('images'))) this.suggestSoon();
  }

  onProjectLoaded(): void {
    this.status = null;
    this.heads = [];
    this.predicter.forget();
    this.predictingHeadId = null;
    this.predictError = null;
    this.suggestions = [];
    this.suggestError = null;
    this.suggestCancelled = false;
    this.suggestRequest++;
    clearTimeout(this.suggestTimer);
    void dialogs.attempt(() => this.load()).then(() => {
      if (this.nextOpen) void this.suggest();
    });
  }
}

export const predictions = new Predictions();
