/** Importing images into the project, as a background job. */
import { importImages } from '../import-images';
import type { Handlers, StudioContext } from './context';

export function importHandlers(context: StudioContext) {
  return {
    'import.start': (input) => {
      const project = context.requireProject();
      const jobId = context.jobs.start(
        'import',
        (job) => importImages(project, input, job),
        () => {
          context.emit({ type: 'project.changed', what: 'images' });
          context.emit({ type: 'project.changed', what: 'classes' });
        },
      );
      return { jobId };
    },
    'import.cancel': ({ jobId }) => {
      context.jobs.cancel(jobId, 'That import is not running');
      return null;
    },
    'import.reports': () => context.requireProject().imports.reports(),
  } satisfies Partial<Handlers>;
}
