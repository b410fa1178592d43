/**
 * Labeling: labels given by hand or hotkey, accepted predictions, and undo/redo. Changes show at
 * once in the grid and reach the services one at a time, in the order they were made. Whether
 * undo and redo can run is read again when a project opens and when labels or classes change.
 */
import type { LabelChangeResult } from '../../../shared/contract';
import { call } from './api';
import { dialogs } from './dialogs.svelte';
import { acceptable, grid } from './grid.svelte';
import { project } from './project.svelte';
import { workspace, type ChangeKind, type StudioListener } from './workspace.svelte';

/** Accepting more predictions than this at once asks first. */
const ACCEPT_ASK_OVER = 20;

class Labels implements StudioListener {
  canUndo = $state(false);
  canRedo = $state(false);

  private labelQueue: Promise<unknown> = Promise.resolve();

  constructor() {
    workspace.listen(this);
  }

  onProjectLoaded(): Promise<void> {
    return this.loadHistory();
  }

  async onChange(kinds: ReadonlySet<ChangeKind>): Promise<void> {
    if (kinds.has('project') || kinds.has('labels') || kinds.has('classes')) await this.loadHistory();
  }

  /** Labels the selection, or the focused image when nothing is selected; `null` clears labels. */
  async assign(classId: number | null, advance = false): Promise<void> {
    const focused = grid.focused;
    const ids = grid.selected.size > 0 ? [...grid.selected] : focused ? [focused.id] : [];
    if (ids.length === 0) return;
    // Shown at once, and one labeled image moves the cursor on at once: keys typed in a quick
    // row label one image each, whatever the round trip takes.
    grid.patchRows(new Map(ids.map((id) => [id, classId])), 'human');
    if (advance && ids.length === 1 && grid.focusIndex < grid.images.length - 1) grid.focusAt(grid.focusIndex + 1);
    await this.changeLabels(() => call('labels.assign', { imageIds: ids, classId }));
  }

  /**
   * Accepts the active head's prediction for the selection (or the focused image); `all`: for
   * every image listed, after asking when there are many. Images a person labeled keep their label.
   */
  async acceptPredictions(all = false): Promise<void> {
    const focused = grid.focused;
    const rows = grid.readRows().filter((r) => all || grid.selected.has(r.id) || (grid.selected.size === 0 && r.id === focused?.id));
    const accepted = rows.filter((r) => acceptable(r) && r.classId !== r.predictedClassId);
    if (accepted.length === 0) {
      dialogs.showNotice(all ? 'No prediction to accept in this list.' : 'Nothing to accept here: no prediction, or a person labeled it.');
      return;
    }
    if (all && accepted.length > ACCEPT_ASK_OVER) {
      const sure = await dialogs.confirm({
        title: `Accept ${accepted.length} predictions?`,
        message: `Every image listed that has a prediction and no label from a person gets the predicted class, marked as accepted. Ctrl+Z undoes it in one step.`,
        okLabel: `Accept ${accepted.length} predictions`,
      });
      if (!sure) return;
    }
    grid.patchRows(new Map(accepted.map((r) => [r.id, r.predictedClassId])), 'prediction');
    if (!all && accepted.length === 1 && grid.focusIndex < grid.images.length - 1) grid.focusAt(grid.focusIndex + 1);
    const imageIds = accepted.map((r) => r.id);
    await this.changeLabels(() => call('labels.acceptPredictions', { imageIds }));
  }

  /** Opens the class picker for the selection, or the image under the cursor. */
  openClassPicker(): void {
    if (!grid.focused) return;
    if (project.classes.length === 0) dialogs.showNotice('No classes yet — add one in the class panel.');
    else dialogs.classPickerOpen = true;
  }

  async assignHotkey(hotkey: number, advance: boolean): Promise<void> {
    const target = project.classes.find((c) => c.hotkey === hotkey);
    if (!target) {
      dialogs.showNotice(`No class has hotkey ${hotkey} — pick one in the class panel.`);
      return;
    }
    await this.assign(target.id, advance);
  }

  undo(): Promise<void> {
    return this.changeLabels(() => call('labels.undo', {}), true);
  }

  redo(): Promise<void> {
    return this.changeLabels(() => call('labels.redo', {}), true);
  }

  /**
   * Label changes reach the services one at a time, in the order they were made: an undo typed
   * right after a label must undo that label.
   */
  private async changeLabels(request: () => Promise<LabelChangeResult>, reveal = false): Promise<void> {
    const result = await grid.whileLabeling(() => {
      const run = this.labelQueue.then(() => dialogs.attempt(request));
      this.labelQueue = run;
      return run;
    });
    if (result) this.applyChanges(result, reveal);
    grid.reloadIfStale();
  }

  /**
   * Shows label changes in the rows we have and refreshes the counts; with a filter, the list is
   * asked again since changed images may now belong in it or not. `reveal` (undo, redo) puts the
   * cursor on the first changed image, so the user sees what changed.
   */
  private applyChanges(result: LabelChangeResult, reveal = false): void {
    this.canUndo = result.canUndo;
    this.canRedo = result.canRedo;
    if (result.changed.length === 0) return;
    grid.patchRows(new Map(result.changed.map((c) => [c.imageId, c.classId])));
    const first = result.changed[0].imageId;
    if (reveal) {
      const index = grid.images.findIndex((r) => r?.id === first);
      if (index >= 0) grid.focusAt(index);
    }
    if (grid.filter.kind !== 'all') void dialogs.attempt(() => grid.loadImages(reveal ? first : undefined));
    void dialogs.attempt(() => project.loadClasses());
    // The services do not announce labels given from here: the other parts (label next) hear of them now.
    workspace.tellOthers(this, new Set<ChangeKind>(['labels']));
  }

  async loadHistory(): Promise<void> {
    const history = await call('labels.history', {});
    this.canUndo = history.canUndo;
    this.canRedo = history.canRedo;
  }
}

export const labels = new Labels();
