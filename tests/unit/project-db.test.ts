import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProjectDb, SCHEMA_VERSION } from '../../src/main/services/project-db';
import { Project, safeFileName } from '../../src/main/services/project';
import { tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => dir.remove());

describe('project files', () => {
  it('creates a WAL-mode database with foreign keys at the current schema version', () => {
    const db = openProjectDb(join(dir.path, 'p.atl'), { create: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('refuses files that are not projects with a clear message', () => {
    const text = join(dir.path, 'notes.atl');
    writeFileSync(text, 'hello');
    expect(() => openProjectDb(text, { create: false })).toThrow(/not an ATL Studio project/);
    const other = join(dir.path, 'other.atl');
    new Database(other).exec('CREATE TABLE t (x)');
    expect(() => openProjectDb(other, { create: false })).toThrow(/not an ATL Studio project \(no ATL header\)/);
    expect(() => openProjectDb(join(dir.path, 'missing.atl'), { create: false })).toThrow(/No project at/);
  });

  it('refuses a project from a newer studio instead of damaging it', () => {
    const path = join(dir.path, 'future.atl');
    openProjectDb(path, { create: true }).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(() => openProjectDb(path, { create: false })).toThrow(/newer ATL Studio/);
  });

  it('renames the project and its file', () => {
    const project = Project.create(join(dir.path, 'first.atl'));
    const renamed = project.renamed('Cells: batch 2/3');
    expect(renamed.path).toBe(join(dir.path, 'Cells_ batch 2_3.atl'));
    expect(renamed.name).toBe('Cells: batch 2/3');
    renamed.close();
    expect(safeFileName('..')).toBe('project');
  });
});
