/**
 * A folder of images as a labeled dataset, the way `import --labels-from-folders` reads it (the
 * same walker, `scanImageFiles`): an image's class is its parent folder's path relative to the
 * root (`Greek/character01`).
 */
import type { ImportFailure } from '../../shared/contract';
import { StudioError } from '../core/errors';
import { scanImageFiles, type ImageCandidate } from './image-files';

export interface LabeledImage {
  path: string;
  className: string;
}

/**
 * Images by class, in the walker's order (each folder's files sorted, then its subfolders);
 * images directly in the root have no class and are listed apart, and what cannot be read
 * (devices, broken links, …) is listed with its reason.
 */
export async function scanLabeledFolder(root: string): Promise<{ images: LabeledImage[]; unlabeled: string[]; failures: ImportFailure[] }> {
  const candidates: ImageCandidate[] = [];
  const failures: ImportFailure[] = [];
  if (!(await scanImageFiles(root, true, candidates, failures, () => undefined))) {
    throw new StudioError('not_found', `Cannot read the folder ${root}: ${failures[0]?.reason ?? 'not a folder'}`);
  }
  const images: LabeledImage[] = [];
  const unlabeled: string[] = [];
  for (const { path, folderClass } of candidates) {
    if (folderClass === null) unlabeled.push(path);
    else images.push({ path, className: folderClass });
  }
  return { images, unlabeled, failures };
}
