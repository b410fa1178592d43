/** What the project commands share: the project opened for one command, and its jobs run as the studio runs them. */
import { resolve } from 'node:path';
import type { JobProgress, StudioEvent } from '../../shared/contract';
import type { JobRunner, JobWork } from '../app/job-runner';
import { Project } from '../services/project';

/** Opens the project, runs `work`, and closes the project whatever happens. */
export async function withProject<T>(path: string, work: (project: Project) => Promise<T>): Promise<T> {
  const project = Project.open(resolve(path));
  try {
    return await work(project);
  } finally {
    project.close();
  }
}

/**
 * Runs a use-case as a job of the process's runner, with the studio's progress events: printed on
 * stderr when it is a terminal (unless `quiet`, e.g. for --json); Ctrl+C cancels the job, and a
 * second Ctrl+C ends the process.
 */
export async function runJob<T>(jobs: JobRunner, kind: JobProgress['kind'], work: JobWork<T>, { quiet = false } = {}): Promise<T> {
  const shown = !quiet && process.stderr.isTTY;
  const unsubscribe = shown ? jobs.onEvent(printProgress) : () => undefined;
  const cancel = () => jobs.cancelAll();
  process.once('SIGINT', cancel);
  try {
    return await jobs.run(kind, work);
  } finally {
    process.off('SIGINT', cancel);
    unsubscribe();
    if (shown) process.stderr.write('\n');
  }
}

function printProgress(event: StudioEvent): void {
  if (event.type !== 'job.progress' || event.job.state !== 'running') return;
  const { message, done, total, ratePerSecond, etaSeconds } = event.job;
  const eta = etaSeconds === null ? '' : ` · ETA ${Math.round(etaSeconds)} s`;
  process.stderr.write(`\r${message} · ${done}/${total} · ${ratePerSecond.toFixed(1)}/s${eta}   `);
}
