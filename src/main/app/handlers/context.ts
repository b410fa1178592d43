/**
 * What the contract's handlers share: the studio's services, its job runner, the open project and
 * the event bus. The Studio builds one context and hands it to each group of handlers.
 */
import type { z } from 'zod';
import type { contract, Method, Output, StudioEvent } from '../../../shared/contract';
import type { TeacherService } from '../../models/teacher-service';
import type { JobRunner } from '../job-runner';
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

/** Tells the fronts that `what` changed and passes `value` through. */
export function changed<T>(context: StudioContext, what: 'classes' | 'labels', value: T): T {
  context.emit({ type: 'project.changed', what });
  return value;
}
