import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openProjectDb, SCHEMA_VERSION } from '../../src/main/services/project-db';
import { Project, safeFileName } from '../../src/main/services/project';
import { corruptLeafPage } from '../helpers/damaged-project';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

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

  it('reports a project with a corrupt page as damaged, says how to recover it, and leaves its bytes as they were', async () => {
    const path = join(dir.path, 'damaged.atl');
    const project = Project.create(path);
    await project.imports.run({ roots: [CIFAR10_MINI], labelsFromFolders: true });
    project.close();
    corruptLeafPage(path, 'images');
    const before = readFileSync(path);
    let error: unknown;
    try {
      openProjectDb(path, { create: false });
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code: 'damaged' });
    expect((error as Error).message).toMatch(new RegExp(`^${path} is damaged \\(.+\\)`));
    expect((error as Error).message).toContain(`atl-studio recover "${path}" --out`);
    expect(() => Project.open(path)).toThrow(/is damaged/);
    expect(readFileSync(path).equals(before)).toBe(true);
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
