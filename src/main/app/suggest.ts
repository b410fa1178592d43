/**
 * Use-case: the unlabeled images whose labels would teach the most, best first (the Label-next
 * panel, `atl-studio suggest`), as a job: at 70,000 images the features to extract and the pool to
 * rank take long enough to want progress and a cancel.
 */
import type { Suggestion } from '../../shared/contract';
import type { TeacherService } from '../models/teacher-service';
import type { SuggestStep } from '../services/prediction-service';
import type { Project } from '../services/project';
import { extractionReport, phaseClock, type JobHandle, type JobReport } from './job-runner';

const PASSES = { typicality: 'how typical each image is', distances: 'distances to the labeled images' } as const;

/** The suggestions, or null when the job was cancelled. */
export function suggestNext(project: Project, teachers: TeacherService, count: number, { signal, report }: JobHandle): Promise<Suggestion[] | null> {
  const clock = phaseClock();
  return project.predictions.suggest(project, teachers, count, { signal, onProgress: (step) => report(reportOf(step, clock)) });
}

function reportOf(step: SuggestStep, clock: (phase: string) => number): JobReport {
  if (step.stage === 'features') return extractionReport(step.progress, `Label next: features of ${step.progress.cached + step.progress.done} of ${step.progress.total} images`);
  const { pass, done, total } = step.progress;
  const what = pass === 'picks' ? `picking ${total} images` : `${PASSES[pass]}, ${total.toLocaleString('en-US')} unlabeled images`;
  return { done, processed: done, total, elapsedSeconds: clock(pass), message: `Label next: ${what}`, detail: {} };
}
