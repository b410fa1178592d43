/** Importing images into the project, as a background job. */
import type { Handlers, StudioContext } from './context';

function startImport(context: StudioContext, paths: string[], labelsFromFolders: boolean): string {
  const project = context.requireProject();
  return context.jobs.start(
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
      context.emit({ type: 'project.changed', what: 'images' });
      context.emit({ type: 'project.changed', what: 'classes' });
    },
  );
}

export function importHandlers(context: StudioContext) {
  return {
    'import.start': ({ paths, labelsFromFolders }) => ({ jobId: startImport(context, paths, labelsFromFolders) }),
    'import.cancel': ({ jobId }) => {
      context.jobs.cancel(jobId, 'That import is not running');
      return null;
    },
    'import.reports': () => context.requireProject().imports.reports(),
  } satisfies Partial<Handlers>;
}
