/**
 * A project file made by the first release (schema 1, see tests/fixtures/README.md) opens in
 * today's studio: every row it held is still there, and every table added since works.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../../src/main/services/project';
import { SCHEMA_VERSION } from '../../src/main/services/project-db';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

const FIRST_RELEASE = resolve(__dirname, '../fixtures/first-release.atl');
/** Where the first release imported the fixture's images from (a copy of cifar10-mini files). */
const IMPORTED_FROM = '/tmp/atl-first-release/images';

let dir: ReturnType<typeof tempDir>;
let path: string;
beforeEach(() => {
  dir = tempDir('atl-first-release-');
  path = join(dir.path, 'first-release.atl');
  copyFileSync(FIRST_RELEASE, path);
});
afterEach(() => dir.remove());

const fileSha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Every table, index and trigger with the SQL that made it. */
function schemaOf(file: string): { type: string; name: string; sql: string | null }[] {
  const db = new Database(file, { readonly: true });
  try {
    type Entry = { type: string; name: string; sql: string | null };
    return db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY type, name').all() as Entry[];
  } finally {
    db.close();
  }
}

describe('a project made by the first release', () => {
  it('is a schema-1 file with the first release’s tables only', () => {
    const db = new Database(path);
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['classes', 'images', 'import_failures', 'imports', 'label_actions', 'label_changes', 'labels', 'meta']);
    db.close();
  });

  it('opens upgraded to the latest schema, the same as a new project’s', () => {
    Project.open(path).close();
    const fresh = join(dir.path, 'fresh.atl');
    Project.create(fresh).close();
    expect(schemaOf(path)).toEqual(schemaOf(fresh));
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });

  it('keeps every image, class, label, import report and its undo history', () => {
    const project = Project.open(path);
    try {
      expect(project.name).toBe('First release');

      const images = project.images.list({ kind: 'all' }, 'import');
      expect(images).toHaveLength(12);
      for (const image of images) {
        const detail = project.images.get(image.id);
        expect(detail.originalPath).toBe(`${IMPORTED_FROM}/${image.path}`);
        expect(detail.sha256).toBe(fileSha256(join(CIFAR10_MINI, image.path)));
        expect([detail.width, detail.height, detail.format, detail.labelSource]).toEqual([32, 32, 'jpeg', 'human']);
        const thumbnail = project.images.thumbnail(image.id).bytes;
        expect(thumbnail.subarray(8, 12).toString('latin1')).toBe('WEBP');
      }

      expect(project.classes.list().map(({ name, color, hotkey, order, count }) => ({ name, color, hotkey, order, count }))).toEqual([
        { name: 'cat', color: '#e6194b', hotkey: 1, order: 0, count: 2 },
        { name: 'dog', color: '#3cb44b', hotkey: 2, order: 1, count: 4 },
        { name: 'ship', color: '#4363d8', hotkey: 3, order: 2, count: 4 },
        { name: 'bird', color: '#f58231', hotkey: 4, order: 3, count: 2 },
      ]);
      const className = new Map(project.classes.list().map((info) => [info.id, info.name]));
      const labelsByPath = () =>
        Object.fromEntries(
          project.images.list({ kind: 'all' }, 'name').map((image) => [image.path, image.classId === null ? null : className.get(image.classId)]),
        );
      const labeled = {
        'cat/0000.jpg': 'cat', 'cat/0001.jpg': 'bird', 'cat/0002.jpg': 'cat', 'cat/0003.jpg': 'bird',
        'dog/0000.jpg': 'dog', 'dog/0001.jpg': 'dog', 'dog/0002.jpg': 'dog', 'dog/0003.jpg': 'dog',
        'ship/0000.jpg': 'ship', 'ship/0001.jpg': 'ship', 'ship/0002.jpg': 'ship', 'ship/0003.jpg': 'ship',
      };
      expect(labelsByPath()).toEqual(labeled);

      expect(project.imports.reports()).toEqual([
        expect.objectContaining({
          id: 1,
          roots: [IMPORTED_FROM],
          labelsFromFolders: true,
          status: 'completed',
          found: 14,
          imported: 12,
          duplicates: 1,
          skipped: 0,
          failed: [{ path: `${IMPORTED_FROM}/ship/broken.jpg`, reason: expect.stringMatching(/^Not an image/) }],
        }),
      ]);

      // The first release's history: "cat/0001 and cat/0003 → bird" done, "unlabel dog/0001" undone.
      // Its rows predate label_changes.new_source (migration 4): redo must still replay them.
      expect(project.labels.history()).toEqual({ canUndo: true, canRedo: true });
      project.labels.redo();
      expect(labelsByPath()).toEqual({ ...labeled, 'dog/0001.jpg': null });
      project.labels.undo();
      project.labels.undo();
      expect(labelsByPath()).toEqual({ ...labeled, 'cat/0001.jpg': 'cat', 'cat/0003.jpg': 'cat' });
      expect(project.labels.history()).toEqual({ canUndo: false, canRedo: true });
    } finally {
      project.close();
    }
  });

  it('takes new imports, labels, cached features, comparisons, heads and predictions', async () => {
    const project = Project.open(path);
    try {
      // An import holds a job lease (migration 5) while it runs.
      const more = join(dir.path, 'more/cat');
      mkdirSync(more, { recursive: true });
      copyFileSync(join(CIFAR10_MINI, 'cat/0004.jpg'), join(more, '0004.jpg'));
      const report = await project.imports.run({ roots: [join(dir.path, 'more')], labelsFromFolders: true });
      expect(report).toMatchObject({ id: 2, status: 'completed', imported: 1 });
      const added = project.images.list({ kind: 'all' }, 'import').at(-1)!;
      expect(project.classes.list().find((info) => info.id === added.classId)?.name).toBe('cat');

      // A label written today records its source for redo (migration 4's column).
      const ship = project.classes.list().find((info) => info.name === 'ship')!;
      project.labels.assign([added.id], ship.id);
      project.labels.undo();
      project.labels.redo();
      expect(project.images.get(added.id)).toMatchObject({ classId: ship.id, labelSource: 'human' });

      // The feature cache (migration 2).
      const sha = project.images.get(added.id).sha256;
      const vector = new Float32Array([0.5, -1, 2]);
      project.features.put('teacher@key', 'gap', [{ imageSha256: sha, layer: 'block1', vector }]);
      expect(project.features.get([sha], 'teacher@key', 'block1', 'gap')).toEqual([vector]);
      expect(project.features.missing([sha], 'teacher@key', ['block1', 'block2'], 'gap')).toEqual([sha]);

      // Comparisons, heads (migrations 3 and 6) and predictions (migration 4): empty, and queryable.
      expect(project.comparisons.list()).toEqual([]);
      expect(project.heads.list()).toEqual([]);
      expect(project.predictions.status(project)).toEqual({ head: null, predicted: 0, images: 13 });
      expect(project.images.list({ kind: 'all' }, 'confidence').every((image) => image.predictedClassId === null)).toBe(true);
    } finally {
      project.close();
    }
  });
});
