/** The teachers (list, inspect, choose layers, import) and the features they extract for the project. */
import type { Pooling } from '../../../shared/contract';
import { extractionReport } from '../job-runner';
import { teacherDetail, teacherInfo } from '../teacher-info';
import type { Handlers, StudioContext } from './context';

async function startExtraction(context: StudioContext, modelId: string, layerRequest: 'all' | string[], pooling: Pooling): Promise<string> {
  const project = context.requireProject();
  const teacher = await context.teachers.get(modelId);
  const layers = await context.teachers.resolveLayers(modelId, layerRequest);
  const engine = teacher.extractor.describe();
  const device = `${engine.engine} · ${engine.backend} · ${engine.device}`;
  return context.jobs.start(
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
    () => context.emit({ type: 'project.changed', what: 'images' }),
  );
}

export function teacherHandlers(context: StudioContext) {
  const { teachers } = context;
  return {
    'models.list': () => teachers.store.list().map(teacherInfo),
    'models.inspect': ({ id }) => teacherDetail(teachers, id),
    'models.setLayers': async ({ id, layers }) => {
      await teachers.setEnabledLayers(id, layers);
      return teacherDetail(teachers, id);
    },
    'models.import': async ({ path }) => teacherInfo(await teachers.store.import(path)),

    'features.status': async ({ modelId, pooling }) => {
      const project = context.requireProject();
      const teacher = await teachers.get(modelId);
      const layers = teachers.enabledLayers(teacher);
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
      context.jobs.assertNone('extract features');
      return { jobId: await startExtraction(context, modelId, layers, pooling) };
    },
  } satisfies Partial<Handlers>;
}
