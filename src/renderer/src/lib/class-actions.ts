/**
 * What the class panel does with classes: create, rename, recolor, give a hotkey, reorder, merge
 * and delete. The list itself lives in project.svelte.ts.
 */
import type { ClassInfo } from '../../../shared/contract';
import { call } from './api';
import { dialogs } from './dialogs.svelte';
import { grid } from './grid.svelte';
import { project } from './project.svelte';
import { labels } from './labels.svelte';

class ClassActions {
  async createClass(name: string): Promise<boolean> {
    const created = await dialogs.attempt(() => call('classes.create', { name }));
    if (created) await dialogs.attempt(() => project.loadClasses());
    return created !== undefined;
  }

  async updateClass(id: number, changes: { name?: string; color?: string; hotkey?: number | null }): Promise<void> {
    // A hotkey moves from its previous owner, so the whole list is read again.
    if (await dialogs.attempt(() => call('classes.update', { id, ...changes }))) await dialogs.attempt(() => project.loadClasses());
  }

  async moveClass(id: number, offset: -1 | 1): Promise<void> {
    const ids = project.classes.map((c) => c.id);
    const from = ids.indexOf(id);
    const to = from + offset;
    if (from < 0 || to < 0 || to >= ids.length) return;
    [ids[from], ids[to]] = [ids[to], ids[from]];
    const classes = await dialogs.attempt(() => call('classes.reorder', { ids }));
    if (classes) project.setClasses(classes);
  }

  async mergeClass(source: ClassInfo): Promise<void> {
    const others = project.classes.filter((c) => c.id !== source.id);
    if (others.length === 0) {
      dialogs.showError('Merging needs another class to merge into.');
      return;
    }
    const labels = source.count === 1 ? '1 label' : `${source.count} labels`;
    const target = await dialogs.ask({
      title: `Merge “${source.name}” into another class`,
      message: `${labels} will move from “${source.name}” to the class you choose, then “${source.name}” is deleted.`,
      okLabel: `Merge ${labels}`,
      choices: { label: 'Merge into', options: others.map((c) => ({ value: String(c.id), label: c.name })) },
    });
    if (!target) return;
    const classes = await dialogs.attempt(() =>
      call('classes.merge', { sourceId: source.id, targetId: Number(target), confirm: true }),
    );
    if (classes) await this.afterClassesRemoved(classes);
  }

  async deleteClass(target: ClassInfo): Promise<void> {
    const labels = target.count === 1 ? '1 label' : `${target.count} labels`;
    const sure = await dialogs.confirm({
      title: `Delete class “${target.name}”?`,
      message:
        target.count > 0
          ? `${labels} will be cleared; those images stay in the project, unlabeled.`
          : 'No image has this label.',
      okLabel: target.count > 0 ? `Delete and clear ${labels}` : 'Delete class',
      danger: true,
    });
    if (!sure) return;
    const classes = await dialogs.attempt(() => call('classes.delete', { id: target.id, confirm: true }));
    if (classes) await this.afterClassesRemoved(classes);
  }

  /** Merges and deletes relabel images, outside the undo history. */
  private async afterClassesRemoved(classes: ClassInfo[]): Promise<void> {
    project.setClasses(classes);
    await dialogs.attempt(() => Promise.all([grid.loadImages(), labels.loadHistory()]));
  }
}

export const classActions = new ClassActions();
