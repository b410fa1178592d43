/** Exporting a trained head (with its teacher) and the project's predictions. */
import { exportPredictions, exportTrainedHead } from '../export';
import type { Handlers, StudioContext } from './context';

export function exportHandlers(context: StudioContext) {
  return {
    'export.head': (input) => exportTrainedHead(context.requireProject(), context.teachers, input),
    'export.predictions': ({ format, path }) => exportPredictions(context.requireProject(), format, path),
  } satisfies Partial<Handlers>;
}
