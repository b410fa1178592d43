import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../../src/main/services/project';
import { tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let project: Project;
let ids: number[];

/** Six tiny real images, distinct by color. */
async function seed(p: Project, folder: string): Promise<number[]> {
  mkdirSync(folder, { recursive: true });
  for (let i = 0; i < 6; i++) {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i * 40, g: 10, b: 200 - i * 30 } } })
      .png()
      .toBuffer();
    writeFileSync(join(folder, `img${i}.png`), png);
  }
  await p.imports.run({ roots: [folder], labelsFromFolders: false });
  return p.images.list({ kind: 'all' }, 'name').map((r) => r.id);
}

beforeEach(async () => {
  dir = tempDir();
  project = Project.create(join(dir.path, 'labels.atl'));
  ids = await seed(project, join(dir.path, 'images'));
});
afterEach(() => {
  project.close();
  dir.remove();
});

const labelOf = (p: Project, id: number) => p.images.get(id).classId;

describe('classes', () => {
  it('gives new classes free hotkeys 1–9 and distinct colors, and refuses duplicate names', () => {
    const created = Array.from({ length: 10 }, (_, i) => project.classes.create(`c${i}`));
    expect(created.map((c) => c.hotkey)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, null]);
    expect(new Set(created.map((c) => c.color)).size).toBe(10);
    expect(() => project.classes.create('c3')).toThrow(/exists already/);
  });

  it('moves a hotkey to the class that takes it', () => {
    const a = project.classes.create('a');
    const b = project.classes.create('b');
    project.classes.update(b.id, { hotkey: a.hotkey });
    expect(project.classes.get(a.id).hotkey).toBeNull();
    expect(project.classes.get(b.id).hotkey).toBe(1);
  });

  it('reorders, and refuses an order that misses a class', () => {
    const [a, b, c] = ['a', 'b', 'c'].map((n) => project.classes.create(n));
    expect(project.classes.reorder([c.id, a.id, b.id]).map((x) => x.name)).toEqual(['c', 'a', 'b']);
    expect(() => project.classes.reorder([c.id, a.id])).toThrow(/every class/);
  });

  it('merges: labels move to the target, the source goes', () => {
    const a = project.classes.create('a');
    const b = project.classes.create('b');
    project.labels.assign(ids.slice(0, 2), a.id);
    project.labels.assign(ids.slice(2, 3), b.id);
    const after = project.classes.merge(a.id, b.id);
    expect(after.map((c) => [c.name, c.count])).toEqual([['b', 3]]);
    expect(labelOf(project, ids[0])).toBe(b.id);
  });

  it('deletes a class and clears its labels, and the images stay', () => {
    const a = project.classes.create('a');
    project.labels.assign(ids, a.id);
    project.classes.delete(a.id);
    expect(project.images.count()).toEqual({ images: 6, labeled: 0 });
  });

  it('never gives the id of a deleted or merged class to a new class, even after reopening (heads name classes by id)', () => {
    const a = project.classes.create('a');
    const b = project.classes.create('b');
    project.classes.merge(b.id, a.id);
    const c = project.classes.create('c');
    expect(c.id).toBeGreaterThan(b.id);
    project.classes.delete(c.id);
    const path = project.path;
    project.close();
    project = Project.open(path);
    expect(project.classes.create('d').id).toBeGreaterThan(c.id);
  });
});

describe('labels with undo/redo', () => {
  it('assigns, undoes and redoes one gesture at a time', () => {
    const a = project.classes.create('a');
    const b = project.classes.create('b');
    project.labels.assign([ids[0], ids[1]], a.id);
    const second = project.labels.assign([ids[1]], b.id);
    expect(second.changed).toEqual([{ imageId: ids[1], classId: b.id }]);

    const undone = project.labels.undo();
    expect(undone.changed).toEqual([{ imageId: ids[1], classId: a.id }]);
    expect(undone).toMatchObject({ canUndo: true, canRedo: true });
    project.labels.undo();
    expect([labelOf(project, ids[0]), labelOf(project, ids[1])]).toEqual([null, null]);
    expect(project.labels.history()).toEqual({ canUndo: false, canRedo: true });

    project.labels.redo();
    expect(labelOf(project, ids[1])).toBe(a.id);
    project.labels.redo();
    expect(labelOf(project, ids[1])).toBe(b.id);
    expect(project.labels.redo().changed).toEqual([]);
  });

  it('drops the redo branch when a new gesture comes', () => {
    const a = project.classes.create('a');
    project.labels.assign([ids[0]], a.id);
    project.labels.undo();
    project.labels.assign([ids[2]], a.id);
    expect(project.labels.history()).toEqual({ canUndo: true, canRedo: false });
  });

  it('clears labels with classId null, and records nothing when nothing changes', () => {
    const a = project.classes.create('a');
    project.labels.assign(ids, a.id);
    expect(project.labels.assign(ids, a.id).changed).toEqual([]);
    const cleared = project.labels.assign([ids[0]], null);
    expect(cleared.changed).toEqual([{ imageId: ids[0], classId: null }]);
    expect(project.images.list({ kind: 'unlabeled' }, 'import').map((r) => r.id)).toEqual([ids[0]]);
    expect(project.images.list({ kind: 'class', classId: a.id }, 'import')).toHaveLength(5);
  });

  it('keeps labels and the undo history across closing and reopening the file', () => {
    const a = project.classes.create('a');
    project.labels.assign([ids[0], ids[3]], a.id);
    const path = project.path;
    project.close();
    project = Project.open(path);
    expect(labelOf(project, ids[3])).toBe(a.id);
    project.labels.undo();
    expect(labelOf(project, ids[3])).toBeNull();
  });

  it('refuses unknown images and classes without changing anything', () => {
    const a = project.classes.create('a');
    expect(() => project.labels.assign([ids[0], 99_999], a.id)).toThrow(/No image with id 99999/);
    expect(() => project.labels.assign([ids[0]], 12_345)).toThrow(/No class/);
    expect(project.images.count().labeled).toBe(0);
  });
});
