/** Importing images into the project, as a background job. */
import { importImages } from '../import-images';
import { startJob, type Handlers, type StudioContext } from './context';

export function importHandlers(context: StudioContext) {
  return {
    'import.start': (input) => {
      const project = context.requireProject();
      return startJob(context, 'import', (job) => importImages(project, input, job), ['images', 'classes']);
    },
    'import.cancel': ({ jobId }) => {
      context.jobs.cancel(jobId, 'That import is not running');
      return null;
    },
    'import.reports': () => context.requireProject().imports.reports(),
  } satisfies Partial<Handlers>;
}
