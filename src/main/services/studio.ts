/**
 * The studio's service layer as one object: the open project, the long jobs, the events, and a
 * handler per contract method. Every front (Electron IPC, the web server, tests) calls
 * `studio.call(method, input)`, which validates the input with the contract's zod schema first.
 */
import { randomUUID } from 'node:crypto';
import type { z } from 'zod';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  contract,
  isMethod,
  type CallResponse,
  type Input,
  type JobProgress,
  type Method,
  type Output,
  type StudioEvent,
} from '../../shared/contract';
import { DEMO_SHAPES, writeDemoImages } from './demo-images';
import { errorMessage, StudioError } from './errors';
import type { ImportProgress } from './import-service';
import { Project, PROJECT_EXTENSION, safeFileName } from './project';
import { SettingsService } from './settings-service';

export const STUDIO_VERSION = '0.1.0';
const DEMO_NAME = 'Demo - shapes';

type ParsedInput<M extends Method> = z.infer<(typeof contract)[M]['input']>;
type Handlers = { [M in Method]: (input: ParsedInput<M>) => Promise<Output<M>> | Output<M> };

export interface StudioOptions {
  home: string;
  front: 'electron' | 'web';
}

export class Studio {
  readonly settings: SettingsService;
  private current: Project | null = null;
  private readonly jobs = new Map<string, AbortController>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly listeners = new Set<(event: StudioEvent) => void>();

  constructor(private readonly options: StudioOptions) {
    this.settings = new SettingsService(options.home);
  }

  /** Reopens the last project; on the very first launch, creates and opens the demo project. */
  async start(): Promise<void> {
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
      await this.openDemo();
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
      const parsed = contract[method].input.safeParse(rawInput ?? {});
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new StudioError('invalid_input', `${method}: ${issue.path.join('.') || 'input'}: ${issue.message}`);
      }
      const handler = this.handlers[method] as (input: unknown) => unknown;
      return { ok: true, result: await handler(parsed.data) };
    } catch (error) {
      if (error instanceof StudioError) return { ok: false, error: { code: error.code, message: error.message } };
      if ((error as { code?: string }).code === 'SQLITE_FULL' || (error as { code?: string }).code === 'ENOSPC') {
        return { ok: false, error: { code: 'io', message: 'The disk is full: nothing was written. Free some space and try again.' } };
      }
      console.error(error);
      return { ok: false, error: { code: 'internal', message: errorMessage(error) } };
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
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async dispose(): Promise<void> {
    for (const job of this.jobs.values()) job.abort();
    await this.idle();
    this.current?.close();
    this.current = null;
    this.listeners.clear();
  }

  private emit(event: StudioEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private setProject(project: Project | null): void {
    if (this.current && this.current !== project) this.current.close();
    this.current = project;
    if (project) this.settings.rememberOpened(project.path, project.name);
    else this.settings.update({ lastProject: null });
    this.emit({ type: 'project.changed', what: 'project' });
  }

  private async openDemo(): Promise<Project> {
    const path = join(this.settings.projectsDir, `${safeFileName(DEMO_NAME)}${PROJECT_EXTENSION}`);
    if (existsSync(path)) {
      this.setProject(Project.open(path));
      return this.requireProject();
    }
    const shapes = await writeDemoImages(join(this.settings.home, 'demo-images'), 24);
    const project = Project.create(path, DEMO_NAME);
    try {
      await project.imports.run({ roots: [join(this.settings.home, 'demo-images')], labelsFromFolders: false });
      const classIds = new Map(DEMO_SHAPES.map((shape) => [shape, project.classes.create(shape).id]));
      // Three labeled examples per class, so the studio shows a few-shot task at once.
      const labeledPerShape = new Map<string, number>();
      for (const image of project.images.list({ kind: 'all' }, 'import')) {
        const shape = shapes.get(project.images.get(image.id).originalPath);
        if (!shape || (labeledPerShape.get(shape) ?? 0) >= 3) continue;
        labeledPerShape.set(shape, (labeledPerShape.get(shape) ?? 0) + 1);
        project.labels.labelFromImport(image.id, classIds.get(shape)!);
      }
    } catch (error) {
      project.close();
      rmSync(path, { force: true });
      throw error;
    }
    this.setProject(project);
    return project;
  }

  private startImport(paths: string[], labelsFromFolders: boolean): string {
    const project = this.requireProject();
    const jobId = randomUUID();
    const controller = new AbortController();
    this.jobs.set(jobId, controller);
    const progress = (p: ImportProgress, state: JobProgress['state']): JobProgress => {
      const rate = p.elapsedSeconds > 0 ? p.done / p.elapsedSeconds : 0;
      return {
        jobId,
        kind: 'import',
        state,
        done: p.done,
        total: p.found,
        ratePerSecond: rate,
        etaSeconds: rate > 0 && p.found > 0 ? (p.found - p.done) / rate : null,
        message: state === 'running' ? `Importing ${p.done} of ${p.found}` : `Import ${state}`,
        detail: { imported: p.imported, duplicates: p.duplicates, failed: p.failed, skipped: p.skipped, importId: p.importId },
      };
    };
    let last: ImportProgress | null = null;
    const run = project.imports
      .run({
        roots: paths,
        labelsFromFolders,
        signal: controller.signal,
        onProgress: (p) => {
          last = p;
          this.emit({ type: 'job.progress', job: progress(p, 'running') });
        },
      })
      .then(
        () => 'done' as const,
        (error) => {
          console.error(`Import failed: ${errorMessage(error)}`);
          return 'failed' as const;
        },
      )
      .then((outcome) => {
        const state = controller.signal.aborted ? 'cancelled' : outcome;
        if (last) this.emit({ type: 'job.progress', job: progress(last, state) });
        this.emit({ type: 'project.changed', what: 'images' });
        this.emit({ type: 'project.changed', what: 'classes' });
      })
      .finally(() => {
        this.jobs.delete(jobId);
        this.running.delete(run);
      });
    this.running.add(run);
    return jobId;
  }

  private summaryChanged<T>(what: 'classes' | 'labels', value: T): T {
    this.emit({ type: 'project.changed', what });
    return value;
  }

  private readonly handlers: Handlers = {
    'studio.info': () => ({
      version: STUDIO_VERSION,
      front: this.options.front,
      home: this.settings.home,
      projectsDir: this.settings.projectsDir,
      theme: this.settings.theme,
      project: this.current?.summary() ?? null,
      recent: this.settings.recent(),
    }),
    'studio.setTheme': ({ theme }) => {
      this.settings.update({ theme });
      return null;
    },

    'project.create': ({ name, path }) => {
      const target = resolve(path ?? join(this.settings.projectsDir, `${safeFileName(name)}${PROJECT_EXTENSION}`));
      this.setProject(Project.create(target, name));
      return this.requireProject().summary();
    },
    'project.open': ({ path }) => {
      if (this.current?.path === resolve(path)) return this.current.summary();
      this.setProject(Project.open(resolve(path)));
      return this.requireProject().summary();
    },
    'project.openDemo': async () => (await this.openDemo()).summary(),
    'project.close': () => {
      this.assertNoJobs('close the project');
      this.setProject(null);
      return null;
    },
    'project.rename': ({ name }) => {
      this.assertNoJobs('rename the project');
      const project = this.requireProject();
      const oldPath = project.path;
      const renamed = project.renamed(name);
      this.settings.forget(oldPath);
      this.current = renamed;
      this.settings.rememberOpened(renamed.path, renamed.name);
      this.emit({ type: 'project.changed', what: 'project' });
      return renamed.summary();
    },
    'project.delete': ({ path }) => {
      const target = resolve(path);
      if (!target.endsWith(PROJECT_EXTENSION)) throw new StudioError('invalid_input', `Only ${PROJECT_EXTENSION} project files can be deleted`);
      if (!existsSync(target)) throw new StudioError('not_found', `No project at ${target}`);
      if (this.current?.path === target) {
        this.assertNoJobs('delete the project');
        this.setProject(null);
      }
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
      this.settings.forget(target);
      return null;
    },
    'project.forgetRecent': ({ path }) => {
      this.settings.forget(path);
      return null;
    },

    'images.list': ({ filter, sort }) => this.requireProject().images.list(filter, sort),
    'images.get': ({ id }) => this.requireProject().images.get(id),

    'import.start': ({ paths, labelsFromFolders }) => ({ jobId: this.startImport(paths, labelsFromFolders) }),
    'import.cancel': ({ jobId }) => {
      const job = this.jobs.get(jobId);
      if (!job) throw new StudioError('not_found', 'That import is not running');
      job.abort();
      return null;
    },
    'import.reports': () => this.requireProject().imports.reports(),

    'classes.list': () => this.requireProject().classes.list(),
    'classes.create': ({ name, color }) => this.summaryChanged('classes', this.requireProject().classes.create(name, color)),
    'classes.update': ({ id, ...changes }) => this.summaryChanged('classes', this.requireProject().classes.update(id, changes)),
    'classes.reorder': ({ ids }) => this.summaryChanged('classes', this.requireProject().classes.reorder(ids)),
    'classes.merge': ({ sourceId, targetId }) =>
      this.summaryChanged('labels', this.requireProject().classes.merge(sourceId, targetId)),
    'classes.delete': ({ id }) => this.summaryChanged('labels', this.requireProject().classes.delete(id)),

    'labels.assign': ({ imageIds, classId }) => this.requireProject().labels.assign(imageIds, classId),
    'labels.undo': () => this.requireProject().labels.undo(),
    'labels.redo': () => this.requireProject().labels.redo(),
    'labels.history': () => this.requireProject().labels.history(),
  };

  private assertNoJobs(what: string): void {
    if (this.jobs.size > 0) throw new StudioError('conflict', `An import is running: cancel it or wait before you ${what}.`);
  }
}
