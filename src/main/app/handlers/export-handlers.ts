/** Exporting a trained head (with its teacher) and the project's predictions. */
import { exportHead } from '../../export/export-service';
import { writePredictions } from '../../export/predictions-file';
import { STUDIO_VERSION } from '../../services/studio-version';
import type { Handlers, StudioContext } from './context';

export function exportHandlers(context: StudioContext) {
  return {
    'export.head': async ({ headId, format, dir, includeRuntime }) => {
      const project = context.requireProject();
      const head = project.heads.get(headId);
      return exportHead(head, await context.teachers.get(head.summary.modelId), format, dir, STUDIO_VERSION, { includeRuntime });
    },
    'export.predictions': ({ format, path }) => writePredictions(context.requireProject(), format, path),
  } satisfies Partial<Handlers>;
}
