/** Damaging a real project file the way a failing disk does: one B-tree page overwritten with garbage. */
import Database from 'better-sqlite3';
import { openSync, closeSync, writeSync } from 'node:fs';

/**
 * Overwrites one leaf page of `table`'s B-tree (never page 1, the header): the one at `at` (0 to 1)
 * of its leaves in file order, the middle one by default. Returns its page number. The project
 * must be closed (its WAL folded in) first.
 */
export function corruptLeafPage(path: string, table: string, at = 0.5): number {
  const db = new Database(path, { readonly: true });
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const leaves = db
    .prepare("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno")
    .all(table) as { pageno: number }[];
  db.close();
  if (leaves.length < 3) throw new Error(`${table} has only ${leaves.length} leaf pages: too few to damage one in the middle`);
  const page = leaves[Math.floor((leaves.length - 1) * at)].pageno;
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (page - 1) * pageSize);
  } finally {
    closeSync(fd);
  }
  return page;
}
