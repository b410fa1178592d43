/** The project taken elsewhere: its labeled data set out (export-data) and a portable copy with its teachers (pack). */
import { exportData } from '../export-data';
import { packProject } from '../pack';
import { startJob, type Handlers, type StudioContext } from './context';

export function portableHandlers(context: StudioContext) {
  return {
    'export.data': (input) => {
      context.jobs.assertNone('export the data set');
      const project = context.requireProject();
      return startJob(context, 'export-data', (job) => exportData(project, input, job), []);
    },
    'project.pack': (input) => {
      context.jobs.assertNone('save a portable copy');
      const project = context.requireProject();
      return startJob(context, 'pack', (job) => packProject(project, context.teachers, input, job), []);
    },
  } satisfies Partial<Handlers>;
}
