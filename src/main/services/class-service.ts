/** Classes of a project: names, colors, hotkeys, order, and their label counts. */
import type { ClassInfo } from '../../shared/contract';
import { StudioError } from '../core/errors';
import { getMeta, nowIso, setMeta, type ProjectDb } from './project-db';

/** The highest class id ever given (meta key). */
const LAST_CLASS_ID = 'last_class_id';

/** Distinct on dark and light backgrounds; cycled for new classes. */
const PALETTE = [
  '#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45',
  '#fabed4', '#469990', '#dcbeff', '#9a6324', '#fffac8', '#800000', '#aaffc3', '#808000',
];

interface ClassRow {
  id: number;
  name: string;
  color: string;
  hotkey: number | null;
  sort_order: number;
  count: number;
  shots: number;
}

export class ClassService {
  constructor(private readonly db: ProjectDb) {}

  list(): ClassInfo[] {
    const rows = this.db
      .prepare(
        `SELECT c.id, c.name, c.color, c.hotkey, c.sort_order,
                COUNT(l.image_id) AS count,
                COALESCE(SUM(l.source = 'human'), 0) AS shots
           FROM classes c LEFT JOIN labels l ON l.class_id = c.id
          GROUP BY c.id ORDER BY c.sort_order, c.id`,
      )
      .all() as ClassRow[];
    return rows.map(toInfo);
  }

  get(id: number): ClassInfo {
    const found = this.list().find((c) => c.id === id);
    if (!found) throw new StudioError('not_found', `No class with id ${id}`);
    return found;
  }

  create(name: string, color?: string): ClassInfo {
    const trimmed = name.trim();
    if (this.idByName(trimmed) !== undefined) throw new StudioError('conflict', `A class named "${trimmed}" exists already`);
    const stats = this.db
      .prepare('SELECT COUNT(*) AS n, COALESCE(MAX(sort_order), -1) AS last FROM classes')
      .get() as { n: number; last: number };
    // Ids are never reused: trained heads and their predictions name classes by id, and a deleted
    // class's id given to a new one would turn its predictions into the new class's.
    const id = this.db.transaction(() => {
      const next = Math.max(Number(getMeta(this.db, LAST_CLASS_ID) ?? 0), (this.db.prepare('SELECT COALESCE(MAX(id), 0) AS id FROM classes').get() as { id: number }).id) + 1;
      this.db
        .prepare('INSERT INTO classes (id, name, color, hotkey, sort_order, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(next, trimmed, color ?? PALETTE[stats.n % PALETTE.length], this.freeHotkey(), stats.last + 1, nowIso());
      setMeta(this.db, LAST_CLASS_ID, String(next));
      return next;
    })();
    return this.get(id);
  }

  /** The class with this name, created when missing (imports with labels from folders use it). */
  ensure(name: string): number {
    return this.idByName(name) ?? this.create(name).id;
  }

  update(id: number, changes: { name?: string; color?: string; hotkey?: number | null }): ClassInfo {
    this.get(id);
    this.db.transaction(() => {
      if (changes.name !== undefined) {
        const other = this.idByName(changes.name.trim());
        if (other !== undefined && other !== id) {
          throw new StudioError('conflict', `A class named "${changes.name.trim()}" exists already`);
        }
        this.db.prepare('UPDATE classes SET name = ? WHERE id = ?').run(changes.name.trim(), id);
      }
      if (changes.color !== undefined) this.db.prepare('UPDATE classes SET color = ? WHERE id = ?').run(changes.color, id);
      if (changes.hotkey !== undefined) {
        // A hotkey belongs to one class: taking it frees it from the class that had it.
        if (changes.hotkey !== null) this.db.prepare('UPDATE classes SET hotkey = NULL WHERE hotkey = ?').run(changes.hotkey);
        this.db.prepare('UPDATE classes SET hotkey = ? WHERE id = ?').run(changes.hotkey, id);
      }
    })();
    return this.get(id);
  }

  reorder(ids: number[]): ClassInfo[] {
    const existing = this.list().map((c) => c.id);
    if (ids.length !== existing.length || new Set(ids).size !== ids.length || !existing.every((id) => ids.includes(id))) {
      throw new StudioError('invalid_input', 'Reordering needs every class id exactly once');
    }
    const setOrder = this.db.prepare('UPDATE classes SET sort_order = ? WHERE id = ?');
    this.db.transaction(() => ids.forEach((id, index) => setOrder.run(index, id)))();
    return this.list();
  }

  /**
   * Moves every label of `sourceId` to `targetId` and deletes the source. Structural changes
   * are not undoable, so the label undo history is cleared (the UI says so when confirming).
   */
  merge(sourceId: number, targetId: number): ClassInfo[] {
    if (sourceId === targetId) throw new StudioError('invalid_input', 'A class cannot be merged into itself');
    this.get(sourceId);
    this.get(targetId);
    this.db.transaction(() => {
      this.db.prepare('UPDATE labels SET class_id = ? WHERE class_id = ?').run(targetId, sourceId);
      this.db.prepare('DELETE FROM classes WHERE id = ?').run(sourceId);
      this.clearHistory();
    })();
    return this.list();
  }

  /** Deletes the class; its labels go with it (ON DELETE CASCADE). Clears the undo history. */
  delete(id: number): ClassInfo[] {
    this.get(id);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM classes WHERE id = ?').run(id);
      this.clearHistory();
    })();
    return this.list();
  }

  private clearHistory(): void {
    this.db.prepare('DELETE FROM label_actions').run();
  }

  private idByName(name: string): number | undefined {
    const row = this.db.prepare('SELECT id FROM classes WHERE name = ?').get(name) as { id: number } | undefined;
    return row?.id;
  }

  private freeHotkey(): number | null {
    const used = new Set(
      (this.db.prepare('SELECT hotkey FROM classes WHERE hotkey IS NOT NULL').all() as { hotkey: number }[]).map(
        (r) => r.hotkey,
      ),
    );
    for (let key = 1; key <= 9; key++) if (!used.has(key)) return key;
    return null;
  }
}

function toInfo(row: ClassRow): ClassInfo {
  return {
    id: row.id,
    name: row.name,
    color: row.color,
    hotkey: row.hotkey,
    order: row.sort_order,
    count: row.count,
    shots: row.shots,
  };
}
