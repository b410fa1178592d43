/**
 * What the project bar and the welcome screen do with projects: create, open, close, rename,
 * delete, forget a recent one. Each asks the services, then reads the studio's info again (and,
 * for a project now open, the workspace loads everything it shows of it).
 */
import { call } from './api';
import { dialogs } from './dialogs.svelte';
import { project } from './project.svelte';
import { workspace } from './workspace.svelte';

class ProjectActions {
  createProject(name: string): Promise<void> {
    return workspace.afterOpen(() => call('project.create', { name }));
  }

  /** From inside a project: asks for a name, then creates the project and opens it instead. */
  async newProject(): Promise<void> {
    const name = await dialogs.ask({
      title: 'New project',
      message: `An empty project, saved in ${project.info?.projectsDir}. “${project.current?.name}” closes; Switch project brings it back.`,
      okLabel: 'Create project',
      input: { label: 'Project name', value: '' },
    });
    if (!name?.trim()) return;
    dialogs.previewOpen = false;
    dialogs.importOpen = false;
    await this.createProject(name.trim());
  }

  openProject(path: string): Promise<void> {
    return workspace.afterOpen(() => call('project.open', { path }));
  }

  openDemo(): Promise<void> {
    return workspace.afterOpen(() => call('project.openDemo', {}));
  }

  async closeProject(): Promise<void> {
    if ((await dialogs.attempt(() => call('project.close', {}))) === undefined) return;
    dialogs.previewOpen = false;
    dialogs.importOpen = false;
    await project.refreshInfo();
  }

  async renameProject(): Promise<void> {
    const current = project.current;
    if (!current) return;
    const name = await dialogs.ask({
      title: 'Rename project',
      message: 'The name shows in the title bar and the recent projects list.',
      okLabel: 'Rename',
      input: { label: 'Project name', value: current.name },
    });
    if (!name?.trim() || name.trim() === current.name) return;
    if (await dialogs.attempt(() => call('project.rename', { name: name.trim() }))) await project.refreshInfo();
  }

  async deleteProject(): Promise<void> {
    const current = project.current;
    if (!current) return;
    const sure = await dialogs.confirm({
      title: `Delete “${current.name}”?`,
      message: `This deletes the project file ${current.path} from disk, with its ${current.images} images' thumbnails, labels and classes. It cannot be undone. Your original image files are not touched.`,
      okLabel: 'Delete project',
      danger: true,
    });
    if (!sure) return;
    // Closed first, so that the file is no longer in use when it is deleted.
    if ((await dialogs.attempt(() => call('project.close', {}))) === undefined) return;
    await dialogs.attempt(() => call('project.delete', { path: current.path, confirm: true }));
    dialogs.previewOpen = false;
    dialogs.importOpen = false;
    await project.refreshInfo();
  }

  async forgetRecent(path: string): Promise<void> {
    if ((await dialogs.attempt(() => call('project.forgetRecent', { path }))) !== undefined) await project.refreshInfo();
  }
}

export const projectActions = new ProjectActions();
