/** The teachers (list, inspect, choose layers, import) and the features they extract for the project. */
import { extractFeatures, planExtraction } from '../extract-features';
import { importTeacher, inspectTeacher, listTeachers, missingTeachers, removeTeacher, setTeacherLayers } from '../teachers';
import { startJob, type Handlers, type StudioContext } from './context';

export function teacherHandlers(context: StudioContext) {
  const { teachers } = context;
  return {
    'models.list': () => listTeachers(teachers),
    'models.inspect': ({ id }) => inspectTeacher(teachers, id),
    'models.setLayers': ({ id, layers }) => setTeacherLayers(teachers, id, layers),
    'models.import': ({ path, ...options }) => importTeacher(teachers, path, options),
    'models.remove': async ({ id }) => ({ filesLeft: await removeTeacher(teachers, id) }),
    'models.missing': () => missingTeachers(teachers, context.requireProject()),

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
    'features.extract': async (input) => {
      context.jobs.assertNone('extract features');
      const project = context.requireProject();
      const plan = await planExtraction(teachers, input);
      return startJob(context, 'extract', (job) => extractFeatures(project, plan, input, job), ['images']);
    },
  } satisfies Partial<Handlers>;
}
