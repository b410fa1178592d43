/**
 * What the contract's handlers share: the studio's services, its job runner, the open project and
 * the event bus. The Studio builds one context and hands it to each group of handlers.
 */
import type { z } from 'zod';
import type { contract, JobProgress, Method, Output, StudioEvent } from '../../../shared/contract';
import type { TeacherService } from '../../models/teacher-service';
import type { JobRunner, JobWork } from '../job-runner';
import type { Project } from '../../services/project';
import type { SettingsService } from '../../services/settings-service';

type ParsedInput<M extends Method> = z.infer<(typeof contract)[M]['input']>;

/** A handler per contract method, given the input the contract's schema has validated. */
export type Handlers = { [M in Method]: (input: ParsedInput<M>) => Promise<Output<M>> | Output<M> };

export interface StudioContext {
  readonly front: 'electron' | 'web';
  readonly settings: SettingsService;
  readonly teachers: TeacherService;
  readonly jobs: JobRunner;
  /** The open project, or null. */
  readonly project: Project | null;
  /** The open project; a `no_project` error when none is open. */
  requireProject(): Project;
  /** Makes `project` the open one (closing the one before), remembers it, and tells the fronts. */
  setProject(project: Project | null): void;
  emit(event: StudioEvent): void;
}

type Changed = (StudioEvent & { type: 'project.changed' })['what'];

/** Starts `work` as a background job; once it has settled, tells the fronts that each of `changes` changed. */
export function startJob<T>(context: StudioContext, kind: JobProgress['kind'], work: JobWork<T>, changes: Changed[]): { jobId: string } {
  const jobId = context.jobs.start(kind, work, () => {
    for (const what of changes) context.emit({ type: 'project.changed', what });
  });
  return { jobId };
}

/** Tells the fronts that `what` changed and passes `value` through. */
export function changed<T>(context: StudioContext, what: 'classes' | 'labels', value: T): T {
  context.emit({ type: 'project.changed', what });
  return value;
}
