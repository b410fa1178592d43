/**
 * Labels (image → class) and their undo/redo history. Every gesture (one `assign` call) is one
 * action in SQLite with the before/after of each image it changed, so undo survives a restart.
 * A new action drops the undone ones (the redo branch), as in every editor.
 */
import type { LabelChangeResult, LabelSource } from '../../shared/contract';
import { StudioError } from '../core/errors';
import { nowIso, type ProjectDb } from './project-db';

interface Change {
  image_id: number;
  old_class_id: number | null;
  old_source: LabelSource | null;
  new_class_id: number | null;
  /** NULL in changes written before accepted predictions existed: a person's. */
  new_source: LabelSource | null;
}

export class LabelService {
  constructor(private readonly db: ProjectDb) {}

  /** The examples a classifier learns from: human labels only (accepted predictions are not ground truth), in image order. */
  humanExamples(): { imageId: number; classId: number; sha256: string; path: string }[] {
    return this.db
      .prepare(
        `SELECT l.image_id AS imageId, l.class_id AS classId, i.sha256, i.original_path AS path
           FROM labels l JOIN images i ON i.id = l.image_id WHERE l.source = 'human' ORDER BY l.image_id`,
      )
      .all() as { imageId: number; classId: number; sha256: string; path: string }[];
  }

  /** A person's labels: one undo step. classId null clears. */
  assign(imageIds: number[], classId: number | null): LabelChangeResult {
    if (classId !== null && !this.db.prepare('SELECT 1 FROM classes WHERE id = ?').get(classId)) {
      throw new StudioError('not_found', `No class with id ${classId}`);
    }
    return this.apply(
      [...new Set(imageIds)].map((imageId) => ({ imageId, classId })),
      'human',
    );
  }

  /**
   * Accepted predictions: each image gets its predicted class with source 'prediction', except
   * images a person labeled (a prediction never overwrites a human label). One undo step.
   */
  acceptPredictions(predictions: { imageId: number; classId: number }[]): LabelChangeResult {
    const current = this.currentLabels(predictions.map((p) => p.imageId));
    return this.apply(
      predictions.filter((p) => current.get(p.imageId)?.source !== 'human'),
      'prediction',
    );
  }

  /** Images with a label of any source. */
  labeledImageIds(): number[] {
    return (this.db.prepare('SELECT image_id AS id FROM labels').all() as { id: number }[]).map((r) => r.id);
  }

  private apply(assignments: { imageId: number; classId: number | null }[], source: LabelSource): LabelChangeResult {
    const changed = this.db.transaction(() => {
      const current = this.currentLabels(assignments.map((a) => a.imageId));
      const changes: Change[] = assignments
        .filter(({ imageId, classId }) => current.get(imageId)?.class_id !== classId || (classId !== null && current.get(imageId)?.source !== source))
        .map(({ imageId, classId }) => ({
          image_id: imageId,
          old_class_id: current.get(imageId)?.class_id ?? null,
          old_source: current.get(imageId)?.source ?? null,
          new_class_id: classId,
          new_source: source,
        }));
      if (changes.length === 0) return [];
      this.db.prepare('DELETE FROM label_actions WHERE undone = 1').run();
      const actionId = Number(
        this.db.prepare('INSERT INTO label_actions (created_at) VALUES (?)').run(nowIso()).lastInsertRowid,
      );
      const record = this.db.prepare(
        'INSERT INTO label_changes (action_id, image_id, old_class_id, old_source, new_class_id, new_source) VALUES (?, ?, ?, ?, ?, ?)',
      );
      for (const change of changes) {
        record.run(actionId, change.image_id, change.old_class_id, change.old_source, change.new_class_id, change.new_source);
        this.write(change.image_id, change.new_class_id, source);
      }
      return changes;
    })();
    return this.result(changed.map((c) => ({ imageId: c.image_id, classId: c.new_class_id })));
  }

  undo(): LabelChangeResult {
    return this.replay('undo');
  }

  redo(): LabelChangeResult {
    return this.replay('redo');
  }

  history(): { canUndo: boolean; canRedo: boolean } {
    const row = this.db
      .prepare('SELECT COALESCE(SUM(undone = 0), 0) AS done, COALESCE(SUM(undone = 1), 0) AS undone FROM label_actions')
      .get() as { done: number; undone: number };
    return { canUndo: row.done > 0, canRedo: row.undone > 0 };
  }

  /**
   * Labels written by an import (labels from folders): not a user gesture, so not in the undo
   * history; never overwrites a label a person gave. Runs inside the caller's transaction.
   */
  labelFromImport(imageId: number, classId: number): void {
    this.db
      .prepare('INSERT INTO labels (image_id, class_id, source, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(image_id) DO NOTHING')
      .run(imageId, classId, 'human', nowIso());
  }

  private replay(direction: 'undo' | 'redo'): LabelChangeResult {
    const changed = this.db.transaction(() => {
      // Undo takes the newest done action; redo the oldest undone one.
      const action = this.db
        .prepare(
          direction === 'undo'
            ? 'SELECT id FROM label_actions WHERE undone = 0 ORDER BY id DESC LIMIT 1'
            : 'SELECT id FROM label_actions WHERE undone = 1 ORDER BY id ASC LIMIT 1',
        )
        .get() as { id: number } | undefined;
      if (!action) return [];
      const changes = this.db
        .prepare('SELECT image_id, old_class_id, old_source, new_class_id, new_source FROM label_changes WHERE action_id = ?')
        .all(action.id) as Change[];
      for (const change of changes) {
        if (direction === 'undo') this.write(change.image_id, change.old_class_id, change.old_source ?? 'human');
        else this.write(change.image_id, change.new_class_id, change.new_source ?? 'human');
      }
      this.db.prepare('UPDATE label_actions SET undone = ? WHERE id = ?').run(direction === 'undo' ? 1 : 0, action.id);
      return changes.map((c) => ({
        imageId: c.image_id,
        classId: direction === 'undo' ? c.old_class_id : c.new_class_id,
      }));
    })();
    return this.result(changed);
  }

  private write(imageId: number, classId: number | null, source: LabelSource): void {
    if (classId === null) {
      this.db.prepare('DELETE FROM labels WHERE image_id = ?').run(imageId);
    } else {
      this.db
        .prepare(
          `INSERT INTO labels (image_id, class_id, source, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(image_id) DO UPDATE SET class_id = excluded.class_id, source = excluded.source, updated_at = excluded.updated_at`,
        )
        .run(imageId, classId, source, nowIso());
    }
  }

  private currentLabels(imageIds: number[]): Map<number, { class_id: number; source: LabelSource }> {
    const found = new Map<number, { class_id: number; source: LabelSource }>();
    const existing = this.db.prepare('SELECT 1 FROM images WHERE id = ?');
    const label = this.db.prepare('SELECT class_id, source FROM labels WHERE image_id = ?');
    for (const id of imageIds) {
      if (!existing.get(id)) throw new StudioError('not_found', `No image with id ${id}`);
      const row = label.get(id) as { class_id: number; source: LabelSource } | undefined;
      if (row) found.set(id, row);
    }
    return found;
  }

  private result(changed: { imageId: number; classId: number | null }[]): LabelChangeResult {
    return { changed, ...this.history() };
  }
}
