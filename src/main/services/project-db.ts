/**
 * A project is one SQLite file (*.atl). This module opens it with the settings every project
 * needs (WAL, foreign keys) and brings its schema up to date with numbered migrations.
 * Each migration runs in its own transaction, so a crash leaves the file at a known version.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { FEATURE_CACHE_SCHEMA } from '../features/feature-cache';
import { COMPARISON_SCHEMA } from './comparison-service';
import { HEADS_LABELS_FINGERPRINT, HEADS_SCHEMA } from './head-service';
import { PREDICTIONS_SCHEMA } from './prediction-service';
import { errorMessage, StudioError } from '../core/errors';

// The services whose schemas are migrated here import these from './meta', not from this module: a
// value import back into this module would be a cycle that leaves their schema undefined here.
export { getMeta, nowIso, setMeta } from './meta';

export type ProjectDb = Database.Database;

/** Identifies our files: SQLite's application_id header field ("ATL1"). */
export const APPLICATION_ID = 0x41544c31;

const MIGRATIONS: string[] = [
  // 1: images, classes, labels with undo history, import reports.
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    roots TEXT NOT NULL,                -- JSON array of the paths the user gave
    labels_from_folders INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running','completed','cancelled','interrupted','failed')),
    found INTEGER NOT NULL DEFAULT 0,
    imported INTEGER NOT NULL DEFAULT 0,
    duplicates INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE import_failures (
    id INTEGER PRIMARY KEY,
    import_id INTEGER NOT NULL REFERENCES imports(id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    reason TEXT NOT NULL
  );

  CREATE TABLE images (
    id INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL UNIQUE,         -- of the file's bytes: the identity of an image everywhere
    original_path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    width INTEGER NOT NULL,              -- after EXIF orientation
    height INTEGER NOT NULL,
    format TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    imported_at TEXT NOT NULL,
    import_id INTEGER REFERENCES imports(id) ON DELETE SET NULL,
    thumbnail BLOB NOT NULL              -- WebP, longest side 256 px
  );
  CREATE INDEX images_file_name ON images(file_name);

  CREATE TABLE classes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    color TEXT NOT NULL,
    hotkey INTEGER UNIQUE CHECK (hotkey BETWEEN 1 AND 9),
    sort_order INTEGER NOT NULL,
    created_at TEXT NOT NULL
  );

  CREATE TABLE labels (
    image_id INTEGER PRIMARY KEY REFERENCES images(id) ON DELETE CASCADE,
    class_id INTEGER NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
    source TEXT NOT NULL DEFAULT 'human' CHECK (source IN ('human','prediction')),
    updated_at TEXT NOT NULL
  );
  CREATE INDEX labels_class ON labels(class_id);

  -- Undo history: one action per user gesture, with the before/after of every image it touched.
  -- Undone actions stay until a new action replaces them (that is what redo replays).
  CREATE TABLE label_actions (
    id INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    undone INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE label_changes (
    action_id INTEGER NOT NULL REFERENCES label_actions(id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    old_class_id INTEGER,
    old_source TEXT,
    new_class_id INTEGER,
    PRIMARY KEY (action_id, image_id)
  );
  `,
  // 2: the feature cache (pooled teacher features per image × teacher × layer × pooling).
  FEATURE_CACHE_SCHEMA,
  // 3: strategy comparisons (runs and their results) and trained heads.
  COMPARISON_SCHEMA + HEADS_SCHEMA,
  // 4: predictions of trained heads; accepted predictions in the undo history.
  PREDICTIONS_SCHEMA,
  // 5: which process runs each running import or comparison (see job-leases.ts), so that opening
  // the project elsewhere marks only jobs whose owner is gone as interrupted.
  `
  CREATE TABLE job_leases (
    kind TEXT NOT NULL CHECK (kind IN ('import','comparison')),
    ref_id INTEGER NOT NULL,             -- imports.id or comparison_runs.id
    owner TEXT NOT NULL,                 -- a random id of the owning process
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    heartbeat_at INTEGER NOT NULL,       -- ms since the epoch, refreshed while the job runs
    PRIMARY KEY (kind, ref_id)
  );
  `,
  // 6: the labels a head was trained on, to tell when it is stale.
  HEADS_LABELS_FINGERPRINT,
];

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
      db.exec(MIGRATIONS[version]);
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
