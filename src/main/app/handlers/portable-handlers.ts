/**
 * The project taken elsewhere: its labeled data set out (export-data), a portable copy with its
 * teachers (pack), and a portable copy restored as a new project (unpack).
 */
import { exportData } from '../export-data';
import { packProject, unpackProject } from '../pack';
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
    // Needs no open project: the front opens the new file once the job is done.
    'project.unpack': (input) => {
      context.jobs.assertNone('open a portable copy');
      return startJob(context, 'unpack', (job) => unpackProject(context.teachers, input, job), []);
    },
  } satisfies Partial<Handlers>;
}
