/** Use-case: train a classifier head on every human label of the project (the studio's training job, `atl-studio train`). */
import type { HeadSummary } from '../../shared/contract';
import { StudioError } from '../core/errors';
import type { FeatureLayer } from '../engines/feature-extractor';
import type { OpenTeacher, TeacherService } from '../models/teacher-service';
import type { HeadService } from '../services/head-service';
import type { Project } from '../services/project';
import { phaseClock, type JobHandle } from './job-runner';

export interface TrainingInput {
  modelId: string;
  /** The strategy as the head service takes it. */
  strategy: Parameters<HeadService['train']>[3];
  name?: string;
}

export interface TrainingPlan {
  teacher: OpenTeacher;
  layers: FeatureLayer[];
}

/** Checks the labels and loads the teacher: fails here, before any job starts. */
export async function planTraining(project: Project, teachers: TeacherService, { modelId }: TrainingInput): Promise<TrainingPlan> {
  if (project.classes.list().filter((c) => c.shots > 0).length < 2) {
    throw new StudioError('invalid_input', 'Training needs labeled images in at least 2 classes');
  }
  const teacher = await teachers.get(modelId);
  return { teacher, layers: await teachers.resolveLayers(modelId, 'all') };
}

/** Trains and stores the head (extracting features as needed); null when cancelled, with nothing stored. */
export function trainHead(
  project: Project,
  { teacher, layers }: TrainingPlan,
  { strategy, name }: TrainingInput,
  { signal, report }: JobHandle,
): Promise<HeadSummary | null> {
  const elapsed = phaseClock();
  return project.heads.train(project, teacher, layers, strategy, {
    name,
    signal,
    onProgress: ({ phase, done, total, message }) => report({ done, processed: done, total, elapsedSeconds: elapsed(phase), message, detail: {} }),
  });
}
