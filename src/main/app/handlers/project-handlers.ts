/** The studio's settings and the project files: create, open, rename, close, delete. */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { StudioError } from '../../core/errors';
import { setEnginePreference } from '../../models/engine-choice';
import { openDemoProject } from '../demo-project';
import { jobsRunningElsewhere, Project, PROJECT_EXTENSION, safeFileName } from '../../services/project';
import { STUDIO_VERSION } from '../../services/studio-version';
import type { Handlers, StudioContext } from './context';

/** Deletes a project file and its SQLite side files, refusing while a job runs in it anywhere. */
function deleteProject(context: StudioContext, path: string): void {
  const target = resolve(path);
  if (!target.endsWith(PROJECT_EXTENSION)) throw new StudioError('invalid_input', `Only ${PROJECT_EXTENSION} project files can be deleted`);
  if (!existsSync(target)) throw new StudioError('not_found', `No project at ${target}`);
  const elsewhere = jobsRunningElsewhere(target);
  if (elsewhere > 0) {
    throw new StudioError(
      'conflict',
      `${target} is in use: another window or process is running ${elsewhere === 1 ? 'a job' : `${elsewhere} jobs`} in it (an import or a comparison). Cancel it there or wait for it to finish.`,
    );
  }
  if (context.project?.path === target) {
    context.jobs.assertNone('delete the project');
    context.setProject(null);
  }
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
  context.settings.forget(target);
}

export function projectHandlers(context: StudioContext) {
  const { settings, jobs } = context;
  return {
    'studio.info': () => ({
      version: STUDIO_VERSION,
      front: context.front,
      home: settings.home,
      projectsDir: settings.projectsDir,
      theme: settings.theme,
      engine: settings.engine,
      project: context.project?.summary() ?? null,
      recent: settings.recent(),
    }),
    'studio.setTheme': ({ theme }) => {
      settings.update({ theme });
      return null;
    },
    'studio.setEngine': async ({ engine }) => {
      settings.update({ engine });
      setEnginePreference(engine);
      for (const { id } of context.teachers.store.list()) await context.teachers.forget(id);
      return null;
    },

    'project.create': ({ name, path }) => {
      const target = resolve(path ?? join(settings.projectsDir, `${safeFileName(name)}${PROJECT_EXTENSION}`));
      context.setProject(Project.create(target, name));
      return context.requireProject().summary();
    },
    'project.open': ({ path }) => {
      if (context.project?.path === resolve(path)) return context.project.summary();
      context.setProject(Project.open(resolve(path)));
      return context.requireProject().summary();
    },
    'project.openDemo': async () => {
      const project = await openDemoProject(settings);
      context.setProject(project);
      return project.summary();
    },
    'project.close': () => {
      jobs.assertNone('close the project');
      context.setProject(null);
      return null;
    },
    'project.rename': ({ name }) => {
      jobs.assertNone('rename the project');
      const project = context.requireProject();
      const oldPath = project.path;
      // renamed() closes the project under its old name when the file moves.
      const renamed = project.renamed(name);
      settings.forget(oldPath);
      context.setProject(renamed);
      return renamed.summary();
    },
    'project.delete': ({ path }) => {
      deleteProject(context, path);
      return null;
    },
    'project.forgetRecent': ({ path }) => {
      settings.forget(path);
      return null;
    },
  } satisfies Partial<Handlers>;
}
