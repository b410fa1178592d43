/** Use-case: import image files and folders into the project (the studio's import job, `atl-studio import`). */
import type { ImportReport } from '../../shared/contract';
import type { Project } from '../services/project';
import type { JobHandle } from './job-runner';

export interface ImportInput {
  paths: string[];
  labelsFromFolders: boolean;
}

/** Imports `paths` (recursively), reporting each file; a cancelled import returns its report with status 'cancelled'. */
export function importImages(
  project: Project,
  { paths, labelsFromFolders }: ImportInput,
  { signal, report }: JobHandle,
): Promise<ImportReport> {
  return project.imports.run({
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
}
