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
  type ComparisonConfig,
  type StrategyName,
  type Input,
  type JobProgress,
  type Method,
  type Pooling,
  type TeacherDetail,
  type TeacherInfo,
  type Output,
  type StudioEvent,
} from '../../shared/contract';
import { planComparison } from '../atl/comparison';
import { DEMO_SHAPES, writeDemoImages } from './demo-images';
import { exportHead } from '../export/export-service';
import { writePredictions } from '../export/predictions-file';
import { errorMessage, StudioError } from '../core/errors';
import type { PreprocessSpec } from '../engines/preprocess';
import type { ExtractionProgress } from '../features/extraction';
import { ModelStore, type TeacherEntry } from '../models/model-store';
import { TeacherService } from '../models/teacher-service';
import { jobsRunningElsewhere, Project, PROJECT_EXTENSION, safeFileName } from './project';
import { damagedProject, isCorruption } from './project-db';
import { SettingsService } from './settings-service';

export const STUDIO_VERSION = '0.1.0';
const DEMO_NAME = 'Demo - shapes';

type ParsedInput<M extends Method> = z.infer<(typeof contract)[M]['input']>;
type Handlers = { [M in Method]: (input: ParsedInput<M>) => Promise<Output<M>> | Output<M> };

interface JobReport {
  done: number;
  /** Items worked on in this run (the rate's numerator); `done` may include skipped ones. */
  processed: number;
  total: number;
  elapsedSeconds: number;
  message: string;
  detail: Record<string, number>;
}

/** An extraction's progress as a job report: images cached before count as done, not as this run's rate. */
function extractionReport(p: ExtractionProgress, message: string): JobReport {
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
function phaseClock(): (phase: string) => number {
  let current: string | null = null;
  let since = 0;
  return (phase) => {
    if (phase !== current) [current, since] = [phase, performance.now()];
    return (performance.now() - since) / 1000;
  };
}

function teacherInfo(entry: TeacherEntry): TeacherInfo {
  const { id, name, format, description, license, source, isDefault, problem } = entry;
  return { id, name, format, description, license, source, isDefault, installed: entry.dir !== null && problem === null, problem };
}

function describePreprocess(spec: PreprocessSpec): string {
  const normalization =
    spec.normalization.kind === 'scale'
      ? `x·${+spec.normalization.scale.toFixed(6)} ${spec.normalization.offset < 0 ? '−' : '+'} ${Math.abs(spec.normalization.offset)}`
      : `(x/255 − mean) / std`;
  return `${spec.width}×${spec.height} ${spec.channelOrder}, ${spec.resize}, ${normalization}, ${spec.layout}`;
}

export interface StudioOptions {
  home: string;
  front: 'electron' | 'web';
}

export class Studio {
  readonly settings: SettingsService;
  readonly teachers: TeacherService;
  private current: Project | null = null;
  private readonly jobs = new Map<string, AbortController>();
  private readonly running = new Set<Promise<unknown>>();
  private readonly listeners = new Set<(event: StudioEvent) => void>();

  constructor(private readonly options: StudioOptions) {
    this.settings = new SettingsService(options.home);
    this.teachers = new TeacherService(new ModelStore(options.home));
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
      // Damage the check at open leaves out (the feature cache) shows when it is read.
      if (isCorruption(error) && this.current) {
        return { ok: false, error: { code: 'damaged', message: damagedProject(this.current.path, errorMessage(error)).message } };
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
    await this.teachers.dispose();
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

  /**
   * Runs a long job in the background: progress events while it runs, a last event with its
   * outcome (done / cancelled / failed), and cancellation through `jobs.cancel`.
   */
  private startJob(
    kind: JobProgress['kind'],
    work: (signal: AbortSignal, report: (progress: JobReport) => void) => Promise<void>,
    onSettled: () => void,
  ): string {
    const jobId = randomUUID();
    const controller = new AbortController();
    this.jobs.set(jobId, controller);
    let last: JobReport = { done: 0, processed: 0, total: 0, elapsedSeconds: 0, message: 'Starting', detail: {} };
    const send = (state: JobProgress['state']) => {
      // The rate counts work done in this run only (not images found already cached).
      const rate = last.elapsedSeconds > 0 ? last.processed / last.elapsedSeconds : 0;
      const eta = rate > 0 && last.total > 0 ? (last.total - last.done) / rate : null;
      const { done, total, message, detail } = last;
      this.emit({ type: 'job.progress', job: { jobId, kind, state, done, total, ratePerSecond: rate, etaSeconds: eta, message, detail } });
    };
    const run = work(controller.signal, (progress) => {
      last = progress;
      send('running');
    })
      .then(
        () => (controller.signal.aborted ? 'cancelled' : 'done') as JobProgress['state'],
        (error) => {
          console.error(`${kind} failed: ${errorMessage(error)}`);
          last = { ...last, message: errorMessage(error) };
          return 'failed' as const;
        },
      )
      .then((state) => {
        send(state);
        onSettled();
      })
      .finally(() => {
        this.jobs.delete(jobId);
        this.running.delete(run);
      });
    this.running.add(run);
    return jobId;
  }

  private startImport(paths: string[], labelsFromFolders: boolean): string {
    const project = this.requireProject();
    return this.startJob(
      'import',
      async (signal, report) => {
        await project.imports.run({
          roots: paths,
          labelsFromFolders,
          signal,
          onProgress: (p) =>
            report({
              done: p.done,
              processed: p.done,
              total: p.found,
              elapsedSeconds: p.elapsedSeconds,
              message: `Importing ${p.done} of ${p.found}`,
              detail: { imported: p.imported, duplicates: p.duplicates, failed: p.failed, skipped: p.skipped },
            }),
        });
      },
      () => {
        this.emit({ type: 'project.changed', what: 'images' });
        this.emit({ type: 'project.changed', what: 'classes' });
      },
    );
  }

  private async startExtraction(modelId: string, layerRequest: 'all' | string[], pooling: Pooling): Promise<string> {
    const project = this.requireProject();
    const teacher = await this.teachers.get(modelId);
    const layers = await this.teachers.resolveLayers(modelId, layerRequest);
    const engine = teacher.extractor.describe();
    const device = `${engine.engine} · ${engine.backend} · ${engine.device}`;
    return this.startJob(
      'extract',
      async (signal, report) => {
        await project.extractFeatures({
          extractor: teacher.extractor,
          teacherKey: teacher.key,
          layers,
          pooling,
          signal,
          onProgress: (p) => report(extractionReport(p, `Extracting ${teacher.entry.name} features on ${device}`)),
        });
      },
      () => this.emit({ type: 'project.changed', what: 'images' }),
    );
  }

  private async startComparison(config: ComparisonConfig, name?: string): Promise<{ jobId: string; runId: number }> {
    const project = this.requireProject();
    // Fail now, before any extraction, when the labels cannot support the comparison.
    const counts = project.classes.list().map((c) => c.shots).filter((n) => n > 0);
    planComparison(counts.map((n) => Array.from({ length: n }, (_, i) => i)), { ...config, repeats: 1 });
    const teacher = await this.teachers.get(config.modelId);
    const layers = await this.teachers.resolveLayers(config.modelId, 'all');
    const runId = project.comparisons.create(config, teacher, name);
    this.emit({ type: 'project.changed', what: 'comparisons' });
    const elapsed = phaseClock();
    const jobId = this.startJob(
      'compare',
      (signal, report) =>
        project.comparisons.run(runId, project, teacher, layers, signal, ({ phase, done, total, message }) =>
          report({ done, processed: done, total, elapsedSeconds: elapsed(phase), message, detail: { runId } }),
        ),
      () => this.emit({ type: 'project.changed', what: 'comparisons' }),
    );
    return { jobId, runId };
  }

  private async startTraining(modelId: string, strategy: StrategyName, name?: string): Promise<string> {
    const project = this.requireProject();
    if (project.classes.list().filter((c) => c.shots > 0).length < 2) {
      throw new StudioError('invalid_input', 'Training needs labeled images in at least 2 classes');
    }
    const teacher = await this.teachers.get(modelId);
    const layers = await this.teachers.resolveLayers(modelId, 'all');
    const elapsed = phaseClock();
    return this.startJob(
      'train',
      async (signal, report) => {
        await project.heads.train(project, teacher, layers, strategy, {
          name,
          signal,
          onProgress: ({ phase, done, total, message }) => report({ done, processed: done, total, elapsedSeconds: elapsed(phase), message, detail: {} }),
        });
      },
      () => this.emit({ type: 'project.changed', what: 'heads' }),
    );
  }

  private async startPrediction(headId: number): Promise<string> {
    const project = this.requireProject();
    const head = project.heads.get(headId);
    const teacher = await this.teachers.get(head.summary.modelId);
    return this.startJob(
      'predict',
      async (signal, report) => {
        await project.predictions.predict(project, teacher, head, {
          signal,
          onProgress: (p) => report(extractionReport(p, `Predicting with ${head.summary.name}: features of ${p.cached + p.done} of ${p.total} images`)),
        });
      },
      () => {
        this.emit({ type: 'project.changed', what: 'predictions' });
        this.emit({ type: 'project.changed', what: 'images' });
      },
    );
  }

  private async teacherDetail(id: string): Promise<TeacherDetail> {
    const { teacher, layers } = await this.teachers.inventory(id);
    const engine = teacher.extractor.describe();
    return {
      teacher: teacherInfo(teacher.entry),
      engine: { engine: engine.engine, backend: engine.backend, device: engine.device, fallbackReason: engine.fallbackReason ?? null },
      layers: layers.map((l) => ({
        name: l.name,
        channels: l.channels,
        height: l.spatialSize[0],
        width: l.spatialSize[1],
        depth: l.depth,
        penultimate: l.penultimate,
        enabled: l.enabled,
      })),
      preprocess: describePreprocess(teacher.spec.preprocess),
      weightsSha256: teacher.weightsSha256,
    };
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
      const elsewhere = jobsRunningElsewhere(target);
      if (elsewhere > 0) {
        throw new StudioError(
          'conflict',
          `${target} is in use: another window or process is running ${elsewhere === 1 ? 'a job' : `${elsewhere} jobs`} in it (an import or a comparison). Cancel it there or wait for it to finish.`,
        );
      }
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

    'models.list': () => this.teachers.store.list().map(teacherInfo),
    'models.inspect': ({ id }) => this.teacherDetail(id),
    'models.setLayers': async ({ id, layers }) => {
      await this.teachers.setEnabledLayers(id, layers);
      return this.teacherDetail(id);
    },
    'models.import': async ({ path }) => teacherInfo(await this.teachers.store.import(path)),

    'features.status': async ({ modelId, pooling }) => {
      const project = this.requireProject();
      const teacher = await this.teachers.get(modelId);
      const layers = this.teachers.enabledLayers(teacher);
      const sources = project.images.sources();
      const paths = new Map(sources.map((s) => [s.sha256, s.path]));
      return {
        modelId,
        pooling,
        layers,
        images: sources.length,
        cached: project.features.completeCount(teacher.key, layers, pooling),
        failed: project.features
          .failures(teacher.key)
          .filter((f) => paths.has(f.imageSha256))
          .map((f) => ({ path: paths.get(f.imageSha256)!, reason: f.reason })),
      };
    },
    'features.extract': async ({ modelId, layers, pooling }) => {
      this.assertNoJobs('extract features');
      return { jobId: await this.startExtraction(modelId, layers, pooling) };
    },
    'jobs.cancel': ({ jobId }) => {
      const job = this.jobs.get(jobId);
      if (!job) throw new StudioError('not_found', 'That job is not running');
      job.abort();
      return null;
    },

    'compare.start': ({ config, name }) => {
      this.assertNoJobs('start a comparison');
      return this.startComparison({ ...config, strategies: [...new Set(config.strategies)] }, name);
    },
    'compare.list': () => this.requireProject().comparisons.list(),
    'compare.get': ({ id }) => this.requireProject().comparisons.get(id),
    'compare.delete': ({ id }) => {
      this.requireProject().comparisons.delete(id);
      this.emit({ type: 'project.changed', what: 'comparisons' });
      return null;
    },

    'heads.train': async ({ modelId, strategy, name }) => {
      this.assertNoJobs('train a head');
      return { jobId: await this.startTraining(modelId, strategy, name) };
    },
    'heads.list': () => this.requireProject().heads.list(),
    'heads.delete': ({ id }) => {
      this.assertNoJobs('delete a head');
      this.requireProject().heads.delete(id);
      this.emit({ type: 'project.changed', what: 'heads' });
      return null;
    },

    'predictions.run': async ({ headId }) => {
      this.assertNoJobs('predict');
      return { jobId: await this.startPrediction(headId) };
    },
    'predictions.status': () => {
      const project = this.requireProject();
      return project.predictions.status(project);
    },
    'labels.acceptPredictions': ({ imageIds }) => {
      const project = this.requireProject();
      // Only the wanted rows, without probabilities; a class deleted or merged since the head was trained cannot be given.
      const predicted = project.predictions.predictedClasses(imageIds);
      if (predicted.length === 0) throw new StudioError('not_found', 'None of these images has a prediction of an existing class: run a head on the project first');
      const result = project.labels.acceptPredictions(predicted);
      return this.summaryChanged('labels', result);
    },
    'suggest.next': ({ count }) => {
      const project = this.requireProject();
      return project.predictions.suggest(project, this.teachers, count);
    },
    'export.head': async ({ headId, format, dir, includeRuntime }) => {
      const project = this.requireProject();
      const head = project.heads.get(headId);
      return exportHead(head, await this.teachers.get(head.summary.modelId), format, dir, STUDIO_VERSION, { includeRuntime });
    },
    'export.predictions': ({ format, path }) => {
      const project = this.requireProject();
      return writePredictions(project, format, path);
    },

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
    if (this.jobs.size > 0) throw new StudioError('conflict', `A job is running: cancel it or wait before you ${what}.`);
  }
}
