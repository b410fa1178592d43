/** Use-case: train a classifier head on every human label of the project (the studio's training job, `atl-studio train`). */
import type { HeadSummary } from '../../shared/contract';
import { StudioError } from '../core/errors';
import type { TeacherService } from '../models/teacher-service';
import type { HeadService } from '../services/head-service';
import type { TeacherToLoad } from '../services/labeled-features';
import type { Project } from '../services/project';
import { phaseClock, type JobHandle } from './job-runner';

export interface TrainingInput {
  modelId: string;
  /** Several teachers, `modelId` first: the head learns from their candidates together. */
  modelIds?: string[];
  /** The strategy as the head service takes it. */
  strategy: Parameters<HeadService['train']>[2];
  name?: string;
}

export interface TrainingPlan {
  /** Each teacher with every layer of its inventory. */
  teachers: TeacherToLoad[];
}

/** Checks the labels and loads the teachers: fails here, before any job starts. */
export async function planTraining(project: Project, teachers: TeacherService, { modelId, modelIds }: TrainingInput): Promise<TrainingPlan> {
  if (project.classes.list().filter((c) => c.shots > 0).length < 2) {
    throw new StudioError('invalid_input', 'Training needs labeled images in at least 2 classes');
  }
  const ids = modelIds ?? [modelId];
  if (ids[0] !== modelId) throw new StudioError('invalid_input', `The teachers must start with modelId ${modelId}`);
  if (new Set(ids).size !== ids.length) throw new StudioError('invalid_input', `A teacher is named twice: ${ids.join(', ')}`);
  const loaded: TeacherToLoad[] = [];
  for (const id of ids) loaded.push({ teacher: await teachers.get(id), inUse: await teachers.resolveLayers(id, 'all') });
  return { teachers: loaded };
}

/** Trains and stores the head (extracting features as needed); null when cancelled, with nothing stored. */
export function trainHead(
  project: Project,
  { teachers }: TrainingPlan,
  { strategy, name }: TrainingInput,
  { signal, report }: JobHandle,
): Promise<HeadSummary | null> {
  const elapsed = phaseClock();
  return project.heads.train(project, teachers, strategy, {
    name,
    signal,
    onProgress: ({ phase, done, total, message }) => report({ done, processed: done, total, elapsedSeconds: elapsed(phase), message, detail: {} }),
  });
}
