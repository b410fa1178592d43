/** The one job runner behind every long job: its events, rate and ETA, cancellation and failures. */
import { describe, expect, it, vi } from 'vitest';
import type { JobProgress, StudioEvent } from '../../src/shared/contract';
import { StudioError } from '../../src/main/core/errors';
import { JobRunner } from '../../src/main/app/job-runner';

function recorder(): { runner: JobRunner; progress: JobProgress[] } {
  const progress: JobProgress[] = [];
  const runner = new JobRunner((event: StudioEvent) => {
    if (event.type === 'job.progress') progress.push(event.job);
  });
  return { runner, progress };
}

describe('JobRunner', () => {
  it('reports each step with the rate of this run (not items done before) and an ETA, then done, then settles', async () => {
    const { runner, progress } = recorder();
    const settled: number[] = [];
    const jobId = runner.start(
      'extract',
      async ({ report }) => {
        // 10 of 40 were cached already; this run worked 20 items in 4 s: 5 a second, 10 left → 2 s.
        report({ done: 30, processed: 20, total: 40, elapsedSeconds: 4, message: 'Extracting', detail: { cached: 10 } });
      },
      () => settled.push(progress.length),
    );
    await runner.idle();
    expect(progress.map((p) => p.state)).toEqual(['running', 'done']);
    expect(progress[0]).toEqual({
      jobId,
      kind: 'extract',
      state: 'running',
      done: 30,
      total: 40,
      ratePerSecond: 5,
      etaSeconds: 2,
      message: 'Extracting',
      detail: { cached: 10 },
    });
    expect(settled).toEqual([2]); // after the last event
    expect(() => runner.assertNone('predict')).not.toThrow();
  });

  it('refuses a second job while one runs, cancels on request, and ends it as cancelled', async () => {
    const { runner, progress } = recorder();
    const jobId = runner.start(
      'import',
      ({ signal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve())),
      () => undefined,
    );
    expect(() => runner.assertNone('close the project')).toThrow(
      new StudioError('conflict', 'A job is running: cancel it or wait before you close the project.'),
    );
    runner.cancel(jobId, 'That job is not running');
    await runner.idle();
    expect(progress.map((p) => p.state)).toEqual(['cancelled']);
    expect(() => runner.cancel(jobId, 'That import is not running')).toThrow(new StudioError('not_found', 'That import is not running'));
  });

  it('a label-next ranking never blocks another job, and one call cancels every ranking', async () => {
    const { runner, progress } = recorder();
    const untilCancelled = ({ signal }: { signal: AbortSignal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    runner.start('suggest', untilCancelled);
    runner.start('suggest', untilCancelled);
    expect(() => runner.assertNone('train')).not.toThrow();
    const training = runner.start('train', untilCancelled);
    runner.cancelKind('suggest');
    await vi.waitFor(() => expect(progress.filter((p) => p.kind === 'suggest').map((p) => p.state)).toEqual(['cancelled', 'cancelled']));
    // The training runs on, and still blocks the next job.
    expect(() => runner.assertNone('predict')).toThrow(/A job is running/);
    runner.cancel(training, 'not running');
    await runner.idle();
    expect(progress.map((p) => [p.kind, p.state])).toEqual([
      ['suggest', 'cancelled'],
      ['suggest', 'cancelled'],
      ['train', 'cancelled'],
    ]);
  });

  it('ends a job that throws as failed, with the error as its message, and is free for the next one', async () => {
    const { runner, progress } = recorder();
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      runner.start(
        'train',
        async ({ report }) => {
          report({ done: 1, processed: 1, total: 3, elapsedSeconds: 1, message: 'Fitting', detail: {} });
          throw new Error('the disk went away');
        },
        () => undefined,
      );
      await runner.idle();
    } finally {
      quiet.mockRestore();
    }
    expect(progress.map((p) => [p.state, p.message, p.done])).toEqual([
      ['running', 'Fitting', 1],
      ['failed', 'the disk went away', 1],
    ]);
    expect(() => runner.assertNone('train a head')).not.toThrow();
  });

  it("runs a job to its end for the CLI: the work's result (or its error), after the same events as a background job", async () => {
    const { runner, progress } = recorder();
    const result = await runner.run('import', async ({ report }) => {
      report({ done: 2, processed: 2, total: 4, elapsedSeconds: 1, message: 'Importing 2 of 4', detail: {} });
      return { imported: 4 };
    });
    expect(result).toEqual({ imported: 4 });
    expect(progress.map((p) => [p.kind, p.state, p.done])).toEqual([
      ['import', 'running', 2],
      ['import', 'done', 2],
    ]);
    const failing = runner.run('extract', async () => {
      throw new StudioError('not_found', "No teacher 'x'");
    });
    await expect(failing).rejects.toThrow(new StudioError('not_found', "No teacher 'x'"));
    expect(progress.at(-1)).toMatchObject({ kind: 'extract', state: 'failed', message: "No teacher 'x'" });
    expect(() => runner.assertNone('predict')).not.toThrow();
  });

  it('cancels every running job at once (what dispose does)', async () => {
    const { runner, progress } = recorder();
    const untilAborted = ({ signal }: { signal: AbortSignal }) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    runner.start('import', untilAborted, () => undefined);
    runner.start('compare', untilAborted, () => undefined);
    runner.cancelAll();
    await runner.idle();
    expect(progress.map((p) => `${p.kind} ${p.state}`).sort()).toEqual(['compare cancelled', 'import cancelled']);
  });
});
