/**
 * The studio's application layer as one object: every front (Electron IPC, the web server, the CLI,
 * tests) calls `studio.call(method, input)`, which validates the input with the contract's zod
 * schema and dispatches it to a handler. The Studio keeps the open project and the events; its
 * services (settings, teachers, job runner) are handed in by the front's composition root. The
 * handlers live in ./handlers/, one module per area, and call the use-cases in this folder.
 */
import { existsSync } from 'node:fs';
import type { z } from 'zod';
import {
  contract,
  isMethod,
  MediaRequest,
  type CallResponse,
  type ErrorCode,
  type Input,
  type MediaResponse,
  type Method,
  type Output,
  type StudioEvent,
} from '../../shared/contract';
import { errorMessage, StudioError } from '../core/errors';
import type { TeacherService } from '../models/teacher-service';
import { createServices, type StudioServices } from './composition-root';
import { openDemoProject } from './demo-project';
import type { Handlers, StudioContext } from './handlers/context';
import { exportHandlers } from './handlers/export-handlers';
import { importHandlers } from './handlers/import-handlers';
import { libraryHandlers } from './handlers/library-handlers';
import { portableHandlers } from './handlers/portable-handlers';
import { projectHandlers } from './handlers/project-handlers';
import { teacherHandlers } from './handlers/teacher-handlers';
import { trainingHandlers } from './handlers/training-handlers';
import type { JobRunner } from './job-runner';
import { Project } from '../services/project';
import { damagedProject, isCorruption } from '../services/project-db';
import type { SettingsService } from '../services/settings-service';
import { setEnginePreference } from '../models/engine-choice';

/** `input` parsed by `schema`, or an invalid_input error naming what is wrong. */
function validated<S extends z.ZodType>(what: string, schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StudioError('invalid_input', `${what}: ${issue.path.join('.') || 'input'}: ${issue.message}`);
  }
  return parsed.data;
}

export { STUDIO_VERSION } from '../services/studio-version';

/** The front the studio serves, and its services: those its composition root built, or those of a studio home. */
export type StudioOptions = { front: 'electron' | 'web' } & ({ services: StudioServices } | { home: string });

export class Studio {
  readonly settings: SettingsService;
  readonly teachers: TeacherService;
  private current: Project | null = null;
  private readonly jobs: JobRunner;
  private readonly listeners = new Set<(event: StudioEvent) => void>();
  private readonly handlers: Handlers;

  constructor(options: StudioOptions) {
    const services = 'services' in options ? options.services : createServices(options.home);
    this.settings = services.settings;
    this.teachers = services.teachers;
    this.jobs = services.jobs;
    this.jobs.onEvent((event) => this.emit(event));
    // A getter, so that the handlers always see the project open now, not the one open at construction.
    const openProject = () => this.current;
    const context: StudioContext = {
      front: options.front,
      settings: this.settings,
      teachers: this.teachers,
      jobs: this.jobs,
      get project() {
        return openProject();
      },
      requireProject: () => this.requireProject(),
      setProject: (project) => this.setProject(project),
      emit: (event) => this.emit(event),
    };
    this.handlers = {
      ...projectHandlers(context),
      ...libraryHandlers(context),
      ...importHandlers(context),
      ...teacherHandlers(context),
      ...trainingHandlers(context),
      ...exportHandlers(context),
      ...portableHandlers(context),
      'jobs.cancel': ({ jobId }) => {
        this.jobs.cancel(jobId, 'That job is not running');
        return null;
      },
    };
  }

  /** Reopens the last project; on the very first launch, creates and opens the demo project. */
  async start(): Promise<void> {
    setEnginePreference(this.settings.engine);
    const last = this.settings.lastProject;
    if (last && existsSync(last)) {
      try {
        this.setProject(Project.open(last));
        return;
      } catch (error) {
        console.warn(`Could not reopen ${last}: ${errorMessage(error)}`);
      }
    }
    if (!this.settings.demoOffered) {
      this.settings.update({ demoOffered: true });
      this.setProject(await openDemoProject(this.settings));
    }
  }

  get project(): Project | null {
    return this.current;
  }

  requireProject(): Project {
    if (!this.current) throw new StudioError('no_project', 'No project is open: create or open one first.');
    return this.current;
  }

  onEvent(listener: (event: StudioEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The entry point of every front: validates, runs, and turns errors into a response. */
  async call(method: string, rawInput: unknown): Promise<CallResponse> {
    try {
      if (!isMethod(method)) throw new StudioError('invalid_input', `Unknown method ${method}`);
      const handler = this.handlers[method] as (input: unknown) => unknown;
      return { ok: true, result: await handler(validated(method, contract[method].input, rawInput ?? {})) };
    } catch (error) {
      return this.failure(error);
    }
  }

  /**
   * An image's bytes for the renderer (both fronts' media URLs): validated and answered like a call.
   * `forProject`: the project file the page asks for, when it says; another one or none open is
   * `no_project` (the page asked before it heard of the close), as is a close while a preview is made.
   */
  async media(kind: unknown, id: unknown, forProject?: string): Promise<MediaResponse> {
    const project = this.current;
    try {
      const request = validated('media', MediaRequest, { kind, id });
      if (forProject !== undefined && project?.path !== forProject) throw new StudioError('no_project', `${forProject} is not open anymore.`);
      const images = this.requireProject().images;
      const { bytes, contentType } =
        request.kind === 'thumbs' ? images.thumbnails(request.id) : request.kind === 'thumb' ? images.thumbnail(request.id) : await images.preview(request.id);
      return { ok: true, bytes, contentType };
    } catch (error) {
      if (project !== null && this.current !== project) return this.failure(new StudioError('no_project', 'The project was closed.'));
      return this.failure(error);
    }
  }

  /** Typed call for in-process users (CLI, tests); throws StudioError on failure. */
  async invoke<M extends Method>(method: M, input: Input<M>): Promise<Output<M>> {
    const response = await this.call(method, input);
    if (!response.ok) throw new StudioError(response.error.code, response.error.message);
    return response.result as Output<M>;
  }

  /** Waits for running jobs (imports) to settle; used before closing and by tests. */
  async idle(): Promise<void> {
    await this.jobs.idle();
  }

  async dispose(): Promise<void> {
    this.jobs.cancelAll();
    await this.idle();
    this.current?.close();
    this.current = null;
    this.listeners.clear();
    await this.teachers.dispose();
  }

  /** A failed call's response: the StudioError's code, or the code of what the failure means. */
  private failure(error: unknown): { ok: false; error: { code: ErrorCode; message: string } } {
    if (error instanceof StudioError) return { ok: false, error: { code: error.code, message: error.message } };
    if ((error as { code?: string }).code === 'SQLITE_FULL' || (error as { code?: string }).code === 'ENOSPC') {
      return { ok: false, error: { code: 'io', message: 'The disk is full: nothing was written. Free some space and try again.' } };
    }
    // Damage the check at open leaves out (the feature cache) shows when it is read.
    if (isCorruption(error) && this.current) {
      return { ok: false, error: { code: 'damaged', message: damagedProject(this.current.path, errorMessage(error)).message } };
    }
    console.error(error);
    return { ok: false, error: { code: 'internal', message: errorMessage(error) } };
  }

  private emit(event: StudioEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private setProject(project: Project | null): void {
    if (this.current && this.current !== project) {
      // A label-next ranking is the one job that may run as its project closes (it blocks none): it stops here.
      this.jobs.cancelKind('suggest');
      this.current.close();
    }
    this.current = project;
    if (project) this.settings.rememberOpened(project.path, project.name);
    else this.settings.update({ lastProject: null });
    this.emit({ type: 'project.changed', what: 'project' });
  }
}
