/**
 * Saving what can still be read from a damaged project file into a new one. The damaged file is
 * opened read-only and never written to; the new file gets the current schema, and rows are copied
 * table by table. A damaged page only hides the rows it held: the copy reads each table from both
 * ends up to the damage, then (for tables with rowids) asks for each rowid in between.
 */
import Database from 'better-sqlite3';
import { existsSync, rmSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { errorMessage, StudioError } from '../core/errors';
import { APPLICATION_ID, openProjectDb, type ProjectDb } from './project-db';

/** Leases name processes of the damaged file's past: none of them runs the new file's jobs. */
const NOT_COPIED = new Set(['job_leases']);

export interface TableRecovery {
  table: string;
  copied: number;
  /** Rows that could not be read; null when the damage hides how many there were. */
  unreadable: number | null;
  /** Rows read but left out because what they belong to was lost (e.g. the label of a lost image). */
  dropped: number;
}

export interface RecoveryReport {
  source: string;
  target: string;
  tables: TableRecovery[];
}

/** Creates `targetPath` (it must not exist) and copies into it every row of `sourcePath` that can be read. */
export function recoverProject(sourcePath: string, targetPath: string): RecoveryReport {
  const source = resolve(sourcePath);
  const target = resolve(targetPath);
  if (extname(target) !== '.atl') throw new StudioError('invalid_input', `Project files end in .atl: ${target}`);
  if (source === target) throw new StudioError('invalid_input', 'Recover into a new file: --out must not be the damaged file');
  if (!existsSync(source)) throw new StudioError('not_found', `No project at ${source}`);
  const damaged = openReadOnly(source);
  try {
    const fresh = openProjectDb(target, { create: true });
    try {
      const tables = copyTables(damaged, fresh);
      fresh.pragma('wal_checkpoint(TRUNCATE)');
      fresh.close();
      return { source, target, tables };
    } catch (error) {
      // Only this run wrote the new file: it goes rather than stay half-made.
      fresh.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${target}${suffix}`, { force: true });
      throw error;
    }
  } finally {
    damaged.close();
  }
}

function openReadOnly(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new StudioError('io', `Cannot open ${path}: ${errorMessage(error)}`);
  }
  let appId: number;
  try {
    appId = db.pragma('application_id', { simple: true }) as number;
  } catch (error) {
    db.close();
    throw new StudioError('bad_file', `${path} is not an ATL Studio project: ${errorMessage(error)}`);
  }
  if (appId !== APPLICATION_ID) {
    db.close();
    throw new StudioError('bad_file', `${path} is not an ATL Studio project (no ATL header): there is nothing to recover.`);
  }
  return db;
}

function copyTables(damaged: Database.Database, fresh: ProjectDb): TableRecovery[] {
  const tables = (
    fresh.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid").all() as { name: string }[]
  )
    .map((row) => row.name)
    .filter((name) => !NOT_COPIED.has(name));
  // Rows are copied in any order and the orphans dropped afterwards.
  fresh.pragma('foreign_keys = OFF');
  const results = tables.map((table) => copyTable(damaged, fresh, table));
  const dropped = dropOrphans(fresh);
  fresh.pragma('foreign_keys = ON');
  for (const result of results) {
    result.dropped = dropped.get(result.table) ?? 0;
    result.copied -= result.dropped;
  }
  return results;
}

function copyTable(damaged: Database.Database, fresh: ProjectDb, table: string): TableRecovery {
  const result: TableRecovery = { table, copied: 0, unreadable: null, dropped: 0 };
  let columns: string[];
  try {
    const wanted = new Set(columnNames(fresh, table));
    columns = columnNames(damaged, table).filter((name) => wanted.has(name));
  } catch {
    return result; // the damaged file's schema no longer describes this table
  }
  if (columns.length === 0) return { ...result, unreadable: 0 };
  const list = columns.map(quote).join(', ');
  const insert = fresh.prepare(`INSERT OR IGNORE INTO ${quote(table)} (${list}) VALUES (${columns.map(() => '?').join(', ')})`);
  const hasRowid = tryPrepare(damaged, `SELECT rowid FROM ${quote(table)} LIMIT 0`);
  const select = (order: string) => damaged.prepare(`SELECT ${hasRowid ? 'rowid, ' : ''}${list} FROM ${quote(table)} ORDER BY ${order}`).raw(true);
  const order = hasRowid ? 'rowid' : primaryKey(damaged, table).map(quote).join(', ');
  const descending = hasRowid ? 'rowid DESC' : primaryKey(damaged, table).map((c) => `${quote(c)} DESC`).join(', ');

  const save = (row: unknown[]) => {
    try {
      result.copied += insert.run(row).changes;
    } catch {
      // A row the damage garbled so that the schema refuses it: counted as unreadable below.
    }
  };
  /** Copies rows from `rows` until the end or the first one that cannot be read; returns the last rowid read. */
  const copyUntilDamage = (rows: IterableIterator<unknown[]>): { complete: boolean; lastRowid: number | null } => {
    let lastRowid: number | null = null;
    try {
      for (const row of rows) {
        if (hasRowid) lastRowid = row.shift() as number;
        save(row);
      }
      return { complete: true, lastRowid };
    } catch {
      return { complete: false, lastRowid };
    }
  };

  let probeFailures = 0;
  fresh.transaction(() => {
    const forward = copyUntilDamage(select(order).iterate() as IterableIterator<unknown[]>);
    if (forward.complete) return;
    const backward = copyUntilDamage(select(descending).iterate() as IterableIterator<unknown[]>);
    // With the table's last page lost, where its rowids end is unknown: nothing more to ask for.
    if (!hasRowid || backward.lastRowid === null) return;
    // Between the damage seen from each end, other pages may still be whole: ask for each rowid.
    const one = damaged.prepare(`SELECT ${list} FROM ${quote(table)} WHERE rowid = ?`).raw(true);
    for (let rowid = (forward.lastRowid ?? 0) + 1; rowid < backward.lastRowid; rowid++) {
      try {
        const row = one.get(rowid) as unknown[] | undefined;
        if (row) save(row);
      } catch {
        probeFailures++;
      }
    }
  })();
  // count(*) often reads a smaller, intact index rather than the table: then it says how many were lost.
  let expected: number | null = null;
  try {
    expected = (damaged.prepare(`SELECT count(*) AS n FROM ${quote(table)}`).get() as { n: number }).n;
  } catch {
    expected = null;
  }
  result.unreadable = expected !== null ? Math.max(0, expected - result.copied) : hasRowid ? probeFailures : null;
  return result;
}

/** Deletes rows whose parent row was lost (repeating, as a lost parent may orphan a chain); counts per table. */
function dropOrphans(fresh: ProjectDb): Map<string, number> {
  const dropped = new Map<string, number>();
  for (;;) {
    const orphans = fresh.pragma('foreign_key_check') as { table: string; rowid: number | null }[];
    if (orphans.length === 0) return dropped;
    fresh.transaction(() => {
      for (const { table, rowid } of orphans) {
        if (rowid === null) continue; // WITHOUT ROWID tables: ours carry no foreign keys
        const { changes } = fresh.prepare(`DELETE FROM ${quote(table)} WHERE rowid = ?`).run(rowid);
        dropped.set(table, (dropped.get(table) ?? 0) + changes);
      }
    })();
    if (orphans.every((o) => o.rowid === null)) return dropped;
  }
}

function columnNames(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_info(${quote(table)})`) as { name: string }[]).map((c) => c.name);
}

function primaryKey(db: Database.Database, table: string): string[] {
  return (db.pragma(`table_info(${quote(table)})`) as { name: string; pk: number }[])
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => c.name);
}

function tryPrepare(db: Database.Database, sql: string): boolean {
  try {
    db.prepare(sql);
    return true;
  } catch {
    return false;
  }
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}
