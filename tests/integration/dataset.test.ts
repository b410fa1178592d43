import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanLabeledFolder } from '../../src/main/services/dataset';
import { tempDir } from '../helpers/fixtures';

const dir = tempDir();
afterAll(() => dir.remove());

describe('labeled folders', () => {
  it("labels each image with its parent folder's path relative to the root, as import does", async () => {
    const root = join(dir.path, 'data');
    for (const folder of ['Greek/character01', 'Greek/character02', 'cat', '.hidden']) mkdirSync(join(root, folder), { recursive: true });
    for (const file of ['Greek/character01/b.png', 'Greek/character01/a.PNG', 'Greek/character02/x.jpg', 'cat/1.jpeg', 'cat/notes.txt', '.hidden/h.png', 'cat/.DS_Store', 'loose.png']) {
      writeFileSync(join(root, file), 'not decoded here');
    }
    const { images, unlabeled } = await scanLabeledFolder(root);
    expect(images.map((i) => [i.path.slice(root.length + 1), i.className])).toEqual([
      ['Greek/character01/a.PNG', 'Greek/character01'],
      ['Greek/character01/b.png', 'Greek/character01'],
      ['Greek/character02/x.jpg', 'Greek/character02'],
      ['cat/1.jpeg', 'cat'],
    ]);
    expect(unlabeled).toEqual([join(root, 'loose.png')]);
    await expect(scanLabeledFolder(join(dir.path, 'missing'))).rejects.toThrow(/Cannot read the folder/);
  });
});
