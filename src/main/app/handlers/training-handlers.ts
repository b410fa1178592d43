/**
 * Learning from the labels: comparisons of strategies, trained heads, their predictions on the
 * project's images, and the suggestions of what to label next.
 */
import type { ComparisonConfig, StrategyName } from '../../../shared/contract';
import { planComparison } from '../../atl/comparison';
import { StudioError } from '../../core/errors';
import { extractionReport, phaseClock } from '../job-runner';
import { changed, type Handlers, type StudioContext } from './context';

async function startComparison(context: StudioContext, config: ComparisonConfig, name?: string): Promise<{ jobId: string; runId: number }> {
  const project = context.requireProject();
  // Fail now, before any extraction, when the labels cannot support the comparison.
  const counts = project.classes.list().map((c) => c.shots).filter((n) => n > 0);
  planComparison(counts.map((n) => Array.from({ length: n }, (_, i) => i)), { ...config, repeats: 1 });
  const teacher = await context.teachers.get(config.modelId);
  const layers = await context.teachers.resolveLayers(config.modelId, 'all');
  const runId = project.comparisons.create(config, teacher, name);
  context.emit({ type: 'project.changed', what: 'comparisons' });
  const elapsed = phaseClock();
  const jobId = context.jobs.start(
    'compare',
    (signal, report) =>
      project.comparisons.run(runId, project, teacher, layers, signal, ({ phase, done, total, message }) =>
        report({ done, processed: done, total, elapsedSeconds: elapsed(phase), message, detail: { runId } }),
      ),
    () => context.emit({ type: 'project.changed', what: 'comparisons' }),
  );
  return { jobId, runId };
}

async function startTraining(context: StudioContext, modelId: string, strategy: StrategyName, name?: string): Promise<string> {
  const project = context.requireProject();
  if (project.classes.list().filter((c) => c.shots > 0).length < 2) {
    throw new StudioError('invalid_input', 'Training needs labeled images in at least 2 classes');
  }
  const teacher = await context.teachers.get(modelId);
  const layers = await context.teachers.resolveLayers(modelId, 'all');
  const elapsed = phaseClock();
  return context.jobs.start(
    'train',
    async (signal, report) => {
      await project.heads.train(project, teacher, layers, strategy, {
        name,
        signal,
        onProgress: ({ phase, done, total, message }) => report({ done, processed: done, total, elapsedSeconds: elapsed(phase), message, detail: {} }),
      });
    },
    () => context.emit({ type: 'project.changed', what: 'heads' }),
  );
}

async function startPrediction(context: StudioContext, headId: number): Promise<string> {
  const project = context.requireProject();
  const head = project.heads.get(headId);
  const teacher = await context.teachers.get(head.summary.modelId);
  return context.jobs.start(
    'predict',
    async (signal, report) => {
      await project.predictions.predict(project, teacher, head, {
        signal,
        onProgress: (p) => report(extractionReport(p, `Predicting with ${head.summary.name}: features of ${p.cached + p.done} of ${p.total} images`)),
      });
    },
    () => {
      context.emit({ type: 'project.changed', what: 'predictions' });
      context.emit({ type: 'project.changed', what: 'images' });
    },
  );
}

export function trainingHandlers(context: StudioContext) {
  const { jobs } = context;
  return {
    'compare.start': ({ config, name }) => {
      jobs.assertNone('start a comparison');
      return startComparison(context, { ...config, strategies: [...new Set(config.strategies)] }, name);
    },
    'compare.list': () => context.requireProject().comparisons.list(),
    'compare.get': ({ id }) => context.requireProject().comparisons.get(id),
    'compare.delete': ({ id }) => {
      context.requireProject().comparisons.delete(id);
      context.emit({ type: 'project.changed', what: 'comparisons' });
      return null;
    },

    'heads.train': async ({ modelId, strategy, name }) => {
      jobs.assertNone('train a head');
      return { jobId: await startTraining(context, modelId, strategy, name) };
    },
    'heads.list': () => context.requireProject().heads.list(),
    'heads.delete': ({ id }) => {
      jobs.assertNone('delete a head');
      context.requireProject().heads.delete(id);
      context.emit({ type: 'project.changed', what: 'heads' });
      return null;
    },

    'predictions.run': async ({ headId }) => {
      jobs.assertNone('predict');
      return { jobId: await startPrediction(context, headId) };
    },
    'predictions.status': () => {
      const project = context.requireProject();
      return project.predictions.status(project);
    },
    'labels.acceptPredictions': ({ imageIds }) => {
      const project = context.requireProject();
      // Only the wanted rows, without probabilities; a class deleted or merged since the head was trained cannot be given.
      const predicted = project.predictions.predictedClasses(imageIds);
      if (predicted.length === 0) throw new StudioError('not_found', 'None of these images has a prediction of an existing class: run a head on the project first');
      return changed(context, 'labels', project.labels.acceptPredictions(predicted));
    },
    'suggest.next': ({ count }) => {
      const project = context.requireProject();
      return project.predictions.suggest(project, context.teachers, count);
    },
  } satisfies Partial<Handlers>;
}
