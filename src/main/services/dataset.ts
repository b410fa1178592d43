/**
 * A folder of images as a labeled dataset, the way `import --labels-from-folders` reads it: an
 * image's class is its parent folder's path relative to the root (`Greek/character01`).
 */
import { readdirSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';
import { IMAGE_EXTENSIONS } from './image-decoding';
import { StudioError } from '../core/errors';

export interface LabeledImage {
  path: string;
  className: string;
}

/** Images by class, in sorted path order; images directly in the root have no class and are listed apart. */
export function scanLabeledFolder(root: string): { images: LabeledImage[]; unlabeled: string[] } {
  const images: LabeledImage[] = [];
  const unlabeled: string[] = [];
  const walk = (dir: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      throw new StudioError('not_found', `Cannot read the folder ${dir}: ${(error as Error).message}`);
    }
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
        const className = relative(root, dirname(path)).split(sep).join('/');
        if (className === '') unlabeled.push(path);
        else images.push({ path, className });
      }
    }
  };
  walk(root);
  return { images, unlabeled };
}
