/**
 * Long jobs (import, extraction, comparison, training, prediction) as the renderer follows them:
 * one board of the latest `job.progress` of every job this window heard of, and a `JobClient` per
 * place that starts a kind of job. A client starts its job by method, follows its progress, cancels
 * it, and settles it once: when it ends, whether the end came by event or before the id came back.
 */
import type { Input, JobProgress, Method, Output } from '../../../shared/contract';
import { call } from './api';

/** The methods that start a job: their answer carries its id. */
export type JobMethod = { [M in Method]: Output<M> extends { jobId: string } ? M : never }[Method];

export const isTerminal = (job: JobProgress | undefined) => job !== undefined && job.state !== 'running';

class JobBoard {
  /** Latest progress of every job this window heard of, by job id. */
  progress = $state<Record<string, JobProgress>>({});
  private listeners = new Set<(job: JobProgress) => void>();

  /** Called for every `job.progress` event: stores it, then tells the clients (which settle their own jobs) and other listeners. */
  record(job: JobProgress): void {
    this.progress[job.jobId] = job;
    for (const listener of this.listeners) listener(job);
  }

  /** Hears the progress of every job, whoever started it (e.g. to refresh what a job writes as it goes). */
  onProgress(listener: (job: JobProgress) => void): void {
    this.listeners.add(listener);
  }
}

export const jobBoard = new JobBoard();

export interface JobClientOptions {
  /** Imports have their own cancel method; every other job is cancelled by `jobs.cancel`. */
  cancelMethod?: 'jobs.cancel' | 'import.cancel';
  /** Runs once per job when it ends (done, failed or cancelled). */
  onSettled?: (job: JobProgress) => void | Promise<void>;
}

export class JobClient<M extends JobMethod> {
  /** What the method answered for the job this client started last (its id; a comparison's run id too); null before it started one, or after `forget`. */
  started = $state.raw<Output<M> | null>(null);
  jobId = $derived<string | null>((this.started as { jobId: string } | null)?.jobId ?? null);
  job = $derived<JobProgress | null>(this.jobId ? (jobBoard.progress[this.jobId] ?? null) : null);

  private settled = new Set<string>();

  constructor(
    private readonly method: M,
    private readonly options: JobClientOptions = {},
  ) {
    jobBoard.onProgress((job) => this.heard(job));
  }

  /** Starts the job and returns what the method answered; a refusal throws, as `call` does. */
  async start(input: Input<M>): Promise<Output<M>> {
    const started = await call(this.method, input);
    this.started = started;
    // A small job may have ended before its id came back.
    const job = jobBoard.progress[(started as { jobId: string }).jobId];
    if (isTerminal(job)) await this.settle(job);
    return started;
  }

  async cancel(): Promise<void> {
    const jobId = this.jobId;
    if (jobId) await call(this.options.cancelMethod ?? 'jobs.cancel', { jobId });
  }

  /** Stops showing the last job (another project was opened, or the form is shown again). */
  forget(): void {
    this.started = null;
  }

  /** Settles this client's job when it ends. */
  private heard(job: JobProgress): void {
    if (job.jobId === this.jobId && isTerminal(job)) void this.settle(job);
  }

  private async settle(job: JobProgress): Promise<void> {
    if (this.settled.has(job.jobId)) return;
    this.settled.add(job.jobId);
    await this.options.onSettled?.(job);
  }
}
