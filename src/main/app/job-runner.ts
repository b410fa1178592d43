/**
 * One runner for every long job (import, extraction, comparison, training, prediction, label next): it starts
 * the work in the background, turns its reports into `job.progress` events with a rate and an
 * ETA, ends with one event giving the outcome (done / cancelled / failed), and cancels on request.
 */
import { randomUUID } from 'node:crypto';
import type { JobProgress, StudioEvent } from '../../shared/contract';
import { errorMessage, StudioError } from '../core/errors';
import type { ExtractionProgress } from '../features/extraction';

export interface JobReport {
  done: number;
  /** Items worked on in this run (the rate's numerator); `done` may include skipped ones. */
  processed: number;
  total: number;
  elapsedSeconds: number;
  message: string;
  detail: Record<string, number>;
}

/** What a running job is given: the signal that cancels it and where it reports its progress. */
export interface JobHandle {
  signal: AbortSignal;
  report: (progress: JobReport) => void;
}

export type JobWork<T> = (job: JobHandle) => Promise<T>;

type JobListener = (event: StudioEvent) => void;

/** An extraction's progress as a job report: images cached before count as done, not as this run's rate. */
export function extractionReport(p: ExtractionProgress, message: string): JobReport {
  return {
    done: p.cached + p.done,
    processed: p.done,
    total: p.total,
    elapsedSeconds: p.elapsedSeconds,
    message,
    detail: { cached: p.cached, computed: p.done - p.failed, failed: p.failed },
  };
}

/**
 * Seconds since the job's current phase began (features, then strategies...): each phase counts
 * its own thing, so its rate and ETA must not inherit the time of the one before.
 */
export function phaseClock(): (phase: string) => number {
  let current: string | null = null;
  let since = 0;
  return (phase) => {
    if (phase !== current) [current, since] = [phase, performance.now()];
    return (performance.now() - since) / 1000;
  };
}

/**
 * Every front's jobs go through one runner: the studio's (started in the background, followed
 * through events) and the CLI's (run to the end, progress printed from the same events).
 */
export class JobRunner {
  private readonly controllers = new Map<string, { kind: JobProgress['kind']; controller: AbortController }>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly listeners = new Set<JobListener>();

  constructor(listener?: JobListener) {
    if (listener) this.listeners.add(listener);
  }

  /** Calls `listener` with each job's progress events; returns what unsubscribes it. */
  onEvent(listener: JobListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts `work` in the background and returns its job id; `onSettled` runs after the last event. */
  start(kind: JobProgress['kind'], work: JobWork<unknown>, onSettled: () => void = () => undefined): string {
    const { jobId, result } = this.launch(kind, work, onSettled, { logFailure: true });
    result.catch(() => undefined); // told through the job's 'failed' event (and the log)
    return jobId;
  }

  /** Runs `work` as a job to its end (with the same events) and returns its result, or rejects with its error. */
  run<T>(kind: JobProgress['kind'], work: JobWork<T>): Promise<T> {
    return this.launch(kind, work, () => undefined, { logFailure: false }).result;
  }

  /** Asks a running job to stop; `notRunning` is the error's message when there is no such job. */
  cancel(jobId: string, notRunning: string): void {
    const job = this.controllers.get(jobId);
    if (!job) throw new StudioError('not_found', notRunning);
    job.controller.abort();
  }

  /** Asks every running job of `kind` to stop. */
  cancelKind(kind: JobProgress['kind']): void {
    for (const job of this.controllers.values()) if (job.kind === kind) job.controller.abort();
  }

  cancelAll(): void {
    for (const job of this.controllers.values()) job.controller.abort();
  }

  /**
   * One job at a time: refuses `what` while one runs. A label-next ranking does not count: it only
   * reads, the panel asks for one again after every burst of labels, and it must never hold up training.
   */
  assertNone(what: string): void {
    const blocking = [...this.controllers.values()].some((job) => job.kind !== 'suggest');
    if (blocking) throw new StudioError('conflict', `A job is running: cancel it or wait before you ${what}.`);
  }

  /** Waits for the running jobs to settle. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Starts `work`; its result settles after the job's last event and `onSettled`. */
  private launch<T>(
    kind: JobProgress['kind'],
    work: JobWork<T>,
    onSettled: () => void,
    { logFailure }: { logFailure: boolean },
  ): { jobId: string; result: Promise<T> } {
    const jobId = randomUUID();
    const controller = new AbortController();
    this.controllers.set(jobId, { kind, controller });
    let last: JobReport = { done: 0, processed: 0, total: 0, elapsedSeconds: 0, message: 'Starting', detail: {} };
    const send = (state: JobProgress['state']) => {
      // The rate counts work done in this run only (not images found already cached).
      const rate = last.elapsedSeconds > 0 ? last.processed / last.elapsedSeconds : 0;
      const eta = rate > 0 && last.total > 0 ? (last.total - last.done) / rate : null;
      const { done, total, message, detail } = last;
      const job = { jobId, kind, state, done, total, ratePerSecond: rate, etaSeconds: eta, message, detail };
      for (const listener of this.listeners) listener({ type: 'job.progress', job });
    };
    const report = (progress: JobReport) => {
      last = progress;
      send('running');
    };
    // A work that throws before its first await fails the job like one that rejects.
    const result = new Promise<T>((resolve) => resolve(work({ signal: controller.signal, report })));
    const settled = result
      .then(
        () => (controller.signal.aborted ? 'cancelled' : 'done') as JobProgress['state'],
        (error) => {
          if (logFailure) console.error(`${kind} failed: ${errorMessage(error)}`);
          last = { ...last, message: errorMessage(error) };
          return 'failed' as const;
        },
      )
      .then((state) => {
        send(state);
        onSettled();
      })
      .finally(() => {
        this.controllers.delete(jobId);
        this.running.delete(settled);
      });
    this.running.add(settled);
    return { jobId, result: settled.then(() => result) };
  }
}
