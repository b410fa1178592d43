/**
 * Learning from the labels: comparisons of strategies, trained heads, their predictions on the
 * project's images, and the suggestions of what to label next.
 */
import { StudioError } from '../../core/errors';
import { planComparisonRun, runComparison } from '../compare';
import { planPrediction, predictProject } from '../predict';
import { suggestNext } from '../suggest';
import { planTraining, trainHead } from '../train';
import { changed, startJob, type Handlers, type StudioContext } from './context';

export function trainingHandlers(context: StudioContext) {
  const { jobs, teachers } = context;
  return {
    'compare.start': async ({ config, name }) => {
      jobs.assertNone('start a comparison');
      const project = context.requireProject();
      const plan = await planComparisonRun(project, teachers, { ...config, strategies: [...new Set(config.strategies)] }, name);
      context.emit({ type: 'project.changed', what: 'comparisons' });
      return { ...startJob(context, 'compare', (job) => runComparison(project, plan, job), ['comparisons']), runId: plan.runId };
    },
    'compare.list': () => context.requireProject().comparisons.list(),
    'compare.get': ({ id }) => context.requireProject().comparisons.get(id),
    'compare.delete': ({ id }) => {
      context.requireProject().comparisons.delete(id);
      context.emit({ type: 'project.changed', what: 'comparisons' });
      return null;
    },

    'heads.train': async (input) => {
      jobs.assertNone('train a head');
      const project = context.requireProject();
      const plan = await planTraining(project, teachers, input);
      return startJob(context, 'train', (job) => trainHead(project, plan, input, job), ['heads']);
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
      const project = context.requireProject();
      const plan = await planPrediction(project, teachers, headId);
      return startJob(context, 'predict', (job) => predictProject(project, plan, job), ['predictions', 'images']);
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
    'suggest.next': async ({ count }) => {
      const project = context.requireProject();
      // The newest request wins: an older one ranks labels that have changed since.
      jobs.cancelKind('suggest');
      const suggestions = await jobs.run('suggest', (job) => suggestNext(project, teachers, count, job));
      return { suggestions: suggestions ?? [], cancelled: suggestions === null };
    },
  } satisfies Partial<Handlers>;
}
