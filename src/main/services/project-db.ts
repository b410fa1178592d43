/**
 * A project is one SQLite file (*.atl). This module opens it with the settings every project
 * needs (WAL, foreign keys) and brings its schema up to date with the numbered migrations of
 * migrations.ts.
 * Each migration runs in its own transaction, so a crash leaves the file at a known version.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { errorMessage, StudioError } from '../core/errors';
import { MIGRATIONS } from './migrations';

export { getMeta, nowIso, setMeta } from './meta';

export type ProjectDb = Database.Database;

/** Identifies our files: SQLite's application_id header field ("ATL1"). */
export const APPLICATION_ID = 0x41544c31;

export const SCHEMA_VERSION = MIGRATIONS.length;

export function migrate(db: ProjectDb): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new StudioError(
      'bad_file',
      `This project was written by a newer ATL Studio (schema ${current}, this one knows ${SCHEMA_VERSION}). Update the studio to open it.`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version].sql);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}

export function openProjectDb(path: string, options: { create: boolean }): ProjectDb {
  if (!options.create && !existsSync(path)) throw new StudioError('not_found', `No project at ${path}`);
  if (options.create && existsSync(path)) throw new StudioError('conflict', `${path} already exists`);
  let db: ProjectDb;
  try {
    db = new Database(path, { fileMustExist: !options.create });
  } catch (error) {
    throw new StudioError('io', `Cannot open ${path}: ${(error as Error).message}`);
  }
  let ours = options.create;
  try {
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (!options.create && appId !== APPLICATION_ID) {
      throw new StudioError('bad_file', `${path} is not an ATL Studio project (no ATL header).`);
    }
    ours = true;
    // Before anything writes: a damaged file is reported, never migrated or written to.
    if (!options.create) assertIntact(db, path);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    if (options.create || version === 0) db.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    if (error instanceof StudioError) throw error;
    if (ours && isCorruption(error)) throw damagedProject(path, errorMessage(error));
    // SQLITE_NOTADB and friends: the file is not a database at all.
    throw new StudioError('bad_file', `${path} is not an ATL Studio project: ${(error as Error).message}`);
  }
}

/**
 * Tables left out of the check at open: the feature cache is nearly all of a file's bytes (98 % of
 * a 170 MB project of 3,220 images with two teachers' features: 0.4 s to check, the rest 10–20 ms)
 * and can be recomputed. Damage in it is reported when it is read (see Studio.call).
 */
const NOT_CHECKED_AT_OPEN = new Set(['feature_cache', 'feature_failures']);

/** SQLite's quick integrity check (B-tree structure, not index contents) of every other table. */
function assertIntact(db: ProjectDb, path: string): void {
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[])
    .map((row) => row.name)
    .filter((name) => !NOT_CHECKED_AT_OPEN.has(name));
  const problems = ['sqlite_master', ...tables]
    .flatMap((table) => (db.pragma(`quick_check("${table}")`) as { quick_check: string }[]).flatMap((row) => row.quick_check.split('\n')))
    .filter((line) => line !== 'ok' && !line.startsWith('***')); // "*** in database main ***" headings
  if (problems.length > 0) throw damagedProject(path, problems.slice(0, 3).join('; '));
}

export function isCorruption(error: unknown): boolean {
  return String((error as { code?: unknown }).code ?? '').startsWith('SQLITE_CORRUPT');
}

export function damagedProject(path: string, detail: string): StudioError {
  const recovered = join(dirname(path), `${basename(path, extname(path))}-recovered.atl`);
  return new StudioError(
    'damaged',
    `${path} is damaged (${detail}). It was left as it is. Save what can still be read into a new project file: ` +
      `atl-studio recover "${path}" --out "${recovered}"`,
  );
}
