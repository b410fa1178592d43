/**
 * Grid rows carry each file's path from the deepest folder holding every image of the project,
 * so that cat/0000.jpg and dog/0000.jpg are two different things on screen.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Project } from '../../src/main/services/project';
import { CIFAR10_MINI, tempDir } from '../helpers/fixtures';

let dir: ReturnType<typeof tempDir>;
let project: Project;

beforeEach(() => {
  dir = tempDir();
  project = Project.create(join(dir.path, 'test.atl'));
});
afterEach(() => {
  project.close();
  dir.remove();
});

const paths = () => project.images.list({ kind: 'all' }, 'import').map((r) => r.path);

describe('image paths in grid rows', () => {
  it('is the file name while every image sits in one folder, and gains the folders as other folders come in', async () => {
    await project.imports.run({ roots: [join(CIFAR10_MINI, 'cat')], labelsFromFolders: false });
    expect(paths().slice(0, 2)).toEqual(['0000.jpg', '0001.jpg']);

    // A second import, from a sibling folder: both files named 0000.jpg are told apart.
    await project.imports.run({ roots: [join(CIFAR10_MINI, 'dog', '0000.jpg')], labelsFromFolders: false });
    expect(paths()).toHaveLength(51);
    expect(paths()).toContain('cat/0000.jpg');
    expect(paths()).toContain('dog/0000.jpg');
  });

  it('reads the same whatever the filter', async () => {
    await project.imports.run({ roots: [CIFAR10_MINI], labelsFromFolders: true });
    const cat = project.classes.list().find((c) => c.name === 'cat')!;
    const listed = project.images.list({ kind: 'class', classId: cat.id }, 'name').map((r) => r.path);
    expect(listed).toHaveLength(50);
    expect(listed.every((path) => /^cat\/\d{4}\.jpg$/.test(path))).toBe(true);
  });
});
