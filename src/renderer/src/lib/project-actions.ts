/**
 * What the project bar and the welcome screen do with projects: create, open, close, rename,
 * delete, forget a recent one. Each asks the services, then has `studio` read the studio's state
 * (and, for a project now open, everything the workspace shows) again.
 */
import { call } from './api';
import { dialogs } from './dialogs.svelte';
import { studio } from './studio.svelte';

class ProjectActions {
  createProject(name: string): Promise<void> {
    return studio.afterOpen(() => call('project.create', { name }));
  }

  /** From inside a project: asks for a name, then creates the project and opens it instead. */
  async newProject(): Promise<void> {
    const name = await dialogs.ask({
      title: 'New project',
      message: `An empty project, saved in ${studio.info?.projectsDir}. “${studio.project?.name}” closes; Switch project brings it back.`,
      okLabel: 'Create project',
      input: { label: 'Project name', value: '' },
    });
    if (!name?.trim()) return;
    dialogs.previewOpen = false;
    dialogs.importOpen = false;
    await this.createProject(name.trim());
  }

  openProject(path: string): Promise<void> {
    return studio.afterOpen(() => call('project.open', { path }));
  }

  openDemo(): Promise<void> {
    return studio.afterOpen(() => call('project.openDemo', {}));
  }

  async closeProject(): Promise<void> {
    if ((await dialogs.attempt(() => call('project.close', {}))) === undefined) return;
    dialogs.previewOpen = false;
    dialogs.importOpen = false;
    await studio.refreshInfo();
  }

  async renameProject(): Promise<void> {
    const project = studio.project;
    if (!project) return;
    const name = await dialogs.ask({
      title: 'Rename project',
      message: 'The name shows in the title bar and the recent projects list.',
      okLabel: 'Rename',
      input: { label: 'Project name', value: project.name },
    });
    if (!name?.trim() || name.trim() === project.name) return;
    if (await dialogs.attempt(() => call('project.rename', { name: name.trim() }))) await studio.refreshInfo();
  }

  async deleteProject(): Promise<void> {
    const project = studio.project;
    if (!project) return;
    const sure = await dialogs.confirm({
      title: `Delete “${project.name}”?`,
      message: `This deletes the project file ${project.path} from disk, with its ${project.images} images' thumbnails, labels and classes. It cannot be undone. Your original image files are not touched.`,
      okLabel: 'Delete project',
      danger: true,
    });
    if (!sure) return;
    // Closed first, so that the file is no longer in use when it is deleted.
    if ((await dialogs.attempt(() => call('project.close', {}))) === undefined) return;
    await dialogs.attempt(() => call('project.delete', { path: project.path, confirm: true }));
    dialogs.previewOpen = false;
    dialogs.importOpen = false;
    await studio.refreshInfo();
  }

  async forgetRecent(path: string): Promise<void> {
    if ((await dialogs.attempt(() => call('project.forgetRecent', { path }))) !== undefined) await studio.refreshInfo();
  }
}

export const projectActions = new ProjectActions();
